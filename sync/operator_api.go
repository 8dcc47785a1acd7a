package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/flotilla-gitops/flotilla/environments"
)

// ErrStopping refuses work once a shutdown began.
var ErrStopping = errors.New("the operator is shutting down")

// WindowError refuses a trigger while env's sync windows hold it.
type WindowError struct{ Environment, Reason string }

func (e *WindowError) Error() string {
	return fmt.Sprintf("environment %s is %s: sync with force to override", e.Environment, e.Reason)
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

// Status is the runner's status of env plus what the loop knows.
func (op *Operator) Status(ctx context.Context, env string) (*Status, error) {
	runner, err := op.current(env)
	if err != nil {
		return nil, err
	}
	s, err := runner.Status(ctx, env)
	if err != nil {
		return nil, err
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if st := op.envs[env]; st != nil {
		s.Window, s.Running, s.NextRetry = st.window, st.running, st.nextRetry
		if st.lastErr != nil {
			s.LastError = st.lastErr.Error()
		}
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
