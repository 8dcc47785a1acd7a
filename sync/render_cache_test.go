package sync

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

func TestRenderCacheKeepsTheNewestPerEnvironment(t *testing.T) {
	t.Parallel()
	r := renders{byEnv: map[string][]renderEntry{}}
	a, b, c := &stack.Desired{Stack: "a"}, &stack.Desired{Stack: "b"}, &stack.Desired{Stack: "c"}
	notKept := errors.New("not kept")
	// put renders d under key; get finds what is kept, or nil.
	put := func(env, key string, d *stack.Desired) {
		r.do(t.Context(), env, key, func() (*stack.Desired, error) { return d, nil })
	}
	get := func(env, key string) *stack.Desired {
		d, _ := r.do(t.Context(), env, key, func() (*stack.Desired, error) { return nil, notKept })
		return d
	}
	put("dev", "ka", a)
	put("dev", "kb", b)
	put("prod", "ka", c)
	if get("dev", "ka") != a || get("dev", "kb") != b || get("prod", "ka") != c {
		t.Fatal("a cached desired state was not found under its environment and key")
	}
	// ka was used last: kb goes when a third comes.
	get("dev", "ka")
	put("dev", "kc", c)
	if get("dev", "kb") != nil || get("dev", "ka") != a || get("dev", "kc") != c {
		t.Errorf("after a third render: %d entries kept for dev, want the two most recently used", len(r.byEnv["dev"]))
	}
}

// A render under way is waited for, not made twice; a failed one is not
// kept, and the next caller renders again.
func TestRenderUnderWayIsSharedAndAFailureIsNotKept(t *testing.T) {
	t.Parallel()
	r := renders{byEnv: map[string][]renderEntry{}}
	var loads atomic.Int32
	release := make(chan struct{})
	want := &stack.Desired{Stack: "shop"}
	slow := func() (*stack.Desired, error) {
		loads.Add(1)
		<-release
		return want, nil
	}
	results := make(chan *stack.Desired, 3)
	var started gosync.WaitGroup
	for range 3 {
		started.Add(1)
		go func() {
			started.Done()
			d, err := r.do(t.Context(), "dev", "k1", slow)
			if err != nil {
				t.Error(err)
			}
			results <- d
		}()
	}
	started.Wait()
	// Every caller is in do (one loading, the others waiting) before the
	// load ends: wait until the first has begun.
	swarmtest.Eventually(t, 10*time.Second, func() (bool, string, error) {
		return loads.Load() == 1, "no load begun", nil
	})
	close(release)
	for range 3 {
		if d := <-results; d != want {
			t.Errorf("a caller got %p, want the one render %p", d, want)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("three callers of one key rendered %d times, want 1", n)
	}

	broken := errors.New("stack.yml: line 3: bad")
	fails := func() (*stack.Desired, error) { loads.Add(1); return nil, broken }
	if _, err := r.do(t.Context(), "dev", "k2", fails); !errors.Is(err, broken) {
		t.Errorf("a failed render returned %v, want %v", err, broken)
	}
	if _, err := r.do(t.Context(), "dev", "k2", fails); !errors.Is(err, broken) || loads.Load() != 3 {
		t.Errorf("a render that failed was kept: err %v, %d loads, want 3", err, loads.Load())
	}
}

// The render key changes with every input of a render: the commit, the
// configuration, the engine, and the identity files on disk.
func TestRenderKeyFollowsEveryInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(id, []byte("AGE-SECRET-KEY-1"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(&environments.Config{}, nil)
	base := environments.Environment{Name: "dev", Repo: &environments.Repo{URL: "file:///r"}, Stack: "shop",
		Files: []string{"stack.yml"}, Variables: map[string]string{"TAG": "v1"}, Identities: []string{id}}
	key := func(e environments.Environment, sha, api string) string {
		k, ok := s.renderKey(&e, sha, api)
		if !ok {
			t.Fatalf("no render key for %+v", e)
		}
		return k
	}
	first := key(base, "sha1", "1.41")
	if key(base, "sha1", "1.41") != first {
		t.Fatal("the same inputs gave two keys")
	}
	changed := map[string]string{"commit": key(base, "sha2", "1.41"), "API version": key(base, "sha1", "1.43")}
	e := base
	e.Variables = map[string]string{"TAG": "v2"}
	changed["variables"] = key(e, "sha1", "1.41")
	e = base
	e.Files = []string{"stack.yml", "prod.yml"}
	changed["files"] = key(e, "sha1", "1.41")
	e = base
	e.Policy.HostNetwork = true
	changed["policy"] = key(e, "sha1", "1.41")
	if err := os.WriteFile(id, []byte("AGE-SECRET-KEY-2-longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed["identity file"] = key(base, "sha1", "1.41")
	for what, k := range changed {
		if k == first {
			t.Errorf("a new %s kept the render key", what)
		}
	}
	if err := os.Remove(id); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.renderKey(&base, "sha1", "1.41"); ok {
		t.Error("an identity file that is gone still gave a key: the render would be reused instead of failing")
	}
}

// A pass renders a commit once, and deploying from the kept desired state
// leaves it as the stack files render it: apply works on copies.
func TestDeployLeavesTheCachedDesiredStateAlone(t *testing.T) {
	t.Parallel()
	swarmtest.Images(t)
	repo := gittest.NewRepo(t)
	name := swarmtest.Stack(t)
	file := func(color string) map[string]string {
		return map[string]string{"stack.yml": fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:v1
    environment: {COLOR: %q}
    deploy: {replicas: 0}
    secrets: [pw]
    configs: [conf]
secrets:
  pw: {file: pw.txt}
configs:
  conf: {file: app.conf}
`, color), "pw.txt": "s3cret-" + color, "app.conf": "color=" + color}
	}
	repo.Switch("dev")
	repo.Commit(file("1"), "first")
	repo.Push("dev")
	config := filepath.Join(t.TempDir(), "flotilla.yml")
	cfgText := fmt.Sprintf("cacheDir: %s\nrepos:\n  r: {url: %q}\nenvironments:\n  dev: {repo: r, branch: dev, files: [stack.yml], stack: %s}\n",
		filepath.Join(t.TempDir(), "cache"), repo.URL(), name)
	if err := os.WriteFile(config, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, nil)
	t.Cleanup(func() { s.Close() })
	e, _ := cfg.Environment("dev")
	for i, color := range []string{"1", "2"} {
		if i > 0 {
			repo.Commit(file(color), "color "+color)
			repo.Push("dev")
		}
		before := s.Renders()
		rep, err := s.Sync(t.Context(), "dev", Options{Trigger: TriggerManual})
		if err != nil || rep.Record == nil || rep.Record.Outcome != Succeeded {
			t.Fatalf("deploying color %s: %v, %+v", color, err, rep)
		}
		if n := s.Renders() - before; n != 1 {
			t.Errorf("deploying color %s rendered %d times, want once", color, n)
		}
		d, err := s.Docker(t.Context(), e.Cluster)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := s.renderKey(e, rep.Commit.SHA, d.APIVersion())
		s.renders.mu.Lock()
		cached := s.renders.getLocked("dev", key)
		s.renders.mu.Unlock()
		if cached == nil {
			t.Fatalf("commit %s is not kept", rep.Commit.Short())
		}
		fresh, err := s.load(t.Context(), e, rep.Commit, d.APIVersion(), s.log)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fresh, cached); diff != "" {
			t.Errorf("the kept desired state of color %s was changed by its deploy (-rendered +kept):\n%s", color, diff)
		}
	}
}
