package sync_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// fixture is a Git repository with one branch per environment, an operator
// configuration deploying each to its own stack, and the swarm.
type fixture struct {
	t      *testing.T
	repo   *gittest.Repo
	api    client.APIClient
	stacks map[string]string // environment → stack
	config string            // path of the configuration file
}

// webStack is the stack file every branch starts from: one service whose
// COLOR shows which commit runs; CRASH=1 makes its tasks fail.
func webStack(color string, crash bool) string {
	c := "0"
	if crash {
		c = "1"
	}
	return fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:v1
    environment: {COLOR: %s, CRASH: "%s"}
    deploy:
      update_config: {monitor: 1s}
      restart_policy: {delay: 1s}
`, color, c)
}

func newFixture(t *testing.T, envs ...string) *fixture {
	t.Helper()
	f := &fixture{t: t, repo: gittest.NewRepo(t), api: swarmtest.Client(t), stacks: map[string]string{}}
	swarmtest.Images(t)
	var b strings.Builder
	fmt.Fprintf(&b, "cacheDir: %s\nhistory: {limit: 20}\nrepos:\n  shop: {url: %q}\ndefaults: {progressDeadline: 1m}\nenvironments:\n",
		filepath.Join(t.TempDir(), "cache"), f.repo.URL())
	for _, env := range envs {
		f.stacks[env] = swarmtest.Stack(t)
		fmt.Fprintf(&b, "  %s: {repo: shop, branch: %s, files: [stack.yml], stack: %s}\n", env, env, f.stacks[env])
		f.repo.Switch(env)
		f.repo.Commit(map[string]string{"stack.yml": webStack(env+"-1", false)}, "first "+env)
		f.repo.Push(env)
	}
	f.config = filepath.Join(t.TempDir(), "flotilla.yml")
	if err := os.WriteFile(f.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// syncer is a fresh operator process: configuration loaded anew, an empty
// Git cache, no state but what is in the cluster.
func (f *fixture) syncer() *sync.Syncer {
	f.t.Helper()
	cfg, err := environments.Load(f.config)
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.CacheDir = filepath.Join(f.t.TempDir(), "cache")
	s := sync.New(cfg, nil)
	f.t.Cleanup(func() { s.Close() })
	return s
}

// commit pushes a new stack file to env's branch and returns its SHA.
func (f *fixture) commit(env, color string, crash bool) string {
	f.t.Helper()
	f.repo.Switch(env)
	sha := f.repo.Commit(map[string]string{"stack.yml": webStack(color, crash)}, fmt.Sprintf("%s: color %s", env, color))
	f.repo.Push(env)
	return sha
}

// service inspects env's web service.
func (f *fixture) service(env string) swarm.Service {
	f.t.Helper()
	s, _, err := f.api.ServiceInspectWithRaw(f.t.Context(), f.stacks[env]+"_web", swarm.ServiceInspectOptions{})
	if err != nil {
		f.t.Fatalf("inspecting %s's web: %v", env, err)
	}
	return s
}

func (f *fixture) color(env string) string {
	f.t.Helper()
	for _, e := range f.service(env).Spec.TaskTemplate.ContainerSpec.Env {
		if v, ok := strings.CutPrefix(e, "COLOR="); ok {
			return v
		}
	}
	return ""
}

// replaceLine replaces old, which must occur once, by new in s.
func replaceLine(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times in %q", old, strings.Count(s, old), s)
	}
	return strings.Replace(s, old, new, 1)
}
