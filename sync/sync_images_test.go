package sync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// An environment pulling from a private registry, with watchImages: the
// operator sends the registry's credentials so the swarm can pull, pins the
// tag to its digest, deploys a new image pushed under the same tag on its
// next pass (trigger image, recorded with old → new digest), rolls back and
// quarantines a pushed image that crashes — without retrying it — and
// deploys the next push again.
func TestWatchImagesDeploysAMovedTag(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	image := reg.Host + "/app:prod"
	first := reg.Push(t, "app:prod", "BUILD=1")
	f := newFixture(t, "dev")
	f.repo.Switch("dev")
	f.repo.Commit(map[string]string{"stack.yml": strings.NewReplacer("flotilla-test/app:v1", image, `, CRASH: "0"`, "").Replace(webStack("dev-1", false))}, "private image")
	f.repo.Push("dev") // CRASH is left to the image
	pw := filepath.Join(t.TempDir(), "registry-password")
	if err := os.WriteFile(pw, []byte(reg.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := replaceLine(t, string(raw), "environments:\n", "registries:\n  "+reg.Host+": {username: "+reg.User+", passwordFile: "+pw+"}\nenvironments:\n")
	cfg = replaceLine(t, cfg, "stack: "+f.stacks["dev"]+"}", "stack: "+f.stacks["dev"]+", watchImages: true}")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatalf("first deploy from the private registry: %v", err)
	}
	pinned := func() string { return f.service("dev").Spec.TaskTemplate.ContainerSpec.Image }
	if got := pinned(); got != image+"@"+first {
		t.Fatalf("the service runs %s, want the tag pinned to %s", got, first)
	}
	// Nothing moved: no write, no record.
	version := f.service("dev").Version.Index
	if rep, err := s.Sync(t.Context(), "dev", scheduled); err != nil || rep.Record != nil {
		t.Fatalf("an idle pass: %+v, %v", rep.Record, err)
	}
	if v := f.service("dev").Version.Index; v != version {
		t.Errorf("an idle pass wrote to the service (version %d → %d)", version, v)
	}

	second := reg.Push(t, "app:prod", "BUILD=2")
	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Record == nil || rep.Record.Trigger != sync.TriggerImage || rep.Record.Outcome != sync.Succeeded {
		t.Fatalf("the pass after a push under the tag: %+v, %v", rep.Record, err)
	}
	if got := pinned(); got != image+"@"+second {
		t.Errorf("after the push the service runs %s, want %s", got, second)
	}
	if !strings.Contains(strings.Join(rep.Record.Changes, "\n"), "image "+image+" "+first+" → "+second) {
		t.Errorf("the record does not name the image and its digests: %q", rep.Record.Changes)
	}

	crashing := reg.Push(t, "app:prod", "CRASH=1")
	rep, err = s.Sync(t.Context(), "dev", scheduled)
	if err == nil || rep.Record == nil || rep.Record.Outcome != sync.RolledBack || rep.Record.Images[image] != crashing {
		t.Fatalf("a crashing image under the tag: %+v, %v; want it rolled back", rep.Record, err)
	}
	if got := pinned(); got != image+"@"+second {
		t.Errorf("after the rollback the service runs %s, want %s back", got, second)
	}
	version = f.service("dev").Version.Index
	rep, err = s.Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Record != nil || rep.Skip != sync.SkipQuarantined {
		t.Fatalf("the pass after the crashing image: %+v / %q, %v; want its digest quarantined", rep.Record, rep.Skip, err)
	}
	if v := f.service("dev").Version.Index; v != version {
		t.Errorf("the quarantined digest was applied again (version %d → %d)", version, v)
	}

	fixed := reg.Push(t, "app:prod", "BUILD=3")
	rep, err = s.Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Record == nil || rep.Record.Outcome != sync.Succeeded || pinned() != image+"@"+fixed {
		t.Fatalf("a new push after the quarantine: %+v, %v (runs %s)", rep.Record, err, pinned())
	}
}
