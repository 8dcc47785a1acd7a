package sync

import (
	"github.com/flotilla-gitops/flotilla/environments"
	"strings"

	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// jobKind is what a queued job does.
type jobKind int

const (
	jobPass jobKind = iota
	// jobRollback deploys an earlier good commit and pins it.
	jobRollback
	// jobResume lifts the pin, then runs a pass from the branch tip.
	jobResume
)

// job is one turn of an environment: every trigger becomes one.
type job struct {
	kind jobKind
	o    Options // jobPass
	to   string  // jobRollback: the target commit, "" for the last good one
	// done receives the result of each waiter, once; passes that coalesce
	// keep every waiter.
	done []chan<- jobResult
}

type jobResult struct {
	rep *Report
	err error
}

func (j *job) trigger() Trigger {
	switch j.kind {
	case jobRollback:
		return TriggerRollback
	case jobResume:
		return TriggerResume
	}
	return j.o.Trigger
}

// enqueueLocked runs j now, or after the jobs of env already queued; op.mu
// is held. A pass coalesces with a pass still waiting: however many
// triggers arrive during a pass, one follow-up runs.
func (op *Operator) enqueueLocked(env string, j *job) error {
	st := op.envs[env]
	switch {
	case st == nil:
		return fmt.Errorf("%w: %s", ErrUnknownEnvironment, env)
	case op.stopping:
		return ErrStopping
	}
	if st.running {
		if n := len(st.queue); j.kind == jobPass && n > 0 && st.queue[n-1].kind == jobPass {
			last := st.queue[n-1]
			last.o.Force = last.o.Force || j.o.Force
			last.o.Heal = last.o.Heal || j.o.Heal
			last.o.Trigger = j.o.Trigger
			last.o.Since = coalescedSince(last.o.Since, j.o.Since)
			last.done = append(last.done, j.done...)
		} else {
			st.queue = append(st.queue, j)
		}
		// A follow-up fetches afresh: a tip seen now may be old by then.
		st.queue[len(st.queue)-1].o.Tip = nil
		return nil
	}
	st.running = true
	op.inflight.Add(1)
	go op.work(env, j)
	return nil
}

// work runs env's jobs until its queue is empty.
func (op *Operator) work(env string, j *job) {
	defer op.inflight.Done()
	op.sem <- struct{}{}
	defer func() { <-op.sem }()
	for j != nil {
		op.mu.Lock()
		runner := op.runner
		op.mu.Unlock()
		started := time.Now()
		op.starting(env, j)
		rep, err := op.execute(runner, env, j)
		op.finish(runner, env, j.trigger(), rep, err, time.Since(started))
		for _, d := range j.done {
			d <- jobResult{rep: rep, err: err}
		}
		if j.kind == jobResume && err == nil {
			// The pin is gone: catch up with the branch now, in the
			// same turn.
			j = &job{kind: jobPass, o: Options{Trigger: TriggerResume, Heal: op.heals(runner, env, TriggerResume)}}
			continue
		}
		op.mu.Lock()
		st := op.envs[env]
		switch {
		case st == nil || op.stopping || len(st.queue) == 0:
			if st != nil {
				st.running = false
				for _, q := range st.queue {
					for _, d := range q.done {
						d <- jobResult{err: ErrStopping}
					}
				}
				st.queue = nil
			}
			j = nil
		default:
			j, st.queue = st.queue[0], st.queue[1:]
		}
		op.mu.Unlock()
	}
}

// execute runs one job; a panic is the job's failure, not the operator's.
func (op *Operator) execute(runner Runner, env string, j *job) (rep *Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			op.o.Log.Error("pass panicked", "env", env, "panic", p, "stack", string(debug.Stack()))
			rep, err = nil, fmt.Errorf("pass of %s panicked: %v", env, p)
		}
	}()
	ctx, cancel := context.WithTimeoutCause(op.passCtx, op.o.PassTimeout,
		fmt.Errorf("the pass of %s ran past the pass timeout (%s)", env, op.o.PassTimeout))
	defer cancel()
	switch j.kind {
	case jobRollback:
		return runner.Rollback(ctx, env, j.to)
	case jobResume:
		return nil, runner.Resume(ctx, env)
	}
	return runner.Sync(ctx, env, j.o)
}

// finish keeps the backoff and tells the observers: the one place a
// finished job is reported.
func (op *Operator) finish(runner Runner, env string, t Trigger, rep *Report, err error, took time.Duration) {
	if t == TriggerResume && rep == nil && err == nil {
		return // the pin is lifted; the pass that follows reports
	}
	op.mu.Lock()
	delete(op.statuses, env) // the next read sees what this job did
	if st := op.envs[env]; st != nil {
		if err != nil && (rep == nil || rep.Record == nil) {
			// Not a recorded deploy failure (those are quarantined): an
			// error to retry, with backoff.
			op.failedLocked(env, err)
		} else {
			st.lastErr, st.failures, st.nextRetry = err, 0, time.Time{}
		}
	}
	op.mu.Unlock()
	e, _ := runner.Config().Environment(env)
	ev := newPassEvent(e, t, rep, err, took)
	op.logDrift(env, ev.Report)
	op.notify(ev)
}

// logDrift says once, at WARN, when env's live stack drifts from the
// deployed commit and once when it no longer does — not on every tick.
func (op *Operator) logDrift(env string, rep *Report) {
	if rep == nil || rep.Plan.Stack == "" {
		return // the pass did not get as far as a plan
	}
	op.mu.Lock()
	st := op.envs[env]
	if st == nil || st.drifted == rep.Drift {
		op.mu.Unlock()
		return
	}
	st.drifted = rep.Drift
	op.mu.Unlock()
	if rep.Drift {
		op.o.Log.Warn("drift: the live stack differs from the deployed commit", "env", env, "stack", rep.Stack,
			"objects", strings.Join(changeLines(rep.Plan), "; "), "healed", rep.Record != nil && !rep.Record.Failed())
		return
	}
	op.o.Log.Warn("drift cleared: the live stack matches the deployed commit again", "env", env, "stack", rep.Stack)
}

func (op *Operator) notify(ev PassEvent) {
	for _, o := range op.o.Observers {
		o.PassFinished(ev)
	}
}

// heals reports whether a pass started by t re-applies a drifted stack.
func (op *Operator) heals(runner Runner, env string, t Trigger) bool {
	if t == TriggerManual {
		return true
	}
	e, err := runner.Config().Environment(env)
	return err == nil && e.SelfHeal == environments.SelfHealHeal
}

// wait queues j for env and waits for its result; leaving early (ctx ends)
// does not cancel the job.
func (op *Operator) wait(ctx context.Context, env string, j *job) (*Report, error) {
	done := make(chan jobResult, 1)
	j.done = append(j.done, done)
	op.mu.Lock()
	err := op.enqueueLocked(env, j)
	op.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		return r.rep, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
