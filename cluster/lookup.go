package cluster

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// ServicesByID reads the given services in one list call, for watching a
// deploy converge without one inspect per service.
func (d *Docker) ServicesByID(ctx context.Context, ids []string) ([]swarm.Service, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := filters.NewArgs()
	for _, id := range ids {
		args.Add("id", id)
	}
	services, err := d.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: args, Status: true})
	if err != nil {
		return nil, fmt.Errorf("listing %d services: %w", len(ids), err)
	}
	// The id filter matches prefixes too: keep exact matches only.
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := services[:0]
	for _, s := range services {
		if want[s.ID] {
			out = append(out, s)
		}
	}
	return out, nil
}

// SecretIDs maps secret names to IDs in one list call. Names are compared
// exactly (the engine's name filter matches prefixes); a name not found is
// absent from the map.
func (d *Docker) SecretIDs(ctx context.Context, names []string) (map[string]string, error) {
	args := filters.NewArgs()
	for _, n := range names {
		args.Add("name", n)
	}
	list, err := d.api.SecretList(ctx, swarm.SecretListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("looking up secrets %v: %w", names, err)
	}
	return exactIDs(names, list, func(s swarm.Secret) (string, string) { return s.Spec.Name, s.ID }), nil
}

// ConfigIDs maps config names to IDs in one list call, like SecretIDs.
func (d *Docker) ConfigIDs(ctx context.Context, names []string) (map[string]string, error) {
	args := filters.NewArgs()
	for _, n := range names {
		args.Add("name", n)
	}
	list, err := d.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("looking up configs %v: %w", names, err)
	}
	return exactIDs(names, list, func(c swarm.Config) (string, string) { return c.Spec.Name, c.ID }), nil
}

func exactIDs[T any](names []string, list []T, key func(T) (name, id string)) map[string]string {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]string, len(names))
	for _, o := range list {
		if name, id := key(o); want[name] {
			out[name] = id
		}
	}
	return out
}

// NetworkExists inspects a network by ID; a removed one is not found.
func (d *Docker) NetworkExists(ctx context.Context, id string) (bool, error) {
	_, err := d.api.NetworkInspect(ctx, id, network.InspectOptions{})
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("inspecting network %s: %w", id, err)
}

// ConfigsByLabel lists the configs carrying label (a "key" or "key=value"
// filter), data included, in one call.
func (d *Docker) ConfigsByLabel(ctx context.Context, label string) ([]swarm.Config, error) {
	list, err := d.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return nil, fmt.Errorf("listing configs labelled %s: %w", label, err)
	}
	return list, nil
}

// ServiceIDs maps service names to IDs in one list call, like SecretIDs.
func (d *Docker) ServiceIDs(ctx context.Context, names []string) (map[string]string, error) {
	args := filters.NewArgs()
	for _, n := range names {
		args.Add("name", n)
	}
	list, err := d.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("looking up services %v: %w", names, err)
	}
	return exactIDs(names, list, func(s swarm.Service) (string, string) { return s.Spec.Name, s.ID }), nil
}

// NetworkIDs maps network names to IDs in one call: every network is
// listed, because the engine matches swarm networks' names exactly but
// others' by prefix.
func (d *Docker) NetworkIDs(ctx context.Context, names []string) (map[string]string, error) {
	list, err := d.api.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("looking up networks %v: %w", names, err)
	}
	return exactIDs(names, list, func(n network.Summary) (string, string) { return n.Name, n.ID }), nil
}
