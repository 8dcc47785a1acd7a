package sync_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// engineCalls counts a Syncer's engine requests by kind.
type engineCalls struct {
	mu     gosync.Mutex
	byKind map[string]int
}

func countEngine(s *sync.Syncer) *engineCalls {
	c := &engineCalls{byKind: map[string]int{}}
	s.ObserveEngine = func(kind string) {
		c.mu.Lock()
		c.byKind[kind]++
		c.mu.Unlock()
	}
	return c
}

// take returns the counts since the last take: all requests, and the
// writes among them by kind.
func (c *engineCalls) take() (total int, writes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for kind, n := range c.byKind {
		total += n
		if !strings.HasPrefix(kind, "GET ") && !strings.HasPrefix(kind, "HEAD ") {
			writes = append(writes, fmt.Sprintf("%s ×%d", kind, n))
		}
	}
	clear(c.byKind)
	slices.Sort(writes)
	return total, writes
}

// tick runs a scheduled pass of each environment, as one tick of the
// operator does: they may share one read of the cluster.
func tick(t *testing.T, s *sync.Syncer, envs []string, heal map[string]bool) map[string]*sync.Report {
	t.Helper()
	since := time.Now()
	reps := map[string]*sync.Report{}
	for _, env := range envs {
		rep, err := s.Sync(t.Context(), env, sync.Options{Trigger: sync.TriggerSchedule, Since: since, Heal: heal[env]})
		if err != nil {
			t.Fatalf("scheduled pass of %s: %v", env, err)
		}
		reps[env] = rep
	}
	return reps
}

// An idle tick — Git did not move, nothing drifted — writes nothing to the
// engine, renders nothing, and reads the cluster once whatever the number
// of stacks. Drift made by hand on one of the stacks is still found by the
// next tick, and only there.
func TestIdleTickWritesNothingAndStillFindsDrift(t *testing.T) {
	t.Parallel()
	envs := []string{"e1", "e2", "e3", "e4", "e5"}
	f := newFixture(t, envs...)
	s := f.syncer()
	calls := countEngine(s)
	for env, rep := range tick(t, s, envs, nil) {
		if rep.Record == nil || rep.Record.Outcome != sync.Succeeded {
			t.Fatalf("first pass of %s recorded %+v", env, rep.Record)
		}
	}
	renders := s.Renders()
	calls.take()

	for env, rep := range tick(t, s, envs, nil) {
		if rep.Skip != sync.SkipNoChanges || rep.Record != nil || rep.Drift || rep.Health == nil {
			t.Errorf("idle pass of %s: skip %q, record %+v, drift %v, health %v", env, rep.Skip, rep.Record, rep.Drift, rep.Health)
		}
	}
	total, writes := calls.take()
	if len(writes) > 0 {
		t.Errorf("an idle tick wrote to the engine: %v", writes)
	}
	if total != cluster.SnapshotCalls {
		t.Errorf("an idle tick of %d stacks made %d engine requests, want one snapshot's %d", len(envs), total, cluster.SnapshotCalls)
	}
	if n := s.Renders() - renders; n != 0 {
		t.Errorf("an idle tick rendered %d times, want none", n)
	}

	// Someone changes one stack by hand.
	web := f.service("e3")
	spec := web.Spec
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Env = append(slices.Clone(cs.Env), "BY=hand")
	spec.TaskTemplate.ContainerSpec = &cs
	if _, err := f.api.ServiceUpdate(t.Context(), web.ID, web.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	versions := map[string]uint64{}
	for _, env := range envs {
		versions[env] = f.service(env).Version.Index
	}
	for env, rep := range tick(t, s, envs, nil) {
		switch {
		case env == "e3" && (!rep.Drift || rep.Skip != sync.SkipDrift):
			t.Errorf("the tick after a change by hand: e3 drift %v, skip %q; want drift reported", rep.Drift, rep.Skip)
		case env != "e3" && (rep.Drift || rep.Skip != sync.SkipNoChanges):
			t.Errorf("the tick after a change by hand to e3: %s drift %v, skip %q", env, rep.Drift, rep.Skip)
		}
	}
	if _, writes := calls.take(); len(writes) > 0 {
		t.Errorf("a tick that only reports drift wrote to the engine: %v", writes)
	}

	// A tick that heals writes to the drifted stack only; a pass of it
	// later in the same tick sees what was written, not the tick's read.
	reps := tick(t, s, envs, map[string]bool{"e3": true})
	if rep := reps["e3"]; rep.Record == nil || rep.Record.Outcome != sync.Succeeded || !rep.Drift {
		t.Fatalf("healing e3: drift %v, record %+v", rep.Drift, rep.Record)
	}
	for _, env := range envs {
		if v := f.service(env).Version.Index; env != "e3" && v != versions[env] {
			t.Errorf("healing e3 wrote %s's service (version %d → %d)", env, versions[env], v)
		}
	}
	if got := f.color("e3"); got != "e3-1" || slices.Contains(f.service("e3").Spec.TaskTemplate.ContainerSpec.Env, "BY=hand") {
		t.Errorf("e3 after healing runs COLOR=%s, env %v", got, f.service("e3").Spec.TaskTemplate.ContainerSpec.Env)
	}
	rep, err := s.Sync(t.Context(), "e3", sync.Options{Trigger: sync.TriggerSchedule, Since: time.Now().Add(-time.Minute)})
	if err != nil || rep.Drift || rep.Skip != sync.SkipNoChanges {
		t.Errorf("a pass after the heal, allowed the tick's read: drift %v, skip %q, err %v", rep.Drift, rep.Skip, err)
	}
}

// Under the lease, after a tick's read of the whole cluster, a pass lists
// its stack's services by name (cheap on a manager with thousands of
// services) and takes from the tick's read the services labelled for the
// stack under other names: a service like that, made by hand, is still
// found as drift by the next tick and pruned when the pass heals.
func TestHealPrunesAServiceLabelledUnderAnotherName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "p1")
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	name := f.stacks["p1"]
	withPrune := strings.Replace(string(cfg), "stack: "+name+"}", "stack: "+name+", prune: true}", 1)
	if withPrune == string(cfg) {
		t.Fatalf("no environment p1 to give prune in:\n%s", cfg)
	}
	if err := os.WriteFile(f.config, []byte(withPrune), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	if rep := tick(t, s, []string{"p1"}, nil)["p1"]; rep.Record == nil || rep.Record.Outcome != sync.Succeeded {
		t.Fatalf("first pass recorded %+v", rep.Record)
	}

	// By hand: a service in the stack's namespace, named out of its scope.
	stray := "custom-" + name
	resp, err := f.api.ServiceCreate(t.Context(), swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: stray, Labels: map[string]string{swarmtest.NamespaceLabel: name}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: new(uint64)}},
	}, swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	rep := tick(t, s, []string{"p1"}, map[string]bool{"p1": true})["p1"]
	if !rep.Drift || rep.Record == nil || rep.Record.Outcome != sync.Succeeded {
		t.Fatalf("the tick after %s was made by hand: drift %v, record %+v", stray, rep.Drift, rep.Record)
	}
	var deleted bool
	for _, c := range rep.Plan.Changes {
		if c.Name == stray && c.Action == diff.ActionDelete {
			deleted = true
		}
	}
	if !deleted {
		t.Errorf("the healing plan does not delete %s: %+v", stray, rep.Plan.Changes)
	}
	if _, _, err := f.api.ServiceInspectWithRaw(t.Context(), resp.ID, swarm.ServiceInspectOptions{}); !cluster.IsNotFound(err) {
		t.Errorf("after the heal, inspecting %s: %v; want it removed", stray, err)
	}
	if got := f.color("p1"); got != "p1-1" {
		t.Errorf("p1 runs COLOR=%s after the heal, want p1-1", got)
	}
}
