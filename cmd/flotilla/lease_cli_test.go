package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// One writer per stack, the CLI included: `flotilla deploy` while another
// writer (an operator's pass) holds the stack is refused with the holder
// named, and writes nothing.
func TestDeployRefusedWhileAnotherWriterHoldsTheStack(t *testing.T) {
	t.Parallel()
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(file, []byte("services:\n  web: {image: flotilla-test/app:v1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := cluster.NewFromClient(swarmtest.Client(t))
	operator := cluster.NewHolder("flotilla run")
	l, err := d.AcquireLease(t.Context(), name, operator, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runAll(t, "deploy", "-c", file, name)
	if err == nil || !strings.Contains(err.Error(), "is being deployed by "+operator.String()) {
		t.Fatalf("deploy beside another writer: %v\n%s", err, out)
	}
	if objs := stackObjects(t, swarmtest.Client(t), name); len(objs) != 0 {
		t.Errorf("the refused deploy wrote %v", objs)
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out, err := runAll(t, "deploy", "-c", file, name); err != nil {
		t.Fatalf("deploy once the stack is free: %v\n%s", err, out)
	}
}

// `flotilla rm` clears the stack's pin (and journal): a new environment
// deploying a stack of that name, from another repository, deploys on its
// first automatic pass instead of staying pinned to a commit it never had.
func TestRmClearsThePin(t *testing.T) {
	t.Parallel()
	g := newGitopsEnv(t)
	g.push("good", false)
	if out, err := g.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	g.push("newer", false)
	if out, err := g.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if out, err := runAll(t, "rollback", "dev", "--config", g.config); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if out, err := runAll(t, "rm", g.stack); err != nil {
		t.Fatalf("rm: %v\n%s", err, out)
	}

	other := newGitopsEnv(t)
	other.push("fresh", false)
	raw, err := os.ReadFile(other.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other.config, []byte(strings.ReplaceAll(string(raw), other.stack, g.stack)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.Load(other.config)
	if err != nil {
		t.Fatal(err)
	}
	s := sync.New(cfg, nil)
	defer s.Close()
	rep, err := s.Sync(t.Context(), "dev", sync.Options{Trigger: sync.TriggerSchedule})
	if err != nil || rep.Record == nil || rep.Record.Outcome != sync.Succeeded {
		t.Fatalf("the new environment's first automatic pass: %+v, %v; want it deployed", rep, err)
	}
	if c := g.color(); c != "fresh" {
		t.Errorf("stack %s runs COLOR=%s, want the new environment's commit", g.stack, c)
	}
}
