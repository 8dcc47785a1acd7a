package apply

import (
	"context"
	"fmt"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
)

// prune removes what the plan deletes, after the stack converged: services
// first, then the networks, secrets and configs they no longer use (the
// plan lists deletes in that order). Without Options.Prune only superseded
// versions of secrets and configs go: the deploy that replaced them
// succeeded, and nothing else names them.
func (r *run) prune(ctx context.Context) error {
	var errs []error
	for _, ch := range r.plan.Changes {
		if ch.Action != diff.ActionDelete || !(r.o.Prune || ch.Superseded) {
			continue
		}
		var err error
		switch ch.Kind {
		case diff.KindService:
			err = r.c.RemoveService(ctx, ch.Live.ID)
			if err != nil && cluster.IsNotFound(err) {
				err = nil
			}
		case diff.KindNetwork:
			err = removeNetwork(ctx, r.c, ch.Live.ID)
		case diff.KindSecret:
			err = removeWhenUnused(ctx, func(ctx context.Context) error { return r.c.RemoveSecret(ctx, ch.Live.ID) })
		case diff.KindConfig:
			err = removeWhenUnused(ctx, func(ctx context.Context) error { return r.c.RemoveConfig(ctx, ch.Live.ID) })
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing %s %s: %w", ch.Kind, ch.Name, err))
			continue
		}
		r.o.Log.Debug("pruned", "kind", ch.Kind, "name", ch.Name, "id", ch.Live.ID)
		r.res.Removed = append(r.res.Removed, ch.Name)
	}
	return joinErrs(errs)
}
