package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
)

// rollback undoes this run: services it updated go back to the exact spec
// they had before (kept here, not Swarm's PreviousSpec, which a no-op update
// or Swarm's own rollback clears), services it created are removed, then the
// networks, secrets and configs it created are removed once nothing uses
// them. It waits for the restored services to run again.
func (r *run) rollback(ctx context.Context) error {
	var errs []error
	var restored []watched
	for id, prev := range r.previous {
		cur, err := r.c.InspectService(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		r.res.RolledBack = append(r.res.RolledBack, prev.name)
		if sameSpec(cur.Spec, prev.spec) {
			// Swarm's own rollback got there first; another update would
			// only bump the version.
			restored = append(restored, watched{id: id, name: prev.name, since: time.Now()})
			continue
		}
		// The previous image may have to be pulled again, on a node that
		// never ran it: send the credentials for it too.
		opts, err := r.serviceOptions(ctx, prev.spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		since := time.Now()
		if _, err := r.c.UpdateService(ctx, id, cur.Version, prev.spec, opts); err != nil {
			errs = append(errs, fmt.Errorf("rolling back service %s: %w", prev.name, err))
			continue
		}
		restored = append(restored, watched{id: id, name: prev.name, since: since})
	}
	// Created objects go in reverse: services first, then what they used.
	created := slices.Clone(r.created)
	slices.Reverse(created)
	for _, o := range created {
		if o.kind != diff.KindService {
			continue
		}
		if err := r.c.RemoveService(ctx, o.id); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing service %s created by the failed deploy: %w", o.name, err))
			continue
		}
		r.res.RolledBack = append(r.res.RolledBack, o.name)
	}
	if len(restored) > 0 {
		if _, err := waitConverged(ctx, r.c, restored, watchOptions{
			Deadline: r.o.ProgressDeadline, Monitor: time.Second, Interval: r.o.PollInterval, Progress: r.o.Progress,
			FailureThreshold: r.o.FailureThreshold,
		}); err != nil {
			errs = append(errs, fmt.Errorf("waiting for the previous specs to run again: %w", err))
		}
	}
	for _, o := range created {
		var remove func(context.Context, string) error
		switch o.kind {
		case diff.KindNetwork:
			remove = func(ctx context.Context, id string) error { return removeNetwork(ctx, r.c, id) }
		case diff.KindSecret:
			remove = r.c.RemoveSecret
		case diff.KindConfig:
			remove = r.c.RemoveConfig
		default:
			continue
		}
		if err := removeWhenUnused(ctx, func(ctx context.Context) error { return remove(ctx, o.id) }); err != nil {
			errs = append(errs, fmt.Errorf("removing %s %s created by the failed deploy: %w", o.kind, o.name, err))
			continue
		}
		r.res.RolledBack = append(r.res.RolledBack, o.name)
	}
	slices.Sort(r.res.RolledBack)
	return joinErrs(errs)
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
		if err == nil || isNotFound(err) {
			return nil
		}
		if !isInUse(err) || time.Now().After(deadline) {
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

func isInUse(err error) bool {
	s := err.Error()
	return strings.Contains(s, "in use") || strings.Contains(s, "active endpoints")
}

func isNotFound(err error) bool {
	s := err.Error()
	return strings.Contains(s, "not found") || strings.Contains(s, "No such")
}
