package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	gosync "sync"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// ReadStackCalls is the number of Engine API calls ReadStack makes, whatever
// the size of the stack — plus one inspect for each swarm-level network a
// service uses that no list returns (in practice only "host").
const ReadStackCalls = 7

// ReadStack reads the live objects of a stack with a constant number of list
// calls (ReadStackCalls), sent at once: per kind one list filtered by the
// namespace label and one by name prefix, except networks, listed once in
// full because the engine matches overlay network names exactly, not by
// prefix. Name filters match prefixes, so names are compared exactly here.
func (d *Docker) ReadStack(ctx context.Context, name string) (*stack.Live, error) {
	return d.readStack(ctx, name, true, nil)
}

// ReadStackNamed reads what ReadStack reads, except that the stack's
// services are listed by name prefix only. On a manager with thousands of
// services a list filtered by label copies every service of the swarm
// (~50 ms for 4000): it is the slowest read of a deploy, while the name
// prefix is an index. The services labelled for the stack under a name out
// of its scope — only `docker service create --label` makes those — are
// misnamed: their IDs, known from an earlier read of the whole cluster
// (Snapshot.AllMisnamed), are inspected afresh, one call each.
func (d *Docker) ReadStackNamed(ctx context.Context, name string, misnamed []string) (*stack.Live, error) {
	return d.readStack(ctx, name, false, misnamed)
}

func (d *Docker) readStack(ctx context.Context, name string, servicesByLabel bool, misnamed []string) (*stack.Live, error) {
	byLabel := filters.NewArgs(filters.Arg("label", stack.LabelNamespace+"="+name))
	byName := filters.NewArgs(filters.Arg("name", name+"_"))
	live := &stack.Live{Stack: name}

	// The lists are independent: sent at once, they cost one round trip,
	// which on a manager with thousands of objects is most of a deploy's
	// wait before its first write.
	var (
		wg                                     gosync.WaitGroup
		labelled, named                        []swarm.Service
		secLabelled, secNamed                  []swarm.Secret
		cfgLabelled, cfgNamed                  []swarm.Config
		nets                                   []network.Summary
		errSvc, errSvcN, errSec, errSecN, errC error
		errCN, errNet                          error
	)
	if servicesByLabel {
		wg.Go(func() { labelled, errSvc = d.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: byLabel}) })
	} else {
		wg.Go(func() { labelled, errSvc = d.inspectLabelled(ctx, name, misnamed) })
	}
	wg.Go(func() { named, errSvcN = d.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: byName}) })
	wg.Go(func() { secLabelled, errSec = d.api.SecretList(ctx, swarm.SecretListOptions{Filters: byLabel}) })
	wg.Go(func() { secNamed, errSecN = d.api.SecretList(ctx, swarm.SecretListOptions{Filters: byName}) })
	wg.Go(func() { cfgLabelled, errC = d.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: byLabel}) })
	wg.Go(func() { cfgNamed, errCN = d.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: byName}) })
	wg.Go(func() { nets, errNet = d.api.NetworkList(ctx, network.ListOptions{}) })
	wg.Wait()
	for _, e := range []struct {
		err  error
		what string
	}{
		{errSvc, "listing services of stack " + name}, {errSvcN, "listing services named " + name + "_*"},
		{errSec, "listing secrets of stack " + name}, {errSecN, "listing secrets named " + name + "_*"},
		{errC, "listing configs of stack " + name}, {errCN, "listing configs named " + name + "_*"},
		{errNet, "listing networks for stack " + name},
	} {
		if e.err != nil {
			return nil, fmt.Errorf("%s: %w", e.what, e.err)
		}
	}
	live.Services = merge(labelled, named, name, func(s swarm.Service) (string, string, map[string]string) {
		return s.ID, s.Spec.Name, s.Spec.Labels
	})
	live.Secrets = merge(secLabelled, secNamed, name, func(s swarm.Secret) (string, string, map[string]string) {
		return s.ID, s.Spec.Name, s.Spec.Labels
	})
	live.Configs = merge(cfgLabelled, cfgNamed, name, func(c swarm.Config) (string, string, map[string]string) {
		return c.ID, c.Spec.Name, c.Spec.Labels
	})

	live.NetworkNames = make(map[string]string, len(nets))
	for _, n := range nets {
		live.NetworkNames[n.ID] = n.Name
		ns, labelled := n.Labels[stack.LabelNamespace]
		if ns == name || (!labelled && InScope(name, n.Name)) {
			live.Networks = append(live.Networks, n)
		}
	}
	sort.Slice(live.Networks, func(i, j int) bool { return live.Networks[i].Name < live.Networks[j].Name })
	// The swarm-level "host" network that services attach to by name has
	// an ID of its own that no network list returns (engine 20.10), only
	// inspect: without its name, a service on it would always differ.
	for _, s := range live.Services {
		for _, att := range s.Spec.TaskTemplate.Networks {
			if _, known := live.NetworkNames[att.Target]; known {
				continue
			}
			n, err := d.api.NetworkInspect(ctx, att.Target, network.InspectOptions{})
			if err != nil {
				return nil, fmt.Errorf("inspecting network %s of service %s: %w", att.Target, s.Spec.Name, err)
			}
			live.NetworkNames[att.Target] = n.Name
		}
	}
	return live, nil
}

// inspectLabelled reads the services of ids that still carry the stack's
// namespace label; those gone or relabelled since are left out.
func (d *Docker) inspectLabelled(ctx context.Context, name string, ids []string) ([]swarm.Service, error) {
	var out []swarm.Service
	for _, id := range ids {
		s, _, err := d.api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspecting service %s: %w", id, err)
		}
		if s.Spec.Labels[stack.LabelNamespace] == name {
			out = append(out, s)
		}
	}
	return out, nil
}

// InScope reports whether an object name is in a stack's scope, as
// `docker stack deploy` names objects: "<stack>_<name>".
func InScope(stackName, objectName string) bool {
	return strings.HasPrefix(objectName, stackName+"_") && len(objectName) > len(stackName)+1
}

// merge joins the label-filtered list with the name-filtered one, keeping of
// the latter only the objects truly in scope (the filter matches any prefix:
// "shop_" also matches a stack "shop_v2"'s objects labelled for that other
// stack, which are not ours).
func merge[T any](labelled, named []T, stackName string, key func(T) (id, name string, labels map[string]string)) []T {
	seen := make(map[string]bool, len(labelled))
	out := make([]T, 0, len(labelled))
	for _, o := range labelled {
		id, _, _ := key(o)
		seen[id] = true
		out = append(out, o)
	}
	for _, o := range named {
		id, objName, labels := key(o)
		if seen[id] || !InScope(stackName, objName) {
			continue
		}
		if ns, ok := labels[stack.LabelNamespace]; ok && ns != stackName {
			continue // another stack's object that happens to share our prefix
		}
		if st, ok := labels[stack.LabelStack]; ok && st != stackName {
			continue
		}
		seen[id] = true
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		_, a, _ := key(out[i])
		_, b, _ := key(out[j])
		return a < b
	})
	return out
}
