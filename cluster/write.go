package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// The write side: one thin wrapper per Engine API call that apply needs. They
// decide nothing; each error names the object.

// CreateNetwork creates a network and returns its ID.
func (d *Docker) CreateNetwork(ctx context.Context, name string, opts network.CreateOptions) (string, error) {
	resp, err := d.api.NetworkCreate(ctx, name, opts)
	if err != nil {
		return "", fmt.Errorf("creating network %s: %w", name, err)
	}
	return resp.ID, nil
}

// RemoveNetwork removes a network by ID or name; it fails while in use.
func (d *Docker) RemoveNetwork(ctx context.Context, id string) error {
	if err := d.api.NetworkRemove(ctx, id); err != nil {
		return fmt.Errorf("removing network %s: %w", id, err)
	}
	// A removed swarm network is still listed for a moment (engine 20.10):
	// a deploy that read the stack then would plan no network and fail
	// creating its services ("network … not found"). Return once it is
	// gone, or after networkGoneWait: the engine has accepted the removal.
	ctx, cancel := context.WithTimeout(ctx, networkGoneWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := d.api.NetworkInspect(ctx, id, network.InspectOptions{}); err != nil {
			return nil // gone (or the engine cannot say: it accepted the removal)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// networkGoneWait bounds RemoveNetwork's wait for a removed network to be
// gone.
const networkGoneWait = 30 * time.Second

// CreateSecret creates a secret and returns its ID.
func (d *Docker) CreateSecret(ctx context.Context, spec swarm.SecretSpec) (string, error) {
	resp, err := d.api.SecretCreate(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("creating secret %s: %w", spec.Name, err)
	}
	return resp.ID, nil
}

// UpdateSecret changes a secret's labels; the engine refuses any other
// change. Leave spec.Data nil: the engine can't return it, and a nil Data
// means "unchanged".
func (d *Docker) UpdateSecret(ctx context.Context, id string, version swarm.Version, spec swarm.SecretSpec) error {
	if err := d.api.SecretUpdate(ctx, id, version, spec); err != nil {
		return fmt.Errorf("updating secret %s: %w", spec.Name, err)
	}
	return nil
}

// RemoveSecret removes a secret by ID; it fails while a service uses it.
func (d *Docker) RemoveSecret(ctx context.Context, id string) error {
	if err := d.api.SecretRemove(ctx, id); err != nil {
		return fmt.Errorf("removing secret %s: %w", id, err)
	}
	return nil
}

// CreateConfig creates a config and returns its ID.
func (d *Docker) CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error) {
	resp, err := d.api.ConfigCreate(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("creating config %s: %w", spec.Name, err)
	}
	return resp.ID, nil
}

// UpdateConfig changes a config's labels, like UpdateSecret.
func (d *Docker) UpdateConfig(ctx context.Context, id string, version swarm.Version, spec swarm.ConfigSpec) error {
	if err := d.api.ConfigUpdate(ctx, id, version, spec); err != nil {
		return fmt.Errorf("updating config %s: %w", spec.Name, err)
	}
	return nil
}

// RemoveConfig removes a config by ID; it fails while a service uses it.
func (d *Docker) RemoveConfig(ctx context.Context, id string) error {
	if err := d.api.ConfigRemove(ctx, id); err != nil {
		return fmt.Errorf("removing config %s: %w", id, err)
	}
	return nil
}

// ServiceOptions go with a service create or update.
type ServiceOptions struct {
	// EncodedAuth is the X-Registry-Auth value (see EncodedAuth): registry
	// credentials the engine keeps with the service so that every node can
	// pull its image. Empty sends none; an update then keeps the ones the
	// service has.
	EncodedAuth secrets.Value
}

// CreateService creates a service and returns its ID and the engine's
// warnings. The spec must reference secrets and configs by ID as well as
// name. The image is sent as it is: resolving tags to digests is PinImages'
// job, before the plan.
func (d *Docker) CreateService(ctx context.Context, spec swarm.ServiceSpec, opts ServiceOptions) (string, []string, error) {
	resp, err := d.api.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{EncodedRegistryAuth: string(opts.EncodedAuth.Bytes())})
	if err != nil {
		return "", nil, fmt.Errorf("creating service %s: %w", spec.Name, err)
	}
	return resp.ID, resp.Warnings, nil
}

// UpdateService replaces a service's whole spec. version must be the one the
// caller read: the engine answers "update out of sequence" if the service
// changed since.
func (d *Docker) UpdateService(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, opts ServiceOptions) ([]string, error) {
	resp, err := d.api.ServiceUpdate(ctx, id, version, spec, swarm.ServiceUpdateOptions{EncodedRegistryAuth: string(opts.EncodedAuth.Bytes())})
	if err != nil {
		return nil, fmt.Errorf("updating service %s: %w", spec.Name, err)
	}
	return resp.Warnings, nil
}

// InspectService reads one service, e.g. to retry after "update out of sequence".
func (d *Docker) InspectService(ctx context.Context, id string) (swarm.Service, error) {
	s, _, err := d.api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return swarm.Service{}, fmt.Errorf("inspecting service %s: %w", id, err)
	}
	return s, nil
}

// RemoveService removes a service by ID or name.
func (d *Docker) RemoveService(ctx context.Context, id string) error {
	if err := d.api.ServiceRemove(ctx, id); err != nil {
		return fmt.Errorf("removing service %s: %w", id, err)
	}
	return nil
}

// ServiceTasks lists the tasks of the given services in one call.
func (d *Docker) ServiceTasks(ctx context.Context, serviceIDs []string) ([]swarm.Task, error) {
	if len(serviceIDs) == 0 {
		return nil, nil
	}
	args := filters.NewArgs()
	for _, id := range serviceIDs {
		args.Add("service", id)
	}
	tasks, err := d.api.TaskList(ctx, swarm.TaskListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("listing tasks of %d services: %w", len(serviceIDs), err)
	}
	return tasks, nil
}
