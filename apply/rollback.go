package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
)

// rollback undoes this run: services it updated go back to the exact spec
// they had before (kept here, not Swarm's PreviousSpec, which a no-op update
// or Swarm's own rollback clears), services it created are removed, then the
// networks, secrets and configs it created are removed once nothing uses
// them. It waits for the restored services to run again.
func (r *run) rollback(ctx context.Context) error {
	rolledBack, err := restore(ctx, r.c, r.o.RegistryAuth, r.previous, r.created, watchOptions{
		Deadline: r.o.ProgressDeadline, Monitor: time.Second, Interval: r.o.PollInterval, Progress: r.o.Progress,
		FailureThreshold: r.o.FailureThreshold, Unschedulable: r.o.Unschedulable,
	})
	r.res.RolledBack = append(r.res.RolledBack, rolledBack...)
	slices.Sort(r.res.RolledBack)
	return err
}

// restore is the rollback of a failed Run and of an interrupted deploy's
// recovery (Recover): each service in previous goes back to its spec unless
// it is there already, the created objects go in reverse order — services
// first, then, once the restored services run again, the networks,
// secrets and configs nothing uses any more. It returns the names of what
// it restored or removed. A restored service is sent the credentials auth
// gives for its image (nil sends none). Its progress is labelled a
// rollback's, and the services it removed show as such.
func restore(ctx context.Context, c Cluster, auth cluster.RegistryAuth, previous map[string]previousSpec, created []createdObject, wo watchOptions) ([]string, error) {
	wo.Rollback = true
	var removed []Status
	if progress := wo.Progress; progress != nil {
		wo.Progress = func(statuses []Status) { progress(append(slices.Clip(statuses), removed...)) }
	}
	var errs []error
	var done []string
	var restored []watched
	for id, prev := range previous {
		cur, err := c.InspectService(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		done = append(done, prev.name)
		if sameSpec(cur.Spec, prev.spec) {
			// Swarm's own rollback got there first, or the deploy never
			// sent this update; another update would only bump the
			// version.
			restored = append(restored, watched{id: id, name: prev.name, since: time.Now()})
			continue
		}
		// The previous image may have to be pulled again, on a node that
		// never ran it: send the credentials for it too.
		opts, err := serviceOptions(ctx, auth, prev.spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		since := time.Now()
		if _, err := c.UpdateService(ctx, id, cur.Version, prev.spec, opts); err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		restored = append(restored, watched{id: id, name: prev.name, since: since})
	}
	created = slices.Clone(created)
	slices.Reverse(created)
	for _, o := range created {
		if o.kind != diff.KindService {
			continue
		}
		if err := c.RemoveService(ctx, o.id); err != nil && !cluster.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing service %s created by the failed deploy: %w", o.name, err))
			continue
		}
		done = append(done, o.name)
		removed = append(removed, Status{Service: o.name, Phase: PhaseRemoved, Rollback: true})
	}
	if len(restored) == 0 && len(removed) > 0 && wo.Progress != nil {
		wo.Progress(nil) // nothing to wait for: show the removals
	}
	if len(restored) > 0 {
		if _, err := waitConverged(ctx, c, restored, wo); err != nil {
			errs = append(errs, fmt.Errorf("waiting for the previous specs to run again: %w", err))
		}
	}
	for _, o := range created {
		var remove func(context.Context, string) error
		switch o.kind {
		case diff.KindNetwork:
			remove = func(ctx context.Context, id string) error { return removeNetwork(ctx, c, id) }
		case diff.KindSecret:
			remove = c.RemoveSecret
		case diff.KindConfig:
			remove = c.RemoveConfig
		default:
			continue
		}
		if err := removeWhenUnused(ctx, func(ctx context.Context) error { return remove(ctx, o.id) }); err != nil {
			errs = append(errs, fmt.Errorf("removing %s %s created by the failed deploy: %w", o.kind, o.name, err))
			continue
		}
		done = append(done, o.name)
	}
	slices.Sort(done)
	return done, joinErrs(errs)
}

// sameSpec compares specs as the engine stores them.
func sameSpec(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// removeNetwork removes a network and waits until it is really gone: the
// engine accepts the removal while the tasks of a removed service are still
// attached, and deletes the network only after they left.
func removeNetwork(ctx context.Context, c Cluster, id string) error {
	if err := removeWhenUnused(ctx, func(ctx context.Context) error { return c.RemoveNetwork(ctx, id) }); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	wait := 100 * time.Millisecond
	for {
		exists, err := c.NetworkExists(ctx, id)
		if err != nil || !exists {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("network %s still exists a minute after its removal", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// removeWhenUnused retries a removal the engine refuses while the object is
// in use — the containers of removed or updated tasks take a moment to go.
func removeWhenUnused(ctx context.Context, remove func(context.Context) error) error {
	deadline := time.Now().Add(time.Minute)
	wait := 100 * time.Millisecond
	for {
		err := remove(ctx)
		if err == nil || cluster.IsNotFound(err) {
			return nil
		}
		if !cluster.IsInUse(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
