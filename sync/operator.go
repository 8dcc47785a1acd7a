package sync

import (
	"context"
	"errors"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/environments"
)

// ErrUnknownEnvironment is returned for an environment the configuration
// does not name.
var ErrUnknownEnvironment = errors.New("unknown environment")

// OperatorOptions tune the loop. Zero values take the defaults.
type OperatorOptions struct {
	Log *slog.Logger
	// Parallel bounds the passes running at once (default 4).
	Parallel int
	// Grace is how long a shutdown lets running passes finish their
	// current deploy before interrupting them (default 30s).
	Grace time.Duration
	// MaxJitter delays each scheduled poll by up to this much, so
	// operators started together don't poll in step (default 5s).
	MaxJitter time.Duration
	// PassTimeout bounds one job of an environment — fetch, render, deploy,
	// rollback — so that nothing can hold an environment forever
	// (default 30m).
	PassTimeout time.Duration
	// StatusTTL is how long a computed status is served before it is
	// worked out again (default 15s); a finished job refreshes it sooner.
	StatusTTL time.Duration
	// Observers are told of every finished pass, whatever started it
	// (metrics, notifications, live events); those that are also
	// StartObservers, of every start.
	Observers []Observer
	// Progress, when set, receives the services' convergence while a
	// pass's deploy waits, with the environment's name. It is called from
	// the pass's goroutine: it must not block.
	Progress func(env string, st []apply.Status)
}

// Operator runs every environment's passes: on its schedule, on demand
// (webhooks, the API), never two passes of one environment at once —
// triggers during a pass coalesce into one follow-up — and independent
// environments in parallel, bounded. Every trigger, rollbacks and resumes
// included, goes through one queue per environment and one report.
type Operator struct {
	o   OperatorOptions
	now func() time.Time

	mu     gosync.Mutex
	runner Runner
	cron   *cron.Cron
	// entries are the cron entries polling each environment.
	entries  map[string]cron.EntryID
	envs     map[string]*envState
	statuses map[string]*cachedStatus
	stopping bool

	sem      chan struct{}
	inflight gosync.WaitGroup
	// passCtx is cancelled when the grace period of a shutdown runs out.
	passCtx      context.Context
	cancelPasses context.CancelFunc
}

// envState is what the loop knows of one environment.
type envState struct {
	running bool
	queue   []*job // what runs after the current job, in order
	window  string
	drifted bool // the last pass found drift
	lastErr error
	// failures in a row of automatic passes, and when to try again.
	failures  int
	nextRetry time.Time
}

// NewOperator makes an operator over runner; Run starts it.
func NewOperator(runner Runner, o OperatorOptions) *Operator {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Grace == 0 {
		o.Grace = 30 * time.Second
	}
	if o.StatusTTL == 0 {
		o.StatusTTL = 15 * time.Second
	}
	if o.PassTimeout == 0 {
		o.PassTimeout = 30 * time.Minute
	}
	if o.MaxJitter == 0 {
		o.MaxJitter = 5 * time.Second
	}
	op := &Operator{o: o, now: time.Now, runner: runner, envs: map[string]*envState{}, statuses: map[string]*cachedStatus{}, sem: make(chan struct{}, o.Parallel)}
	op.passCtx, op.cancelPasses = context.WithCancel(context.Background())
	op.setEnvironments(runner.Config())
	return op
}

func (op *Operator) setEnvironments(cfg *environments.Config) {
	keep := map[string]*envState{}
	for _, name := range cfg.EnvironmentNames() {
		if st, ok := op.envs[name]; ok {
			keep[name] = st
		} else {
			keep[name] = &envState{}
		}
	}
	op.envs = keep
}

// Run polls every environment once at start, then on its schedule, until
// ctx ends; then it stops starting passes and waits for the running ones
// (interrupting them after the grace period).
func (op *Operator) Run(ctx context.Context) error {
	op.mu.Lock()
	if err := op.startCron(); err != nil {
		op.mu.Unlock()
		return err
	}
	groups := op.groups()
	op.mu.Unlock()
	for _, g := range groups {
		go op.poll(g, 0)
	}
	<-ctx.Done()
	return op.shutdown()
}

func (op *Operator) shutdown() error {
	op.mu.Lock()
	op.stopping = true
	if op.cron != nil {
		op.cron.Stop()
	}
	op.mu.Unlock()
	done := make(chan struct{})
	go func() { op.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(op.o.Grace):
		op.o.Log.Warn("grace period over: interrupting running passes", "grace", op.o.Grace)
		op.cancelPasses()
		<-done
	}
	op.cancelPasses()
	return op.runner.Close()
}

// Reload swaps in a new configuration and runner (SIGHUP). Passes under way
// finish on the old one.
func (op *Operator) Reload(runner Runner) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.stopping {
		return errors.New("shutting down")
	}
	old, before := op.cron, op.runner
	op.runner = runner
	op.setEnvironments(runner.Config())
	// An environment gone from the configuration stops syncing; its stack
	// stays — unless it said prune, then it goes too, under its lease.
	for _, name := range before.Config().EnvironmentNames() {
		if op.envs[name] != nil {
			continue
		}
		if e, err := before.Config().Environment(name); err == nil && e.Prune {
			op.inflight.Add(1)
			go func() {
				defer op.inflight.Done()
				op.o.Log.Warn("environment removed from the configuration with prune: removing its stack", "env", name, "stack", e.Stack)
				if err := before.Retire(op.passCtx, name); err != nil {
					op.o.Log.Error("removing the stack of a removed environment", "env", name, "stack", e.Stack, "err", err)
				}
			}()
		}
	}
	op.statuses = map[string]*cachedStatus{}
	if err := op.startCron(); err != nil {
		return err
	}
	if old != nil {
		old.Stop()
	}
	return nil
}
