package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

var versionSuffix = regexp.MustCompile(`_[a-z2-7]{12}$`)

var flotillaBin struct {
	once sync.Once
	path string
	err  error
}

// buildFlotilla compiles the CLI once per test binary, for tests that must
// run it as a separate process (to kill it).
func buildFlotilla(t testing.TB) string {
	t.Helper()
	flotillaBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "flotilla-bin-")
		if err != nil {
			flotillaBin.err = err
			return
		}
		flotillaBin.path = filepath.Join(dir, "flotilla")
		out, err := exec.Command("go", "build", "-o", flotillaBin.path, ".").CombinedOutput()
		if err != nil {
			flotillaBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if flotillaBin.err != nil {
		t.Fatal(flotillaBin.err)
	}
	return flotillaBin.path
}

const crashStack = `
services:
  a:
    image: flotilla-test/app:v1
    environment: {START_DELAY: 2s}
    networks: [back]
    secrets: [pw]
    configs: [conf]
  b:
    image: flotilla-test/app:v1
    environment: {START_DELAY: 2s}
    networks: [back]
  c:
    image: flotilla-test/app:v1
  d:
    image: flotilla-test/app:v1
networks:
  back: {}
secrets:
  pw: {file: ./pw.txt}
configs:
  conf: {file: ./app.conf}
`

// stackObjects lists the names of every object labelled with the stack,
// duplicates included (Swarm allows two networks of one name).
func stackObjects(t *testing.T, c client.APIClient, stack string) []string {
	t.Helper()
	ctx := t.Context()
	label := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+stack))
	var names []string
	svcs, err := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		names = append(names, "service "+s.Spec.Name)
	}
	nets, err := c.NetworkList(ctx, network.ListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		names = append(names, "network "+n.Name)
	}
	secs, err := c.SecretList(ctx, swarm.SecretListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		names = append(names, "secret "+s.Spec.Name)
	}
	cfgs, err := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfgs {
		names = append(names, "config "+s.Spec.Name)
	}
	sort.Strings(names)
	return names
}

// TestDeployKilledMidwayConverges kills `flotilla deploy` with SIGKILL at
// several points of a deploy, runs it again, and checks the stack converged
// with each object exactly once and nothing orphaned.
func TestDeployKilledMidwayConverges(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	bin := buildFlotilla(t)

	// Each point is when, after the first process started, it is killed.
	points := map[string]func(objects []string) bool{
		// Before any service exists: networks (and maybe secrets) only.
		"first object created": func(o []string) bool { return len(o) > 0 },
		"waiting for convergence": func(o []string) bool {
			return strings.Count(strings.Join(o, "\n"), "service ") == 4
		},
	}
	for point, reached := range points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			stack := swarmtest.Stack(t)
			dir := t.TempDir()
			for name, content := range map[string]string{"stack.yml": crashStack, "pw.txt": "s3cret-pw", "app.conf": "level=1"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			deploy := func() *exec.Cmd {
				cmd := exec.CommandContext(t.Context(), bin, "deploy", "--resolve-image", "never", "-c", "stack.yml", stack)
				cmd.Dir = dir
				return cmd
			}

			first := deploy()
			var out bytes.Buffer
			first.Stdout, first.Stderr = &out, &out
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			var seen []string
			killed := false
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				seen = stackObjects(t, c, stack)
				if reached(seen) {
					killed = first.Process.Kill() == nil
					break
				}
				time.Sleep(5 * time.Millisecond) // polling as fast as the engine answers
			}
			first.Wait()
			if !killed {
				t.Fatalf("deploy finished before %q could be reached; output:\n%s", point, out.String())
			}
			t.Logf("killed after seeing %v", seen)

			if out, err := deploy().CombinedOutput(); err != nil {
				t.Fatalf("deploy after the kill: %v\n%s", err, out)
			}
			want := []string{
				"config " + stack + "_conf",
				"network " + stack + "_back",
				"network " + stack + "_default",
				"secret " + stack + "_pw",
				"service " + stack + "_a", "service " + stack + "_b", "service " + stack + "_c", "service " + stack + "_d",
			}
			// Secrets and configs carry a content version: compare by logical
			// name, which still catches a second version left behind.
			got := stackObjects(t, c, stack)
			for i, o := range got {
				got[i] = versionSuffix.ReplaceAllString(o, "")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("after the second deploy the stack holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, svc := range []string{"a", "b", "c", "d"} {
				swarmtest.WaitRunning(t, c, stack+"_"+svc, 1, time.Minute)
			}
			third, err := deploy().CombinedOutput()
			if err != nil || !strings.Contains(string(third), "No changes") {
				t.Errorf("a third deploy is not a no-op: %v\n%s", err, third)
			}
		})
	}
}
