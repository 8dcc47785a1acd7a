// Package examples_test runs `make demo`'s flow end to end: the three
// environments converge, a pushed change reaches only its environment, and a
// failing commit rolls back and is quarantined.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Demo Test", "GIT_AUTHOR_EMAIL=demo@example.com",
		"GIT_COMMITTER_NAME=Demo Test", "GIT_COMMITTER_EMAIL=demo@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	bin := filepath.Join(t.TempDir(), "flotilla")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/flotilla").CombinedOutput(); err != nil {
		t.Fatalf("building flotilla: %v\n%s", err, out)
	}
	prefix := swarmtest.Stack(t)
	envs := []string{"dev", "test", "prod"}
	for _, e := range envs {
		name := prefix + "-" + e
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := swarmtest.RemoveStack(ctx, c, name); err != nil {
				t.Errorf("removing %s: %v", name, err)
			}
		})
	}
	ports := []int{swarmtest.FreePort(t), swarmtest.FreePort(t), swarmtest.FreePort(t)}
	dir := filepath.Join(t.TempDir(), "demo")
	config := filepath.Join(dir, "flotilla.yml")

	apiPort := swarmtest.FreePort(t)
	demo := exec.Command("../scripts/demo")
	demo.Env = append(os.Environ(), "DEMO_DIR="+dir, "DEMO_PREFIX="+prefix, "FLOTILLA="+bin,
		fmt.Sprintf("DEMO_PORT=%d", apiPort),
		fmt.Sprintf("DEMO_WEB_PORTS=%d %d %d", ports[0], ports[1], ports[2]),
		"DEMO_SCHEDULE=@every 2s")
	out := &swarmtest.Output{}
	demo.Stdout, demo.Stderr = out, out
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		demo.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			demo.Process.Kill()
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	})

	answers := func(i int, want string) func() (bool, string, error) {
		return func() (bool, string, error) {
			select {
			case err := <-exited:
				return false, "", fmt.Errorf("the demo exited: %v", err)
			default:
			}
			got, err := swarmtest.Get(t.Context(), ports[i])
			return got == want, fmt.Sprintf("%s answers %q (%v), want %q", envs[i], got, err, want), nil
		}
	}
	for i := range envs {
		swarmtest.Eventually(t, 3*time.Minute, answers(i, "v1"))
	}

	work := filepath.Join(dir, "work")
	// A change pushed to dev reaches dev only.
	git(t, work, "checkout", "-q", "-b", "dev", "origin/dev")
	stack, err := os.ReadFile(filepath.Join(work, "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "stack.yml"), bytes.ReplaceAll(stack, []byte("APP_VERSION:-v1"), []byte("APP_VERSION:-v2")), 0o644)
	git(t, work, "commit", "-q", "-am", "web: v2")
	git(t, work, "push", "-q", "origin", "dev")
	swarmtest.Eventually(t, 2*time.Minute, answers(0, "v2"))
	for _, i := range []int{1, 2} {
		if got, _ := swarmtest.Get(t.Context(), ports[i]); got != "v1" {
			t.Errorf("%s answers %q after a push to dev, want v1", envs[i], got)
		}
	}

	// A failing commit on test rolls back and is quarantined.
	git(t, work, "checkout", "-q", "-b", "test", "origin/test")
	os.WriteFile(filepath.Join(work, "envs/test.yml"), []byte("services:\n  web:\n    environment:\n      CRASH: \"1\"\n"), 0o644)
	git(t, work, "commit", "-q", "-am", "test: crash")
	git(t, work, "push", "-q", "origin", "test")
	type record struct {
		Commit  struct{ Subject string }
		Outcome string
	}
	history := func() []record {
		out, err := exec.Command(bin, "history", "test", "--config", config, "-o", "json").Output()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		var recs []record
		if err := json.Unmarshal(out, &recs); err != nil {
			t.Fatalf("history JSON: %v", err)
		}
		return recs
	}
	swarmtest.Eventually(t, 3*time.Minute, func() (bool, string, error) {
		recs := history()
		return len(recs) > 0 && recs[0].Commit.Subject == "test: crash",
			fmt.Sprintf("test's history: %+v", recs), nil
	})
	if recs := history(); recs[0].Outcome != "failed and rolled back" {
		t.Errorf("the crashing commit's record: %+v, want failed and rolled back", recs[0])
	}
	swarmtest.Eventually(t, time.Minute, answers(1, "v1"))
	st, err := exec.Command(bin, "status", "test", "--config", config).Output()
	if err != nil || !strings.Contains(string(st), "quarantined") {
		t.Errorf("status of test does not show the quarantine: %v\n%s", err, st)
	}
	// Three more passes of test later, the quarantined commit was not tried
	// again. The operator's own metrics count the passes.
	n := len(history())
	start := passes(t, apiPort, "test")
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		now := passes(t, apiPort, "test")
		return now >= start+3, fmt.Sprintf("%d passes of test since the quarantine", now-start), nil
	})
	if got := len(history()); got != n {
		t.Errorf("the quarantined commit was deployed again: %d records, was %d", got, n)
	}
}

// passes reads how many passes of env the operator has finished from its
// flotilla_sync_duration_seconds histogram.
func passes(t *testing.T, port int, env string) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "flotilla_sync_duration_seconds_count{") && strings.Contains(line, `environment="`+env+`"`) {
			var n int
			fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%d", &n)
			total += n
		}
	}
	return total
}
