package sync

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// RemoveStack removes everything stack owns — its plan from nothing to
// what is there deletes exactly that; objects in its scope without its
// labels are left alone and reported in the plan's warnings — then its pin
// and any open journal, so that a new environment deploying a stack of that
// name starts clean. Its history stays. The caller holds the stack's lease.
func RemoveStack(ctx context.Context, d *cluster.Docker, name string, log *slog.Logger) (diff.Plan, *apply.Result, error) {
	live, err := d.ReadStack(ctx, name)
	if err != nil {
		return diff.Plan{}, nil, err
	}
	plan := diff.Compute(&stack.Desired{Stack: name}, live)
	plan.Prune = true
	var res *apply.Result
	if plan.HasChanges() {
		if res, err = apply.Run(ctx, d, plan, apply.Options{Prune: true, Log: log}); err != nil {
			return plan, res, fmt.Errorf("removing stack %s: %w", name, err)
		}
	}
	if err := NewHistory(d, 0).ClearPin(ctx, name); err != nil {
		return plan, res, err
	}
	return plan, res, apply.RemoveJournal(ctx, d, name)
}

// Retire removes env's stack under its lease: env leaves the configuration
// and says prune.
func (s *Syncer) Retire(ctx context.Context, env string) error {
	e, d, hist, err := s.open(ctx, env)
	if err != nil {
		return err
	}
	ctx, unlock, err := s.lock(ctx, e, d, hist)
	if err != nil {
		return err
	}
	defer unlock()
	_, _, err = RemoveStack(ctx, d, e.Stack, s.log.With("env", e.Name))
	return err
}
