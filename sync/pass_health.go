package sync

import (
	"context"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/environments"
)

// health judges stack from Swarm itself: update states, failing and
// restarting tasks, running against desired, health checks.
func (s *Syncer) health(ctx context.Context, r reader, stack string) (apply.StackHealth, error) {
	svcs, tasks, err := r.StackTasks(ctx, stack)
	if err != nil {
		return apply.StackHealth{}, err
	}
	return apply.Assess(svcs, tasks, s.now()), nil
}

// awaitHealth assesses e's stack; with wait, a Progressing stack is
// watched until it settles or the progress deadline passes (r must then be
// the engine: a snapshot does not change).
func (s *Syncer) awaitHealth(ctx context.Context, r reader, e *environments.Environment, wait bool) (apply.StackHealth, error) {
	deadline := time.Now().Add(progressDeadline(e))
	for {
		h, err := s.health(ctx, r, e.Stack)
		if err != nil || !wait || h.State != apply.Progressing || time.Now().After(deadline) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(s.pollInterval()):
		}
	}
}

func progressDeadline(e *environments.Environment) time.Duration {
	if e.ProgressDeadline > 0 {
		return e.ProgressDeadline
	}
	return 5 * time.Minute
}

func (s *Syncer) pollInterval() time.Duration {
	if s.PollInterval > 0 {
		return s.PollInterval
	}
	return time.Second
}
