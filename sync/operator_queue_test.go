package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
)

// events collects what the observers are told.
type events struct {
	mu  gosync.Mutex
	all []PassEvent
}

func (e *events) PassFinished(ev PassEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) triggers() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		out = append(out, fmt.Sprintf("%s %s", ev.Environment, ev.Trigger))
	}
	return out
}

// startObserved runs an operator over one hourly environment with an
// observer, and waits for its start-up pass.
func startObserved(t *testing.T, env string) (*fakeRunner, *Operator, *events, func()) {
	f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{env: {Repo: "shop", Schedule: "@every 1h"}})
	ev := &events{}
	o := noJitter
	o.Observers = []Observer{ev}
	op := NewOperator(f, o)
	stop := start(t, op)
	synctest.Wait()
	return f, op, ev, stop
}

// A rollback asked for over the API once bypassed the queue, and with it
// the metrics and notifications: it must be reported like any pass.
func TestOperatorReportsRollbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, op, ev, stop := startObserved(t, "prod")
		rep, err := op.Rollback(t.Context(), "prod", "c32cb0a")
		if err != nil || rep.Record == nil || rep.Record.Trigger != TriggerRollback {
			t.Fatalf("Rollback: %+v, %v", rep, err)
		}
		synctest.Wait()
		if got := fmt.Sprint(ev.triggers()); got != "[prod schedule prod rollback]" {
			t.Errorf("observed %s, want the start-up pass and the rollback", got)
		}
		ev.mu.Lock()
		last := ev.all[len(ev.all)-1]
		ev.mu.Unlock()
		if last.Report != rep || last.Quarantine != QuarantineClear {
			t.Errorf("rollback event %+v: want its report and a clear quarantine", last)
		}
		stop()
	})
}

// A rollback during a pass waits its turn instead of being refused, and
// never runs beside the pass.
func TestOperatorRollbackWaitsForThePass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"prod": {Repo: "shop", Schedule: "@every 1h"}})
		f.hold["prod"] = make(chan struct{})
		op := NewOperator(f, noJitter)
		stop := start(t, op)
		synctest.Wait()
		done := make(chan error)
		go func() {
			_, err := op.Rollback(t.Context(), "prod", "c32cb0a")
			done <- err
		}()
		synctest.Wait()
		if _, syncs := f.counts(); fmt.Sprint(syncs) != "[prod schedule]" {
			t.Fatalf("passes %v while the first holds: the rollback must wait", syncs)
		}
		time.Sleep(time.Second)
		close(f.hold["prod"])
		if err := <-done; err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if _, syncs := f.counts(); fmt.Sprint(syncs) != "[prod schedule prod rollback c32cb0a]" {
			t.Errorf("passes %v, want the rollback after the pass", syncs)
		}
		if f.maxRunning != 1 {
			t.Errorf("%d jobs of one environment ran at once", f.maxRunning)
		}
		stop()
	})
}

// Resume lifts the pin in the environment's turn, then syncs from the tip.
func TestOperatorResumeSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, op, ev, stop := startObserved(t, "prod")
		if err := op.Resume(t.Context(), "prod"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, syncs := f.counts(); fmt.Sprint(syncs) != "[prod schedule prod resume prod resume]" {
			t.Errorf("runner calls %v, want the pin lifted then a pass triggered by the resume", syncs)
		}
		if got := fmt.Sprint(ev.triggers()); got != "[prod schedule prod resume]" {
			t.Errorf("observed %s, want the resume's pass reported once", got)
		}
		stop()
	})
}

// A panic in one pass is that pass's failure: it is reported, the
// environment backs off, and the operator goes on with the others.
func TestOperatorSurvivesAPanickingPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"bad":  {Repo: "shop", Schedule: "@every 1m"},
			"good": {Repo: "shop", Schedule: "@every 1m"},
		})
		f.panics["bad"] = true
		ev := &events{}
		o := noJitter
		o.Observers = []Observer{ev}
		op := NewOperator(f, o)
		stop := start(t, op)
		time.Sleep(90 * time.Second)
		synctest.Wait()
		st, err := op.Status(t.Context(), "bad")
		if err != nil || st.LastError != "pass of bad panicked: boom in bad" || st.NextRetry.IsZero() {
			t.Errorf("status of the panicking environment: %+v, %v", st, err)
		}
		good := 0
		for _, e := range ev.all {
			if e.Environment == "good" && e.Err == nil {
				good++
			}
		}
		if good != 2 {
			t.Errorf("%d passes of the healthy environment in 90s of a 1m schedule, want 2", good)
		}
		stop()
	})
}

// Status is served from the last computation for a while, and recomputed
// once a job of the environment finished: a loop of API reads costs no
// Git listing and no engine call.
func TestOperatorServesStatusFromItsCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, op, _, stop := startObserved(t, "prod")
		for range 20 {
			if _, err := op.Status(t.Context(), "prod"); err != nil {
				t.Fatal(err)
			}
		}
		if f.statusCalls != 1 {
			t.Errorf("20 reads computed the status %d times, want once", f.statusCalls)
		}
		time.Sleep(20 * time.Second) // past the TTL
		op.Status(t.Context(), "prod")
		if f.statusCalls != 2 {
			t.Errorf("a read after the TTL: %d computations, want 2", f.statusCalls)
		}
		if err := op.Trigger("prod", TriggerManual, false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		op.Status(t.Context(), "prod")
		if f.statusCalls != 3 {
			t.Errorf("a read after a pass: %d computations, want 3", f.statusCalls)
		}
		stop()
	})
}

// After a failure, webhooks and API syncs wait for the backoff like the
// schedule: a loop of them cannot hammer a broken remote. Forcing goes
// through.
func TestOperatorTriggersRespectTheBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"dev": {Repo: "shop", Schedule: "@every 1h"}})
		f.tipsErr = errors.New("dial tcp: connection refused")
		op := NewOperator(f, noJitter)
		stop := start(t, op)
		synctest.Wait()
		err := op.Trigger("dev", TriggerWebhook, false)
		if _, ok := errors.AsType[*BackoffError](err); !ok {
			t.Errorf("a webhook right after a failure: %v, want a BackoffError", err)
		}
		if err := op.Trigger("dev", TriggerManual, true); err != nil {
			t.Errorf("a forced sync during the backoff: %v", err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if err := op.Trigger("dev", TriggerWebhook, false); err != nil {
			t.Errorf("a webhook after the backoff: %v", err)
		}
		stop()
	})
}

// driftRunner reports drift on the passes its drift slice says.
type driftRunner struct {
	*fakeRunner
	drift []bool
	n     int
}

func (d *driftRunner) Sync(ctx context.Context, env string, o Options) (*Report, error) {
	d.fakeRunner.Sync(ctx, env, o)
	rep := &Report{Environment: env, Stack: "s-" + env, Plan: diff.Plan{Stack: "s-" + env}}
	if d.n < len(d.drift) && d.drift[d.n] {
		rep.Drift = true
		rep.Plan.Changes = []diff.Change{{Kind: diff.KindService, Name: "s-" + env + "_web", Action: diff.ActionUpdate}}
	}
	d.n++
	return rep, nil
}

// Drift is logged at WARN once when it appears and once when it clears,
// not on every tick.
func TestOperatorLogsDriftOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"dev": {Repo: "shop", Schedule: "@every 1m"}})
		r := &driftRunner{fakeRunner: f, drift: []bool{false, true, true, true, false, false}}
		var logs bytes.Buffer
		o := noJitter
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		stop := start(t, NewOperator(r, o))
		time.Sleep(5*time.Minute + 30*time.Second)
		synctest.Wait()
		stop()
		out := logs.String()
		if n := strings.Count(out, "msg=\"drift: "); n != 1 {
			t.Errorf("drift logged %d times over three drifting passes, want once:\n%s", n, out)
		}
		if n := strings.Count(out, "msg=\"drift cleared"); n != 1 || !strings.Contains(out, "level=WARN") {
			t.Errorf("drift cleared logged %d times, want once at WARN:\n%s", n, out)
		}
	})
}

// pinnedRunner's passes all fail on a pin set for another repository.
type pinnedRunner struct{ *fakeRunner }

func (p pinnedRunner) Sync(context.Context, string, Options) (*Report, error) {
	return nil, &PinError{Environment: "prod", Pin: Pin{SHA: "c32cb0a"}, Why: "the pin was set for another repository"}
}

// A pin that cannot be honoured is never silent: /readyz names it.
func TestOperatorReadinessNamesAPinItCannotHonour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"prod": {Repo: "shop", Schedule: "@every 1h"}})
		op := NewOperator(pinnedRunner{f}, noJitter)
		stop := start(t, op)
		synctest.Wait()
		err := op.Ready(t.Context())
		if _, ok := errors.AsType[*PinError](err); !ok {
			t.Errorf("Ready: %v, want the pin named", err)
		}
		stop()
	})
}

// An environment that leaves the configuration stops syncing and keeps its
// stack; one that says prune has its stack removed.
func TestOperatorRetiresOnlyEnvironmentsThatPrune(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prune := true
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"keep":  {Repo: "shop", Schedule: "@every 1h"},
			"prune": {Repo: "shop", Schedule: "@every 1h", Prune: &prune},
			"stay":  {Repo: "shop", Schedule: "@every 1h"},
		})
		op := NewOperator(f, noJitter)
		stop := start(t, op)
		synctest.Wait()
		next := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"stay": {Repo: "shop", Schedule: "@every 1h"}})
		if err := op.Reload(next); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		_, calls := f.counts()
		got := strings.Join(calls, ",")
		if !strings.Contains(got, "prune retire") || strings.Contains(got, "keep retire") || strings.Contains(got, "stay retire") {
			t.Errorf("calls on the old configuration %v: want only the environment with prune retired", calls)
		}
		stop()
	})
}
