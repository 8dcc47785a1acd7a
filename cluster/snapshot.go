package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// SnapshotCalls is the number of Engine API calls ReadSnapshot makes,
// whatever the number of stacks and services on the cluster — plus one
// inspect for each swarm-level network a service uses that no list returns
// (in practice only "host").
const SnapshotCalls = 5

// Snapshot is every object on a cluster that a reconcile pass reads —
// services with their task counts, tasks, networks, secrets, configs — read
// once with a constant number of list calls, so that the passes of many
// stacks share one read instead of making seven each. What it answers is
// what ReadStack, StackTasks and ConfigsByLabel answer, as of Started.
//
// A snapshot is for deciding that there is nothing to do: a writer re-reads
// what it writes against from the engine, under the stack's lease.
type Snapshot struct {
	// Started is when the read began: every change the engine had made
	// by then is in the snapshot.
	Started time.Time

	services     []swarm.Service
	tasks        map[string][]swarm.Task // by service ID
	networks     []network.Summary
	networkNames map[string]string
	secrets      []swarm.Secret
	configs      []swarm.Config

	// Indexes by namespace label, and the objects in no stack's namespace
	// (only those can be in a stack's scope by name alone).
	servicesBy, secretsBy, configsBy          map[string][]int
	looseServices, looseSecrets, looseConfigs []int
	configLabels                              map[string][]int // "key" and "key=value" → configs
}

// ReadSnapshot reads the cluster's services, tasks, networks, secrets and
// configs, with SnapshotCalls list calls made at once.
func (d *Docker) ReadSnapshot(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{Started: time.Now()}
	var (
		wg                                      gosync.WaitGroup
		errServices, errTasks, errNets, errSecs error
		errCfgs                                 error
		tasks                                   []swarm.Task
	)
	wg.Go(func() {
		s.services, errServices = d.api.ServiceList(ctx, swarm.ServiceListOptions{Status: true})
	})
	wg.Go(func() { tasks, errTasks = d.api.TaskList(ctx, swarm.TaskListOptions{}) })
	wg.Go(func() { s.networks, errNets = d.api.NetworkList(ctx, network.ListOptions{}) })
	wg.Go(func() { s.secrets, errSecs = d.api.SecretList(ctx, swarm.SecretListOptions{}) })
	wg.Go(func() { s.configs, errCfgs = d.api.ConfigList(ctx, swarm.ConfigListOptions{}) })
	wg.Wait()
	for _, e := range []struct {
		what string
		err  error
	}{{"services", errServices}, {"tasks", errTasks}, {"networks", errNets}, {"secrets", errSecs}, {"configs", errCfgs}} {
		if e.err != nil {
			return nil, fmt.Errorf("reading the cluster: listing %s: %w", e.what, e.err)
		}
	}
	s.tasks = make(map[string][]swarm.Task, len(s.services))
	for _, t := range tasks {
		s.tasks[t.ServiceID] = append(s.tasks[t.ServiceID], t)
	}
	s.networkNames = make(map[string]string, len(s.networks))
	for _, n := range s.networks {
		s.networkNames[n.ID] = n.Name
	}
	// As in ReadStack: the swarm-level "host" network has an ID no list
	// returns, only inspect; each such ID is inspected once.
	for _, svc := range s.services {
		for _, att := range svc.Spec.TaskTemplate.Networks {
			if _, known := s.networkNames[att.Target]; known {
				continue
			}
			n, err := d.api.NetworkInspect(ctx, att.Target, network.InspectOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading the cluster: inspecting network %s of service %s: %w", att.Target, svc.Spec.Name, err)
			}
			s.networkNames[att.Target] = n.Name
		}
	}
	s.servicesBy, s.looseServices = byNamespace(s.services, func(o swarm.Service) map[string]string { return o.Spec.Labels })
	s.secretsBy, s.looseSecrets = byNamespace(s.secrets, func(o swarm.Secret) map[string]string { return o.Spec.Labels })
	s.configsBy, s.looseConfigs = byNamespace(s.configs, func(o swarm.Config) map[string]string { return o.Spec.Labels })
	s.configLabels = map[string][]int{}
	for i, c := range s.configs {
		for k, v := range c.Spec.Labels {
			s.configLabels[k] = append(s.configLabels[k], i)
			s.configLabels[k+"="+v] = append(s.configLabels[k+"="+v], i)
		}
	}
	return s, nil
}

// byNamespace indexes objects by their stack namespace label; those without
// one are returned apart.
func byNamespace[T any](objects []T, labels func(T) map[string]string) (map[string][]int, []int) {
	by := map[string][]int{}
	var loose []int
	for i, o := range objects {
		if ns, ok := labels(o)[stack.LabelNamespace]; ok {
			by[ns] = append(by[ns], i)
		} else {
			loose = append(loose, i)
		}
	}
	return by, loose
}

// ReadStack is what (*Docker).ReadStack returned for the stack when the
// snapshot was read: the objects labelled with its namespace, those named
// in its scope that carry no other stack's label, and every network's name.
// The services carry their task counts (ServiceStatus) besides. The slices
// are the caller's; NetworkNames is shared and must not be changed.
func (s *Snapshot) ReadStack(_ context.Context, name string) (*stack.Live, error) {
	live := &stack.Live{Stack: name, NetworkNames: s.networkNames}
	live.Services = pick(s.services, s.servicesBy[name], s.looseServices, name, func(o swarm.Service) (string, map[string]string) {
		return o.Spec.Name, o.Spec.Labels
	})
	live.Secrets = pick(s.secrets, s.secretsBy[name], s.looseSecrets, name, func(o swarm.Secret) (string, map[string]string) {
		return o.Spec.Name, o.Spec.Labels
	})
	live.Configs = pick(s.configs, s.configsBy[name], s.looseConfigs, name, func(o swarm.Config) (string, map[string]string) {
		return o.Spec.Name, o.Spec.Labels
	})
	for _, n := range s.networks {
		ns, labelled := n.Labels[stack.LabelNamespace]
		if ns == name || (!labelled && InScope(name, n.Name)) {
			live.Networks = append(live.Networks, n)
		}
	}
	slices.SortFunc(live.Networks, func(a, b network.Summary) int { return strings.Compare(a.Name, b.Name) })
	return live, nil
}

// pick is merge's choice made from the indexes: the stack's labelled
// objects, and the unlabelled ones named in its scope whose Flotilla stack
// label, if any, is this stack's.
func pick[T any](all []T, labelled, loose []int, stackName string, key func(T) (string, map[string]string)) []T {
	out := make([]T, 0, len(labelled))
	for _, i := range labelled {
		out = append(out, all[i])
	}
	for _, i := range loose {
		name, labels := key(all[i])
		if !InScope(stackName, name) {
			continue
		}
		if st, ok := labels[stack.LabelStack]; ok && st != stackName {
			continue
		}
		out = append(out, all[i])
	}
	slices.SortFunc(out, func(a, b T) int {
		na, _ := key(a)
		nb, _ := key(b)
		return strings.Compare(na, nb)
	})
	return out
}

// AllMisnamed lists, by stack, the IDs of the services labelled for the
// stack whose names the engine's name filter for it ("<stack>_") does not
// match: what ReadStackNamed needs to read what ReadStack reads. A small
// index, it outlives the snapshot.
func (s *Snapshot) AllMisnamed() map[string][]string {
	out := map[string][]string{}
	for ns, idx := range s.servicesBy {
		for _, i := range idx {
			if !strings.HasPrefix(s.services[i].Spec.Name, ns+"_") {
				out[ns] = append(out[ns], s.services[i].ID)
			}
		}
	}
	return out
}

// StackTasks is what (*Docker).StackTasks returned for the stack: its
// labelled services with their task counts, and their tasks.
func (s *Snapshot) StackTasks(_ context.Context, name string) ([]swarm.Service, []swarm.Task, error) {
	idx := s.servicesBy[name]
	if len(idx) == 0 {
		return nil, nil, nil
	}
	services := make([]swarm.Service, 0, len(idx))
	var tasks []swarm.Task
	for _, i := range idx {
		services = append(services, s.services[i])
		tasks = append(tasks, s.tasks[s.services[i].ID]...)
	}
	return services, tasks, nil
}

// ConfigsByLabel is what (*Docker).ConfigsByLabel returned: the configs
// carrying label, a "key" or "key=value" filter as the engine takes it.
func (s *Snapshot) ConfigsByLabel(_ context.Context, label string) ([]swarm.Config, error) {
	idx := s.configLabels[label]
	out := make([]swarm.Config, 0, len(idx))
	for _, i := range idx {
		out = append(out, s.configs[i])
	}
	return out, nil
}

// Services is the number of services in the snapshot.
func (s *Snapshot) Services() int { return len(s.services) }
