package multinode

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// workersInUse lets the tests that share the workers swarm run side by
// side, and one that changes its nodes (drains one) run alone.
var workersInUse gosync.RWMutex

// workers is the swarm of one manager and two workers most tests share.
func workers(t *testing.T) *swarmtest.Cluster {
	t.Helper()
	workersInUse.RLock()
	t.Cleanup(workersInUse.RUnlock) // first registered: after the stack is gone
	return swarmtest.NewCluster(t, "workers", 3, 1)
}

// workersAlone is workers for a test that changes the nodes: no other test
// uses the swarm until it ends.
func workersAlone(t *testing.T) *swarmtest.Cluster {
	t.Helper()
	workersInUse.Lock()
	t.Cleanup(workersInUse.Unlock)
	return swarmtest.NewCluster(t, "workers", 3, 1)
}

// managers is the swarm of three managers, for failover.
func managers(t *testing.T) *swarmtest.Cluster {
	t.Helper()
	return swarmtest.NewCluster(t, "ha", 3, 3)
}

var flotillaBin struct {
	once gosync.Once
	path string
	err  error
}

// buildFlotilla builds the flotilla command once per test binary.
func buildFlotilla(t testing.TB) string {
	t.Helper()
	flotillaBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "flotilla-bin-")
		if err != nil {
			flotillaBin.err = err
			return
		}
		_, self, _, _ := runtime.Caller(0)
		flotillaBin.path = filepath.Join(dir, "flotilla")
		cmd := exec.Command("go", "build", "-o", flotillaBin.path, "./cmd/flotilla")
		cmd.Dir = filepath.Join(filepath.Dir(self), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			flotillaBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if flotillaBin.err != nil {
		t.Fatal(flotillaBin.err)
	}
	return flotillaBin.path
}

// flotillaCmd is the flotilla command with the process environment minus
// the DOCKER_* variables (the engine is always named), plus env, in dir.
func flotillaCmd(t testing.TB, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(buildFlotilla(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// flotilla runs the flotilla command to its end and returns its stdout,
// stderr and exit status.
func flotilla(t testing.TB, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := flotillaCmd(t, dir, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running flotilla %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// deploy runs `flotilla deploy` of file as stack on the cluster's manager,
// with vars for the file's interpolation.
func deploy(t testing.TB, c *swarmtest.Cluster, stack, file string, vars map[string]string, flags ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	args := append([]string{"deploy", "-H", c.Manager().Host, "-c", "stack.yml", "--resolve-image", "never", "--timeout", "2m"}, flags...)
	return flotilla(t, dir, env, append(args, stack)...)
}

// mustDeploy is deploy that fails the test unless flotilla succeeds.
func mustDeploy(t testing.TB, c *swarmtest.Cluster, stack, file string, vars map[string]string, flags ...string) {
	t.Helper()
	if stdout, stderr, code := deploy(t, c, stack, file, vars, flags...); code != 0 {
		t.Fatalf("flotilla deploy: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// ports hands out the `mode: host` ports tests publish on every node: the
// nodes' namespaces are the package's own, so only its tests compete.
var ports atomic.Int32

func hostPort() int { return 18080 + int(ports.Add(1)) }

// service inspects a service through a manager.
func service(t testing.TB, manager *swarmtest.Node, name string) swarm.Service {
	t.Helper()
	s, _, err := manager.Client.ServiceInspectWithRaw(t.Context(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// envOf is the value of key in a service spec's environment.
func envOf(spec *swarm.ServiceSpec, key string) string {
	if spec == nil || spec.TaskTemplate.ContainerSpec == nil {
		return ""
	}
	for _, e := range spec.TaskTemplate.ContainerSpec.Env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}

// history reads a stack's deploy records, oldest first, through engine
// host.
func history(t testing.TB, host, stack string) []sync.Record {
	t.Helper()
	records, err := readHistory(t.Context(), host, stack)
	if err != nil {
		t.Fatal(err)
	}
	return records
}

func readHistory(ctx context.Context, host, stack string) ([]sync.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := cluster.Connect(ctx, cluster.Options{Host: host})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return sync.NewHistory(d, 0).List(ctx, stack)
}

// perCommit counts records per commit SHA.
func perCommit(records []sync.Record) map[string]int {
	out := map[string]int{}
	for _, r := range records {
		out[r.Commit.SHA]++
	}
	return out
}
