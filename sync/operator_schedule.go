package sync

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/flotilla-gitops/flotilla/environments"
)

// group is the environments that share a repository and a schedule: one
// poll lists the repository once for all of them.
type group struct {
	repo     *environments.Repo
	schedule string
	envs     []*environments.Environment
}

func (op *Operator) groups() []group {
	cfg := op.runner.Config()
	byKey := map[[2]string]*group{}
	var keys [][2]string
	for _, name := range cfg.EnvironmentNames() {
		e, err := cfg.Environment(name)
		if err != nil {
			continue // Validate reported it; nothing to schedule
		}
		k := [2]string{e.Repo.Name, e.Schedule}
		if byKey[k] == nil {
			byKey[k] = &group{repo: e.Repo, schedule: e.Schedule}
			keys = append(keys, k)
		}
		byKey[k].envs = append(byKey[k].envs, e)
	}
	out := make([]group, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

// startCron (re)creates the schedule; op.mu is held.
func (op *Operator) startCron() error {
	c := cron.New(cron.WithLocation(time.UTC), cron.WithParser(cronParser),
		cron.WithChain(cron.Recover(cron.DiscardLogger), cron.SkipIfStillRunning(cron.DiscardLogger)))
	for _, g := range op.groups() {
		if _, err := c.AddFunc(g.schedule, func() { op.poll(g, op.o.MaxJitter) }); err != nil {
			return err
		}
	}
	op.cron = c
	c.Start()
	return nil
}

// poll is one scheduled tick of a group: after a random delay, the
// environments that may sync now have their repository listed once (and
// fetched where it moved), then a pass each. A tick that finds nothing new
// costs that one listing and no Docker writes.
func (op *Operator) poll(g group, jitter time.Duration) {
	if jitter > 0 {
		time.Sleep(rand.N(jitter))
	}
	op.mu.Lock()
	if op.stopping {
		op.mu.Unlock()
		return
	}
	now := op.now()
	var due []*environments.Environment
	for _, e := range g.envs {
		st := op.envs[e.Name]
		if st == nil || now.Before(st.nextRetry) {
			continue
		}
		open, reason, err := windowState(e.SyncWindows, now)
		if err != nil || !open {
			st.window = reason
			continue
		}
		st.window = ""
		due = append(due, e)
	}
	runner := op.runner
	op.mu.Unlock()
	if len(due) == 0 {
		return
	}
	refs := make([]string, 0, len(due))
	for _, e := range due {
		refs = append(refs, e.Ref)
	}
	started := time.Now()
	tips, listErr := runner.Tips(op.passCtx, g.repo, refs)
	for _, e := range due {
		if err := failureOf(listErr, tips[e.Ref]); err != nil {
			if rerr := runner.RecordFailure(op.passCtx, e.Name, err); rerr != nil {
				op.o.Log.Warn("recording a failed pass", "env", e.Name, "err", rerr)
			}
		}
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, e := range due {
		tip := tips[e.Ref]
		if err := failureOf(listErr, tip); err != nil {
			op.failedLocked(e.Name, err)
			if op.o.OnPass != nil {
				op.o.OnPass(PassEvent{Environment: e.Name, Stack: e.Stack, SelfHeal: e.SelfHeal, Err: err, Took: time.Since(started)})
			}
			continue
		}
		rev := tip.Revision
		op.enqueueLocked(e.Name, Options{Trigger: TriggerSchedule, Tip: &rev, Heal: e.SelfHeal == environments.SelfHealHeal})
	}
}

// failureOf is why env's pass can't start: the listing failed for the
// whole repository, or its ref failed.
func failureOf(listErr error, tip Tip) error {
	if listErr != nil {
		return listErr
	}
	return tip.Err
}

// failedLocked backs an environment's automatic passes off after an error:
// 10s, 20s, 40s… up to 5m, so a broken remote is not hammered.
func (op *Operator) failedLocked(env string, err error) {
	st := op.envs[env]
	if st == nil {
		return
	}
	st.lastErr = err
	st.failures++
	backoff := min(10*time.Second<<min(st.failures-1, 10), 5*time.Minute)
	st.nextRetry = op.now().Add(backoff)
	op.o.Log.Warn("pass failed", "env", env, "err", err, "retry_in", backoff)
}

// enqueueLocked starts a pass of env, or folds o into the follow-up of the
// pass already running; op.mu is held.
func (op *Operator) enqueueLocked(env string, o Options) {
	st := op.envs[env]
	if st == nil || op.stopping {
		return
	}
	if st.running {
		if st.pending == nil {
			st.pending = &o
		} else {
			st.pending.Force = st.pending.Force || o.Force
			st.pending.Heal = st.pending.Heal || o.Heal
			st.pending.Trigger = o.Trigger
		}
		// The follow-up fetches afresh: a tip seen now may be old by then.
		st.pending.Tip = nil
		return
	}
	st.running = true
	op.inflight.Add(1)
	go op.run(env, o)
}

// run executes passes of env until no follow-up is pending.
func (op *Operator) run(env string, o Options) {
	defer op.inflight.Done()
	op.sem <- struct{}{}
	defer func() { <-op.sem }()
	for {
		op.mu.Lock()
		runner := op.runner
		op.mu.Unlock()
		started := time.Now()
		rep, err := runner.Sync(op.passCtx, env, o)
		took := time.Since(started)

		op.mu.Lock()
		st := op.envs[env]
		if st != nil {
			if err != nil && (rep == nil || rep.Record == nil) {
				// Not a recorded deploy failure (those are quarantined): an
				// error to retry, with backoff.
				op.failedLocked(env, err)
			} else {
				st.lastErr, st.failures, st.nextRetry = err, 0, time.Time{}
			}
		}
		if op.o.OnPass != nil {
			ev := PassEvent{Environment: env, Report: rep, Err: err, Took: took}
			if e, cerr := runner.Config().Environment(env); cerr == nil {
				ev.Stack, ev.SelfHeal = e.Stack, e.SelfHeal
			}
			op.o.OnPass(ev)
		}
		if st == nil || st.pending == nil || op.stopping {
			if st != nil {
				st.running, st.pending = false, nil
			}
			op.mu.Unlock()
			return
		}
		o, st.pending = *st.pending, nil
		op.mu.Unlock()
	}
}

// Environments lists the configured environments, sorted.
func (op *Operator) Environments() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	names := make([]string, 0, len(op.envs))
	for n := range op.envs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Status is the runner's status of env plus what the loop knows.
func (op *Operator) Status(ctx context.Context, env string) (*Status, error) {
	op.mu.Lock()
	runner, st := op.runner, op.envs[env]
	op.mu.Unlock()
	if st == nil {
		return nil, ErrUnknownEnvironment
	}
	s, err := runner.Status(ctx, env)
	if err != nil {
		return nil, err
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	s.Window, s.Running, s.NextRetry = st.window, st.running, st.nextRetry
	if st.lastErr != nil {
		s.LastError = st.lastErr.Error()
	}
	return s, nil
}

func (op *Operator) current(env string) (Runner, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.envs[env] == nil {
		return nil, ErrUnknownEnvironment
	}
	return op.runner, nil
}

// History returns env's records, oldest first.
func (op *Operator) History(ctx context.Context, env string) ([]Record, error) {
	r, err := op.current(env)
	if err != nil {
		return nil, err
	}
	return r.History(ctx, env)
}

// ErrBusy is returned when an environment's pass is running and the
// request would need a pass of its own.
var ErrBusy = errors.New("a pass of this environment is running; try again when it is done")

// Rollback rolls env back and pins it (see Syncer.Rollback). It takes the
// environment's turn like a pass: never two at once.
func (op *Operator) Rollback(ctx context.Context, env, to string) (*Report, error) {
	op.mu.Lock()
	st, r := op.envs[env], op.runner
	switch {
	case st == nil:
		op.mu.Unlock()
		return nil, ErrUnknownEnvironment
	case st.running:
		op.mu.Unlock()
		return nil, ErrBusy
	}
	st.running = true
	op.inflight.Add(1)
	op.mu.Unlock()
	defer op.inflight.Done()

	rep, err := r.Rollback(ctx, env, to)

	op.mu.Lock()
	defer op.mu.Unlock()
	st.running = false
	if p := st.pending; p != nil && !op.stopping {
		st.pending = nil
		op.enqueueLocked(env, *p)
	}
	return rep, err
}

// Resume lifts env's pin.
func (op *Operator) Resume(ctx context.Context, env string) error {
	r, err := op.current(env)
	if err != nil {
		return err
	}
	return r.Resume(ctx, env)
}

// Ready reports whether every cluster answers.
func (op *Operator) Ready(ctx context.Context) error {
	op.mu.Lock()
	r := op.runner
	op.mu.Unlock()
	return r.Ready(ctx)
}

// Config is the configuration in force.
func (op *Operator) Config() *environments.Config {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.runner.Config()
}
