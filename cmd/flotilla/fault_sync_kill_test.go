package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// gitopsEnv is one environment "dev" deploying a local repository's branch
// to a fresh stack, for tests that run the CLI as a process.
type gitopsEnv struct {
	t      *testing.T
	repo   *gittest.Repo
	stack  string
	config string
}

func newGitopsEnv(t *testing.T) *gitopsEnv {
	t.Helper()
	swarmtest.Images(t)
	g := &gitopsEnv{t: t, repo: gittest.NewRepo(t), stack: swarmtest.Stack(t)}
	dir := t.TempDir()
	g.config = filepath.Join(dir, "flotilla.yml")
	cfg := fmt.Sprintf("cacheDir: %s/cache\nrepos:\n  shop: {url: %q}\ndefaults: {progressDeadline: 1m}\n"+
		"environments:\n  dev: {repo: shop, branch: dev, files: [stack.yml], stack: %s}\n", dir, g.repo.URL(), g.stack)
	if err := os.WriteFile(g.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.repo.Switch("dev")
	return g
}

// killStack: a secret and a service whose COLOR shows the commit; CRASH=1
// makes its tasks exit with code 3 after START_DELAY.
func killStack(color string, crash bool) string {
	c := "0"
	if crash {
		c = "1"
	}
	return fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:v1
    environment: {COLOR: %s, CRASH: "%s", START_DELAY: 1s}
    secrets: [pw]
    deploy:
      update_config: {monitor: 2s}
      restart_policy: {delay: 1s}
secrets:
  pw: {file: ./pw.txt}
`, color, c)
}

func (g *gitopsEnv) push(color string, crash bool) string {
	sha := g.repo.Commit(map[string]string{"stack.yml": killStack(color, crash), "pw.txt": "pw-" + color}, color)
	g.repo.Push("dev")
	return sha
}

func (g *gitopsEnv) sync(args ...string) (string, error) {
	out, err := exec.Command(buildFlotilla(g.t), append([]string{"sync", "dev", "--config", g.config}, args...)...).CombinedOutput()
	return string(out), err
}

func (g *gitopsEnv) service() swarm.Service {
	s, _, err := swarmtest.Client(g.t).ServiceInspectWithRaw(g.t.Context(), g.stack+"_web", swarm.ServiceInspectOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

func (g *gitopsEnv) color() string {
	for _, e := range g.service().Spec.TaskTemplate.ContainerSpec.Env {
		if v, ok := strings.CutPrefix(e, "COLOR="); ok {
			return v
		}
	}
	return ""
}

// history is the environment's records, newest first, as the CLI prints
// them in JSON.
func (g *gitopsEnv) history() []struct {
	Commit  struct{ SHA string }
	Trigger string
	Outcome string
	Error   string
} {
	out, err := exec.Command(buildFlotilla(g.t), "history", "dev", "--config", g.config, "-o", "json", "-n", "0").Output()
	if err != nil {
		g.t.Fatalf("history: %v", err)
	}
	var recs []struct {
		Commit  struct{ SHA string }
		Trigger string
		Outcome string
		Error   string
	}
	if err := json.Unmarshal(out, &recs); err != nil {
		g.t.Fatalf("history JSON: %v\n%s", err, out)
	}
	return recs
}

// secrets lists the stack's secrets by name.
func (g *gitopsEnv) secrets() []string {
	list, err := swarmtest.Client(g.t).SecretList(g.t.Context(), swarm.SecretListOptions{
		Filters: filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+g.stack))})
	if err != nil {
		g.t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Spec.Name)
	}
	return names
}

// killWhen starts `flotilla sync dev` and kills it with SIGKILL as soon as
// ready says so.
func (g *gitopsEnv) killWhen(what string, ready func() bool) {
	g.t.Helper()
	cmd := exec.Command(buildFlotilla(g.t), "sync", "dev", "--config", g.config)
	out := &swarmtest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	swarmtest.Eventually(g.t, time.Minute, func() (bool, string, error) {
		select {
		case err := <-exited:
			return false, "", fmt.Errorf("sync ended before %s (%v):\n%s", what, err, out.String())
		default:
		}
		return ready(), "waiting for " + what, nil
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// The scenario that once recorded a broken commit as succeeded: a sync is
// killed while a crashing commit converges. Whatever phase the kill hits,
// the next sync finishes the deploy from its journal — the stack ends on the
// last good commit, the broken commit is quarantined, the history says what
// happened, and nothing the dead deploy created is left behind.
func TestSyncKilledMidDeployEndsOnTheLastGoodCommit(t *testing.T) {
	t.Parallel()
	for _, phase := range []string{"secret created", "update sent", "rolling back"} {
		t.Run(strings.ReplaceAll(phase, " ", "-"), func(t *testing.T) {
			t.Parallel()
			g := newGitopsEnv(t)
			good := g.push("good", false)
			if out, err := g.sync(); err != nil {
				t.Fatalf("first sync: %v\n%s", err, out)
			}
			bad := g.push("bad", true)
			switch phase {
			case "secret created":
				g.killWhen(phase, func() bool { return len(g.secrets()) == 2 })
			case "update sent":
				g.killWhen(phase, func() bool { return g.color() == "bad" })
			case "rolling back":
				sent := false
				g.killWhen(phase, func() bool {
					sent = sent || g.color() == "bad"
					return sent && g.color() == "good"
				})
			}
			// The next sync finishes the dead deploy from its journal. A
			// deploy the kill left unsent proves nothing against the commit:
			// that sync deploys it again and it fails (exit 1) on its own;
			// either way the sync after that finds it quarantined.
			out, err := g.sync()
			if err != nil && !strings.Contains(out, "Result: failed and rolled back") {
				t.Fatalf("the sync after the kill: %v\n%s", err, out)
			}
			if !strings.Contains(out, "quarantined") {
				if out, err = g.sync(); err != nil || !strings.Contains(out, "quarantined") {
					t.Fatalf("the broken commit is not quarantined: %v\n%s", err, out)
				}
			}
			if c := g.color(); c != "good" {
				t.Errorf("the stack runs COLOR=%s, want the last good commit", c)
			}
			swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
				s := g.secrets()
				return len(s) == 1, fmt.Sprintf("secrets %v", s), nil
			})
			recs := g.history()
			if len(recs) < 2 || recs[len(recs)-1].Commit.SHA != good || recs[len(recs)-1].Outcome != "succeeded" {
				t.Fatalf("history %+v: want the good deploy first", recs)
			}
			newest := recs[0]
			if newest.Commit.SHA != bad || newest.Outcome != "failed and rolled back" || newest.Error == "" {
				t.Errorf("newest record %+v: want the broken commit rolled back, with the reason", newest)
			}
			for _, r := range recs {
				if r.Commit.SHA == bad && r.Outcome == "succeeded" {
					t.Errorf("the broken commit was recorded as succeeded: %+v", recs)
				}
			}
		})
	}
}
