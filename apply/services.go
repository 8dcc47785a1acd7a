package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// services creates and updates services concurrently, at most
// Options.Concurrency at once, and returns those to watch.
func (r *run) services(ctx context.Context, changes []diff.Change) ([]watched, error) {
	if err := r.resolveExternal(ctx, changes); err != nil {
		return nil, err
	}
	var (
		wg    gosync.WaitGroup
		mu    gosync.Mutex
		watch []watched
		errs  []error
		sem   = make(chan struct{}, r.o.Concurrency)
	)
	for _, ch := range changes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			w, err := r.service(ctx, ch)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if w != nil {
				watch = append(watch, *w)
			}
		}()
	}
	wg.Wait()
	return watch, joinErrs(errs)
}

// resolveExternal looks up the IDs of secrets and configs that services
// reference but the plan does not carry (external ones), in one call each.
func (r *run) resolveExternal(ctx context.Context, changes []diff.Change) error {
	var secretNames, configNames []string
	for _, ch := range changes {
		cs := ch.Service.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		for _, s := range cs.Secrets {
			if _, ok := r.secretIDs[s.SecretName]; !ok {
				secretNames = append(secretNames, s.SecretName)
			}
		}
		for _, c := range cs.Configs {
			if _, ok := r.configIDs[c.ConfigName]; !ok {
				configNames = append(configNames, c.ConfigName)
			}
		}
	}
	if len(secretNames) > 0 {
		ids, err := r.c.SecretIDs(ctx, secretNames)
		if err != nil {
			return err
		}
		for name, id := range ids {
			r.secretIDs[name] = id
		}
	}
	if len(configNames) > 0 {
		ids, err := r.c.ConfigIDs(ctx, configNames)
		if err != nil {
			return err
		}
		for name, id := range ids {
			r.configIDs[name] = id
		}
	}
	return nil
}

// withIDs returns a copy of the desired spec whose secret and config
// references carry the IDs the engine requires.
func (r *run) withIDs(svc *stack.Service) (swarm.ServiceSpec, error) {
	spec, err := cloneSpec(svc.Spec)
	if err != nil {
		return spec, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		for _, s := range cs.Secrets {
			id, ok := r.secretIDs[s.SecretName]
			if !ok {
				return spec, fmt.Errorf("service %s: secret %s not found", svc.Name, s.SecretName)
			}
			s.SecretID = id
		}
		for _, c := range cs.Configs {
			id, ok := r.configIDs[c.ConfigName]
			if !ok {
				return spec, fmt.Errorf("service %s: config %s not found", svc.Name, c.ConfigName)
			}
			c.ConfigID = id
		}
	}
	return spec, nil
}

// cloneSpec deep-copies a spec, so filling in IDs never changes the plan.
func cloneSpec(in swarm.ServiceSpec) (swarm.ServiceSpec, error) {
	var out swarm.ServiceSpec
	b, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("copying spec: %w", err)
	}
	return out, json.Unmarshal(b, &out)
}

// service sends one create or update and says what to watch.
func (r *run) service(ctx context.Context, ch diff.Change) (*watched, error) {
	spec, err := r.withIDs(ch.Service)
	if err != nil {
		return nil, err
	}
	opts, err := r.serviceOptions(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", ch.Name, err)
	}
	since := time.Now()
	switch ch.Action {
	case diff.ActionCreate:
		id, warnings, err := r.c.CreateService(ctx, spec, opts)
		if err != nil {
			return nil, err
		}
		r.warn(ch.Name, warnings)
		w := &watched{id: id, name: ch.Name, since: since}
		return w, r.recordCreated(ctx, diff.KindService, id, ch.Name)
	case diff.ActionUpdate, diff.ActionReplace:
		return r.update(ctx, ch, spec, opts, since)
	}
	return nil, nil
}

// update sends a service update with the version the plan saw. A concurrent
// change makes the engine answer "update out of sequence": then the service is
// read again and, if it still differs from what we want, updated once more
// from what was read.
func (r *run) update(ctx context.Context, ch diff.Change, spec swarm.ServiceSpec, opts cluster.ServiceOptions, since time.Time) (*watched, error) {
	live := *ch.Live.Spec
	version := ch.Live.Version
	for attempt := 0; ; attempt++ {
		// ForceUpdate is a counter: sending a different one restarts every task.
		spec.TaskTemplate.ForceUpdate = live.TaskTemplate.ForceUpdate
		r.mu.Lock()
		if _, seen := r.previous[ch.Live.ID]; !seen {
			r.previous[ch.Live.ID] = previousSpec{name: ch.Name, spec: live}
		}
		r.mu.Unlock()
		warnings, err := r.c.UpdateService(ctx, ch.Live.ID, version, spec, opts)
		if err == nil {
			r.warn(ch.Name, warnings)
			r.mu.Lock()
			r.res.Updated = append(r.res.Updated, ch.Name)
			r.mu.Unlock()
			return &watched{id: ch.Live.ID, name: ch.Name, since: since}, nil
		}
		if !cluster.IsOutOfSequence(err) || attempt > 0 {
			if cluster.IsOutOfSequence(err) {
				return nil, fmt.Errorf("updating service %s: it changed twice while deploying; run the deploy again: %w", ch.Name, err)
			}
			return nil, err
		}
		cur, ierr := r.c.InspectService(ctx, ch.Live.ID)
		if ierr != nil {
			return nil, fmt.Errorf("re-reading service %s after a concurrent change: %w", ch.Name, ierr)
		}
		if cur.Spec.Labels[stack.LabelSpecHash] == spec.Labels[stack.LabelSpecHash] && spec.Labels[stack.LabelSpecHash] != "" {
			// Someone applied exactly this already: nothing to send.
			return &watched{id: ch.Live.ID, name: ch.Name, since: since}, nil
		}
		r.mu.Lock()
		r.previous[ch.Live.ID] = previousSpec{name: ch.Name, spec: cur.Spec}
		r.mu.Unlock()
		if r.o.Journal != nil {
			js := JournalService{ID: ch.Live.ID, Name: ch.Name, Version: cur.Version.Index, Previous: cur.Spec, SpecHash: spec.Labels[stack.LabelSpecHash]}
			if err := r.o.Journal.Reread(ctx, js); err != nil {
				return nil, fmt.Errorf("recording service %s in the journal: %w", ch.Name, err)
			}
		}
		live, version = cur.Spec, cur.Version
	}
}

// warn passes on what the engine said about a service it accepted, on one
// line.
func (r *run) warn(service string, warnings []string) {
	for _, w := range warnings {
		w = strings.Join(strings.Fields(w), " ")
		if r.o.EngineWarning != nil {
			r.o.EngineWarning(service, w)
			continue
		}
		r.o.Log.Warn("engine warning", "service", service, "warning", w)
	}
}
