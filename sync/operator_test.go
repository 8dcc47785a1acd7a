package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

// fakeRunner records what the loop asks for; a pass of an environment in
// hold blocks until its channel is closed or the pass is cancelled.
type fakeRunner struct {
	cfg *environments.Config

	mu          gosync.Mutex
	listings    map[string]int // repo → Tips calls
	syncs       []string       // "env trigger" in order
	tipsErr     error
	hold        map[string]chan struct{}
	running     int
	maxRunning  int
	interrupted []string
	failures    []string // RecordFailure calls: "env: error"
	panics      map[string]bool
	statusCalls int
}

func newFakeRunner(t *testing.T, envs map[string]*environments.EnvironmentSpec) *fakeRunner {
	cfg := &environments.Config{
		Repos: map[string]*environments.Repo{
			"shop": {Name: "shop", URL: "https://git.example.com/shop.git"},
			"blog": {Name: "blog", URL: "https://git.example.com/blog.git"},
		},
		Environments: envs,
	}
	for name, e := range envs {
		e.Name = name
		if e.Files == nil {
			e.Files = []string{"stack.yml"}
		}
		if e.Stack == "" {
			e.Stack = "s-" + name
		}
		if e.Branch == "" {
			e.Branch = name
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &fakeRunner{cfg: cfg, listings: map[string]int{}, hold: map[string]chan struct{}{}, panics: map[string]bool{}}
}

func (f *fakeRunner) Config() *environments.Config { return f.cfg }

func (f *fakeRunner) Tips(_ context.Context, repo *environments.Repo, refs []string) (map[string]Tip, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listings[repo.Name]++
	if f.tipsErr != nil {
		return nil, f.tipsErr
	}
	tips := map[string]Tip{}
	for _, r := range refs {
		tips[r] = Tip{Revision: Revision{SHA: "abc123", Ref: r}}
	}
	return tips, nil
}

func (f *fakeRunner) Sync(ctx context.Context, env string, o Options) (*Report, error) {
	f.mu.Lock()
	f.syncs = append(f.syncs, fmt.Sprintf("%s %s", env, o.Trigger))
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	if f.panics[env] {
		f.running--
		f.mu.Unlock()
		panic("boom in " + env)
	}
	hold := f.hold[env]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			f.mu.Lock()
			f.interrupted = append(f.interrupted, env)
			f.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	return &Report{Environment: env, Skip: SkipNoChanges, SkipMessage: "no changes"}, nil
}

func (f *fakeRunner) Status(_ context.Context, env string) (*Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusCalls++
	return &Status{Environment: env}, nil
}
func (f *fakeRunner) History(context.Context, string) ([]Record, error) { return nil, nil }
func (f *fakeRunner) Rollback(_ context.Context, env, to string) (*Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, fmt.Sprintf("%s rollback %s", env, to))
	rec := Record{Environment: env, Commit: Revision{SHA: to}, Trigger: TriggerRollback, Outcome: Succeeded}
	return &Report{Environment: env, Commit: rec.Commit, Record: &rec}, nil
}
func (f *fakeRunner) Retire(_ context.Context, env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, env+" retire")
	return nil
}
func (f *fakeRunner) Resume(_ context.Context, env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, env+" resume")
	return nil
}
func (f *fakeRunner) RecordFailure(_ context.Context, env string, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, env+": "+err.Error())
	return nil
}
func (f *fakeRunner) Ready(context.Context) error { return nil }
func (f *fakeRunner) Close() error                { return nil }

func (f *fakeRunner) counts() (listings map[string]int, syncs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := map[string]int{}
	for k, v := range f.listings {
		l[k] = v
	}
	return l, append([]string(nil), f.syncs...)
}

// start runs the operator in the bubble and returns its stop function.
func start(t *testing.T, op *Operator) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- op.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

var noJitter = OperatorOptions{MaxJitter: time.Nanosecond}

func TestOperatorPollsOnScheduleWithOneListingPerRepo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"dev":  {Repo: "shop", Schedule: "@every 1m"},
			"test": {Repo: "shop", Schedule: "@every 1m"},
			"blog": {Repo: "blog", Schedule: "@every 5m"},
		})
		stop := start(t, NewOperator(f, noJitter))
		synctest.Wait()
		listings, syncs := f.counts()
		if listings["shop"] != 1 || listings["blog"] != 1 || len(syncs) != 3 {
			t.Fatalf("at start: listings %v, syncs %v; want one listing per repo and a pass per environment", listings, syncs)
		}
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		listings, syncs = f.counts()
		if listings["shop"] != 2 || listings["blog"] != 1 || len(syncs) != 5 {
			t.Errorf("after 1m: listings %v, syncs %v", listings, syncs)
		}
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		listings, _ = f.counts()
		if listings["shop"] != 6 || listings["blog"] != 2 {
			t.Errorf("after 5m: listings %v, want shop 6 and blog 2", listings)
		}
		stop()
	})
}

func TestOperatorCoalescesTriggersDuringAPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"dev": {Repo: "shop", Schedule: "@every 1h"}})
		f.hold["dev"] = make(chan struct{})
		op := NewOperator(f, noJitter)
		stop := start(t, op)
		synctest.Wait() // the first pass is running, held
		for range 5 {
			if err := op.Trigger("dev", TriggerWebhook, false); err != nil {
				t.Fatal(err)
			}
		}
		close(f.hold["dev"])
		synctest.Wait()
		_, syncs := f.counts()
		want := []string{"dev schedule", "dev webhook"}
		if fmt.Sprint(syncs) != fmt.Sprint(want) {
			t.Errorf("passes %v, want %v: five triggers during a pass make one follow-up", syncs, want)
		}
		if f.maxRunning != 1 {
			t.Errorf("%d passes of one environment ran at once", f.maxRunning)
		}
		if err := op.Trigger("nope", TriggerManual, false); !errors.Is(err, ErrUnknownEnvironment) {
			t.Errorf("Trigger(unknown) = %v", err)
		}
		stop()
	})
}

func TestOperatorBoundsParallelPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		envs := map[string]*environments.EnvironmentSpec{}
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			envs[n] = &environments.EnvironmentSpec{Repo: "shop", Schedule: "@every 1h"}
		}
		f := newFakeRunner(t, envs)
		for n := range envs {
			f.hold[n] = make(chan struct{})
		}
		o := noJitter
		o.Parallel = 2
		stop := start(t, NewOperator(f, o))
		synctest.Wait()
		_, syncs := f.counts()
		if len(syncs) != 2 {
			t.Errorf("%d passes started with Parallel 2", len(syncs))
		}
		for _, h := range f.hold {
			close(h)
		}
		synctest.Wait()
		_, syncs = f.counts()
		if len(syncs) != 5 || f.maxRunning != 2 {
			t.Errorf("passes %v, at most %d at once; want all 5, at most 2 at once", syncs, f.maxRunning)
		}
		stop()
	})
}

func TestOperatorWaitsForSyncWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at 2000-01-01 00:00 UTC.
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"prod": {Repo: "shop", Schedule: "@every 1h",
			SyncWindows: []*environments.SyncWindow{{Kind: environments.Allow, Schedule: "0 9 * * *", Duration: time.Hour}}}})
		op := NewOperator(f, noJitter)
		stop := start(t, op)
		synctest.Wait()
		if _, syncs := f.counts(); len(syncs) != 0 {
			t.Fatalf("passes %v outside the allow window", syncs)
		}
		st, _ := op.Status(t.Context(), "prod")
		if st.Window == "" {
			t.Error("status does not say the environment waits for its window")
		}
		if err := op.Trigger("prod", TriggerWebhook, false); err == nil {
			t.Error("a webhook outside the window was accepted")
		}
		if err := op.Trigger("prod", TriggerManual, true); err != nil {
			t.Errorf("a forced manual sync outside the window: %v", err)
		}
		synctest.Wait()
		time.Sleep(9*time.Hour + time.Millisecond) // ticks at 01:00 … 09:00; only 09:00 is inside
		synctest.Wait()
		_, syncs := f.counts()
		want := []string{"prod manual", "prod schedule"}
		if fmt.Sprint(syncs) != fmt.Sprint(want) {
			t.Errorf("passes %v, want %v", syncs, want)
		}
		stop()
	})
}

func TestOperatorBacksOffAfterErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"dev": {Repo: "shop", Schedule: "@every 5s"}})
		f.tipsErr = errors.New("dial tcp: connection refused")
		var events []PassEvent
		o := noJitter
		o.Observers = []Observer{ObserverFunc(func(e PassEvent) { events = append(events, e) })}
		op := NewOperator(f, o)
		stop := start(t, op)
		time.Sleep(100 * time.Second)
		synctest.Wait()
		listings, _ := f.counts()
		// Failures at 0s, 10s, 30s and 70s: the next try waits 10s, 20s, 40s, 80s.
		if listings["shop"] != 4 {
			t.Errorf("%d listings in 100s of a failing remote polled every 5s, want 4 with backoff", listings["shop"])
		}
		st, _ := op.Status(t.Context(), "dev")
		if st.LastError == "" || st.NextRetry.IsZero() || len(events) != 4 || events[0].Err == nil {
			t.Errorf("status %+v and %d events do not report the failure", st, len(events))
		}
		if len(f.failures) != 4 || !strings.Contains(f.failures[0], "dev: dial tcp") {
			t.Errorf("failures handed to the history: %v, want the four failed polls", f.failures)
		}
		f.mu.Lock()
		f.tipsErr = nil
		f.mu.Unlock()
		time.Sleep(80 * time.Second)
		synctest.Wait()
		if _, syncs := f.counts(); len(syncs) == 0 {
			t.Error("no pass after the remote came back")
		}
		stop()
	})
}

func TestOperatorShutdownLetsPassesFinishWithinGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"quick": {Repo: "shop", Schedule: "@every 1h"},
			"slow":  {Repo: "shop", Schedule: "@every 1h"},
		})
		f.hold["quick"] = make(chan struct{})
		f.hold["slow"] = make(chan struct{})
		var finished []string
		o := noJitter
		o.Grace = 10 * time.Second
		o.Observers = []Observer{ObserverFunc(func(e PassEvent) { finished = append(finished, e.Environment) })}
		stop := start(t, NewOperator(f, o))
		synctest.Wait()
		go func() {
			time.Sleep(3 * time.Second)
			close(f.hold["quick"]) // finishes inside the grace period
		}()
		began := time.Now()
		stop()
		if took := time.Since(began); took != 10*time.Second {
			t.Errorf("shutdown took %s, want the 10s grace", took)
		}
		if fmt.Sprint(f.interrupted) != "[slow]" || len(finished) != 2 {
			t.Errorf("interrupted %v, finished %v: want quick to finish and slow interrupted (and reported)", f.interrupted, finished)
		}
	})
}
