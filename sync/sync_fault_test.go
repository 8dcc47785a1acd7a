package sync_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Only the commit's own faults quarantine it: an identity file the operator
// cannot read is its own world's fault. The pass fails with a RetryError,
// records nothing, and the commit deploys once the file is back.
func TestUnreadableIdentityDoesNotQuarantine(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	key := filepath.Join(t.TempDir(), "id.key")
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	// The identity is only loaded, never used: the stack has no .age file.
	if err := os.WriteFile(key, []byte("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := replaceLine(t, string(raw), "stack: "+f.stacks["dev"]+"}", "stack: "+f.stacks["dev"]+", identities: ["+key+"]}")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	// Gone after the configuration was loaded (a volume unmounted, a
	// secret rotated badly): unreadable whoever runs the test, root too.
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if _, ok := errors.AsType[*sync.RetryError](err); !ok {
		t.Fatalf("sync with a missing identity file: %v, want a RetryError", err)
	}
	if rep != nil && rep.Record != nil {
		t.Errorf("the operator's own fault was recorded against the commit: %+v", rep.Record)
	}
	if records, _ := s.History(t.Context(), "dev"); len(records) != 0 {
		t.Errorf("history %+v, want nothing recorded", records)
	}
}

// One writer per stack: of two processes syncing one environment at once,
// one deploys and the other is refused with the holder named; the commit
// is deployed and recorded once.
func TestTwoWritersNeverDeployOneStackAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	a, b := f.syncer(), f.syncer()
	a.Holder, b.Holder = cluster.NewHolder("writer a"), cluster.NewHolder("writer b")
	var wg gosync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*sync.Syncer{a, b} {
		wg.Go(func() { _, errs[i] = s.Sync(context.WithoutCancel(t.Context()), "dev", scheduled) })
	}
	wg.Wait()
	var held *cluster.LeaseHeldError
	switch {
	case errs[0] == nil && errors.As(errs[1], &held) && held.Holder.Command == "writer a":
	case errs[1] == nil && errors.As(errs[0], &held) && held.Holder.Command == "writer b":
	default:
		t.Fatalf("two writers at once: %v / %v, want one to deploy and the other refused naming it", errs[0], errs[1])
	}
	if _, ok := errors.AsType[*sync.RetryError](errors.Join(errs...)); !ok {
		t.Errorf("a held lease must be retried, not recorded against the commit")
	}
	records, err := a.History(t.Context(), "dev")
	if err != nil || len(records) != 1 || records[0].Outcome != sync.Succeeded {
		t.Errorf("history %+v (%v), want the commit deployed and recorded once", records, err)
	}
}

// An engine connection that breaks mid-deploy is not the commit's fault:
// the pass ends interrupted with its journal open, and once the engine is
// back the next pass finishes the deploy from the journal — here, a good
// commit whose update had been sent, so it is recorded as succeeded and
// nothing is deployed twice.
func TestDroppedEngineConnectionMidDeploy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	proxy := swarmtest.EngineProxy(t)
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := replaceLine(t, string(raw), "environments:\n", "clusters:\n  proxied: {host: "+proxy.Host+", insecure: true}\nenvironments:\n")
	cfg = replaceLine(t, cfg, "stack: "+f.stacks["dev"]+"}", "stack: "+f.stacks["dev"]+", cluster: proxied}")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	second := f.commit("dev", "dev-2", false)
	done := make(chan error, 1)
	go func() {
		_, err := s.Sync(context.WithoutCancel(t.Context()), "dev", scheduled)
		done <- err
	}()
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		return f.color("dev") == "dev-2", "waiting for the update to be sent", nil
	})
	proxy.Cut()
	if err := <-done; err == nil {
		t.Fatal("the pass succeeded although the engine went away mid-deploy")
	}
	proxy.Restore()

	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if err != nil {
		t.Fatalf("the pass after the engine came back: %v", err)
	}
	if rep.Skip != sync.SkipNoChanges {
		t.Errorf("after recovery the pass found %q, want the stack already on the commit", rep.Skip)
	}
	records, err := s.History(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	last := records[len(records)-1]
	if last.Commit.SHA != second || last.Outcome != sync.Succeeded || last.Trigger != sync.TriggerRecovery {
		t.Errorf("history %+v: want the interrupted deploy recorded as succeeded by the recovery", records)
	}
	for _, r := range records {
		if r.Commit.SHA == second && r.Quarantines() {
			t.Errorf("the commit was quarantined for the engine's fault: %+v", r)
		}
	}
	if got := f.color("dev"); got != "dev-2" {
		t.Errorf("dev runs COLOR=%s, want dev-2", got)
	}
}

// A commit asking for what the environment's policy refuses — here the
// engine's socket — is a bad commit: recorded, quarantined, nothing
// created. The same commit deploys where the policy names that mount.
func TestPolicyViolationIsRecordedAndQuarantined(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev", "ops")
	hostile := strings.Replace(webStack("x", false), "    deploy:", "    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n    deploy:", 1)
	for _, env := range []string{"dev", "ops"} {
		f.repo.Switch(env)
		f.repo.Commit(map[string]string{"stack.yml": hostile}, "mount the engine")
		f.repo.Push(env)
	}
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := replaceLine(t, string(raw), "stack: "+f.stacks["ops"]+"}", "stack: "+f.stacks["ops"]+", policy: {bindMounts: [/var/run/docker.sock]}}")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if _, ok := errors.AsType[*stack.PolicyError](err); !ok {
		t.Fatalf("sync of a docker.sock mount: %v, want a policy error", err)
	}
	if !strings.Contains(err.Error(), "/var/run/docker.sock") || rep.Record == nil || !rep.Record.Quarantines() {
		t.Errorf("error %q, record %+v: want the mount named and the commit quarantined", err, rep.Record)
	}
	if objs, _ := f.api.ServiceList(t.Context(), swarm.ServiceListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.stack.namespace="+f.stacks["dev"]))}); len(objs) != 0 {
		t.Errorf("the refused commit created %d services", len(objs))
	}
	if _, err := s.Sync(t.Context(), "ops", scheduled); err != nil {
		t.Errorf("the environment whose policy allows the mount: %v", err)
	}
}

// A Git server that accepts and then stalls fails its own environment's
// pass with a timeout, while every other environment carries on, and a
// shutdown still ends within its grace.
func TestStalledGitServerFailsOnlyItsEnvironment(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	f := newFixture(t, "dev", "stuck")
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := replaceLine(t, string(raw), "defaults:", "  stalled: {url: 'http://"+l.Addr().String()+"/shop.git'}\ndefaults:")
	cfg = replaceLine(t, cfg, "stuck: {repo: shop,", "stuck: {repo: stalled,")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.syncer()
	s.GitTimeouts = sync.Timeouts{Dial: time.Second, Response: 500 * time.Millisecond, List: 2 * time.Second, Fetch: 2 * time.Second}
	ev := make(chan sync.PassEvent, 16)
	op := sync.NewOperator(s, sync.OperatorOptions{MaxJitter: time.Millisecond, Grace: 5 * time.Second,
		Observers: []sync.Observer{sync.ObserverFunc(func(e sync.PassEvent) { ev <- e })}})
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- op.Run(ctx) }()
	got := map[string]sync.PassEvent{}
	for len(got) < 2 {
		select {
		case e := <-ev:
			got[e.Environment] = e
		case <-time.After(time.Minute):
			t.Fatalf("passes after a minute: %v", got)
		}
	}
	if e := got["dev"]; e.Err != nil || e.Report == nil || e.Report.Record == nil || e.Report.Record.Outcome != sync.Succeeded {
		t.Errorf("dev, beside a stalled Git server: %+v", e)
	}
	var timeout *sync.TimeoutError
	if e := got["stuck"]; !errors.As(e.Err, &timeout) {
		t.Errorf("the stalled environment's pass: %v, want a Git timeout", e.Err)
	}
	st, err := op.Status(t.Context(), "stuck")
	if err != nil || st.LastError == "" || st.NextRetry.IsZero() {
		t.Errorf("status of the stalled environment does not show the failure and its retry: %+v", st)
	}
	began := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if took := time.Since(began); took > 6*time.Second {
		t.Errorf("shutdown took %s, more than its 5s grace", took)
	}
}

// Without any journal to go by (its writer lost it, or an older version
// deployed), a new commit whose specs are live but whose stack Swarm
// reports degraded is a failed deploy: the health check rolls it back to
// the last good commit and quarantines it, instead of recording "no
// changes" as success.
func TestDegradedStackAtANewCommitIsRolledBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	bad := f.commit("dev", "dev-bad", true)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() {
		_, err := s.Sync(ctx, "dev", scheduled)
		done <- err
	}()
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		return f.color("dev") == "dev-bad", "waiting for the update to be sent", nil
	})
	cancel()
	<-done
	if err := apply.RemoveJournal(t.Context(), cluster.NewFromClient(f.api), f.stacks["dev"]); err != nil {
		t.Fatal(err)
	}

	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if err == nil || rep.Record == nil || rep.Record.Commit.SHA != bad || rep.Record.Outcome != sync.RolledBack {
		t.Fatalf("a pass over the degraded stack: %+v, %v; want the commit rolled back", rep, err)
	}
	if !strings.Contains(rep.Record.Error, "degraded") || !strings.Contains(rep.Record.Error, "code 3") {
		t.Errorf("the record's reason %q does not say the stack was degraded, with the task error", rep.Record.Error)
	}
	if got := f.color("dev"); got != "dev-1" {
		t.Errorf("dev runs COLOR=%s, want the last good dev-1", got)
	}
	rep, err = s.Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Skip != sync.SkipQuarantined {
		t.Errorf("the next pass: %q, %v; want the commit quarantined", rep.Skip, err)
	}
}

// The desired state is commit + configuration: a variable changed in the
// configuration deploys like a new commit (trigger config), even where
// selfHeal only warns about drift.
func TestConfigurationChangeDeploysLikeACommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	f.repo.Switch("dev")
	f.repo.Commit(map[string]string{"stack.yml": strings.Replace(webStack("x", false), "COLOR: x", `COLOR: "${TINT}"`, 1)}, "tint from the configuration")
	f.repo.Push("dev")
	raw, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	write := func(tint string) {
		cfg := replaceLine(t, string(raw), "stack: "+f.stacks["dev"]+"}", "stack: "+f.stacks["dev"]+", selfHeal: warn, variables: {TINT: "+tint+"}}")
		if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("blue")
	if _, err := f.syncer().Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	write("green") // and SIGHUP: a new Syncer over the new configuration
	rep, err := f.syncer().Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Record == nil || rep.Record.Trigger != sync.TriggerConfig || rep.Drift {
		t.Fatalf("the pass after the configuration changed: %+v (drift %v), %v; want a deploy with trigger config", rep.Record, rep.Drift, err)
	}
	if got := f.color("dev"); got != "green" {
		t.Errorf("dev runs COLOR=%s, want the configuration's green", got)
	}
	if rep, err := f.syncer().Sync(t.Context(), "dev", scheduled); err != nil || rep.Record != nil || rep.Skip != sync.SkipNoChanges {
		t.Errorf("the next pass: %+v / %q, %v; want nothing to do", rep.Record, rep.Skip, err)
	}
}

// The Git cache is shared by every environment of a repository: a commit
// that exists only on dev is not a rollback target for prod, whose own
// history never deployed it.
func TestRollbackRefusesAnotherBranchsCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev", "prod")
	s := f.syncer()
	for _, env := range []string{"dev", "prod"} {
		if _, err := s.Sync(t.Context(), env, scheduled); err != nil {
			t.Fatal(err)
		}
	}
	devOnly := f.commit("dev", "dev-2", false)
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	f.commit("prod", "prod-2", false)
	if _, err := s.Sync(t.Context(), "prod", scheduled); err != nil {
		t.Fatal(err)
	}
	_, err := s.Rollback(t.Context(), "prod", devOnly)
	if err == nil || !strings.Contains(err.Error(), "never deployed successfully") {
		t.Fatalf("rolling prod back to a dev-only commit: %v, want a refusal", err)
	}
	if got := f.color("prod"); got != "prod-2" {
		t.Errorf("prod runs COLOR=%s after the refused rollback, want prod-2", got)
	}
	if st, err := s.Status(t.Context(), "prod"); err != nil || st.Pin != nil {
		t.Errorf("the refused rollback left a pin: %+v, %v", st.Pin, err)
	}
}
