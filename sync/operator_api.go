package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

// ErrStopping refuses work once a shutdown began.
var ErrStopping = errors.New("the operator is shutting down")

// WindowError refuses a trigger while env's sync windows hold it.
type WindowError struct{ Environment, Reason string }

func (e *WindowError) Error() string {
	return fmt.Sprintf("environment %s is %s: sync with force to override", e.Environment, e.Reason)
}

// BackoffError refuses a trigger while env backs off after failures.
type BackoffError struct {
	Environment string
	Until       time.Time
	Last        error
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("environment %s backs off after failing (%v) until %s: sync with force to try now",
		e.Environment, e.Last, e.Until.UTC().Format(time.RFC3339))
}

// Trigger queues a pass of env (a webhook, the API). A pass already running
// gets one follow-up, however many triggers arrive meanwhile. Outside its
// sync windows an environment only syncs when a manual trigger forces it.
func (op *Operator) Trigger(env string, t Trigger, force bool) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	e, err := op.runner.Config().Environment(env)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUnknownEnvironment, env)
	}
	if !(t == TriggerManual && force) {
		if open, reason, err := windowState(e.SyncWindows, op.now()); err != nil {
			return err
		} else if !open {
			op.envs[env].window = reason
			return &WindowError{Environment: env, Reason: reason}
		}
	}
	// After failures, webhooks and API calls wait for the backoff like the
	// schedule does — a loop of them must not hammer a broken remote or
	// engine — unless forced.
	if st := op.envs[env]; !force && st != nil && op.now().Before(st.nextRetry) {
		return &BackoffError{Environment: env, Until: st.nextRetry, Last: st.lastErr}
	}
	o := Options{Trigger: t, Force: force, Heal: t == TriggerManual || e.SelfHeal == environments.SelfHealHeal}
	return op.enqueueLocked(env, &job{kind: jobPass, o: o})
}

// Rollback rolls env back and pins it (see Syncer.Rollback). It waits its
// turn like any pass — never two at once — and is reported like one.
// Returning early (ctx ends) does not stop it.
func (op *Operator) Rollback(ctx context.Context, env, to string) (*Report, error) {
	return op.wait(ctx, env, &job{kind: jobRollback, to: to})
}

// Resume lifts env's pin in env's turn, then syncs it from its branch.
// It returns once the pin is gone.
func (op *Operator) Resume(ctx context.Context, env string) error {
	_, err := op.wait(ctx, env, &job{kind: jobResume})
	return err
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

// Status is env's status plus what the loop knows. Working a status out
// costs a Git listing, a render and engine calls, so it is kept for
// StatusTTL (and until env's next job finishes): requests read the copy,
// and concurrent ones share one computation. A flood of API reads never
// reaches the forge or the manager.
func (op *Operator) Status(ctx context.Context, env string) (*Status, error) {
	runner, err := op.current(env)
	if err != nil {
		return nil, err
	}
	op.mu.Lock()
	c := op.statuses[env]
	if c == nil || (c.done() && op.now().Sub(c.at) > op.o.StatusTTL) {
		c = &cachedStatus{ready: make(chan struct{})}
		op.statuses[env] = c
		go func() {
			// Computed for every waiter: one leaving does not cancel it.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			st, err := runner.Status(sctx, env)
			op.mu.Lock()
			c.st, c.err, c.at = st, err, op.now()
			if err != nil && op.statuses[env] == c {
				delete(op.statuses, env) // an error is not kept
			}
			op.mu.Unlock()
			close(c.ready)
		}()
	}
	op.mu.Unlock()
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	s := *c.st
	op.mu.Lock()
	defer op.mu.Unlock()
	if st := op.envs[env]; st != nil {
		s.Window, s.Running, s.NextRetry = st.window, st.running, st.nextRetry
		if st.lastErr != nil {
			s.LastError = st.lastErr.Error()
		}
	}
	return &s, nil
}

// cachedStatus is one computed status, or one being computed.
type cachedStatus struct {
	ready chan struct{}
	st    *Status
	err   error
	at    time.Time
}

func (c *cachedStatus) done() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
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

// Ready reports whether every cluster answers, and names the environments
// whose pin cannot be honoured: they will not deploy until a person acts.
func (op *Operator) Ready(ctx context.Context) error {
	op.mu.Lock()
	r := op.runner
	var pins []error
	for _, name := range slices.Sorted(maps.Keys(op.envs)) {
		if pe, ok := errors.AsType[*PinError](op.envs[name].lastErr); ok {
			pins = append(pins, pe)
		}
	}
	op.mu.Unlock()
	return errors.Join(append([]error{r.Ready(ctx)}, pins...)...)
}

// Config is the configuration in force.
func (op *Operator) Config() *environments.Config {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.runner.Config()
}
