package swarmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// NamespaceLabel is the label `docker stack deploy` puts on every object of a stack.
const NamespaceLabel = "com.docker.stack.namespace"

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Stack returns a stack name unique to this test run (lower case, short enough
// for 64-character object names) and removes everything of that stack when the
// test ends, waiting until it is really gone.
func Stack(t testing.TB) string {
	t.Helper()
	return newStack(t, Client(t))
}

// newStack makes Stack's name, and removes the stack from c's swarm.
func newStack(t testing.TB, c client.APIClient) string {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	base := nonName.ReplaceAllString(strings.ToLower(t.Name()), "")
	if len(base) > 14 {
		base = base[len(base)-14:]
	}
	name := "ft" + base + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// t.Context is already cancelled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := RemoveStack(ctx, c, name); err != nil {
			t.Errorf("cleaning up stack %s: %v", name, err)
		}
	})
	return name
}

// RemoveStack removes the services, networks, secrets, configs and volumes of
// a stack: those labelled with its namespace and those whose name is in its
// scope (`name_…`), labelled or not. It returns once they are gone.
func RemoveStack(ctx context.Context, c client.APIClient, name string) error {
	var errs []error
	inStack := func(objName string, labels map[string]string) bool {
		return labels[NamespaceLabel] == name || strings.HasPrefix(objName, name+"_")
	}
	prefix := filters.NewArgs(filters.Arg("name", name+"_"))

	services, err := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: prefix})
	if err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	// A service labelled for the stack may be named out of its scope.
	labelled, err := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", NamespaceLabel+"="+name))})
	if err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	for _, s := range labelled {
		if !strings.HasPrefix(s.Spec.Name, name+"_") {
			services = append(services, s)
		}
	}
	var removed []string
	mountsVolumes := false
	for _, s := range services {
		if !inStack(s.Spec.Name, s.Spec.Labels) {
			continue
		}
		if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
			for _, m := range cs.Mounts {
				mountsVolumes = mountsVolumes || m.Type == mount.TypeVolume
			}
		}
		if err := c.ServiceRemove(ctx, s.ID); err != nil && !cluster.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing service %s: %w", s.Spec.Name, err))
			continue
		}
		removed = append(removed, s.ID)
	}
	// Networks, secrets and volumes stay in use until the tasks' containers
	// are gone. The containers of a job's completed tasks outlive the
	// service on engine 20.10: after a while they are removed here.
	for _, id := range removed {
		byService := filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+id))
		waited := time.Now()
		err := Poll(ctx, time.Minute, func() (bool, string, error) {
			cs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: byService})
			if err == nil && len(cs) > 0 && time.Since(waited) > 15*time.Second {
				for _, ct := range cs {
					if ct.State != "running" {
						c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
					}
				}
			}
			return len(cs) == 0, fmt.Sprintf("%d containers of service %s left", len(cs), id), err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}

	// Unlike the other name filters, the network name filter matches a swarm
	// overlay network without local containers only on its exact name (engine
	// 20.10): list them all and choose here.
	nets, err := c.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing networks: %w", err))
	}
	var gone []string
	for _, n := range nets {
		if inStack(n.Name, n.Labels) {
			errs = append(errs, retryRemove(ctx, "network "+n.Name, func() error { return c.NetworkRemove(ctx, n.ID) }))
			gone = append(gone, n.ID)
		}
	}
	// A removed swarm network lingers a moment (engine 20.10): a stack file
	// that names its network (`name:`) can only be deployed again once it
	// is really gone.
	if len(gone) > 0 {
		errs = append(errs, Poll(ctx, 30*time.Second, func() (bool, string, error) {
			for _, id := range gone {
				if _, err := c.NetworkInspect(ctx, id, network.InspectOptions{}); err == nil {
					return false, "network " + id + " still there", nil
				}
			}
			return true, "", nil
		}))
	}
	// Listed whole: a secret or config renamed with `name:` carries the
	// stack's label but not its prefix.
	secrets, err := c.SecretList(ctx, swarm.SecretListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing secrets: %w", err))
	}
	for _, s := range secrets {
		if inStack(s.Spec.Name, s.Spec.Labels) {
			errs = append(errs, retryRemove(ctx, "secret "+s.Spec.Name, func() error { return c.SecretRemove(ctx, s.ID) }))
		}
	}
	configs, err := c.ConfigList(ctx, swarm.ConfigListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing configs: %w", err))
	}
	for _, s := range configs {
		// Flotilla keeps a stack's deploy history, pin, lease and deploy
		// journal in configs labelled with the stack's name.
		ours := false
		for _, l := range []string{"io.flotilla.history", "io.flotilla.pin", "io.flotilla.lease", "io.flotilla.journal"} {
			ours = ours || s.Spec.Labels[l] == name
		}
		if inStack(s.Spec.Name, s.Spec.Labels) || ours {
			errs = append(errs, retryRemove(ctx, "config "+s.Spec.Name, func() error { return c.ConfigRemove(ctx, s.ID) }))
		}
	}
	// A task torn down while it started can create its volume after the
	// containers were counted: remove until none is left, and, when the
	// services mounted volumes, keep looking for a moment after the
	// containers went.
	containersGone := time.Now()
	err = Poll(ctx, time.Minute, func() (bool, string, error) {
		vols, err := c.VolumeList(ctx, volume.ListOptions{})
		if err != nil {
			return false, "", fmt.Errorf("listing volumes: %w", err)
		}
		var left []string
		for _, v := range vols.Volumes {
			if !inStack(v.Name, v.Labels) {
				continue
			}
			if err := c.VolumeRemove(ctx, v.Name, true); err != nil && !cluster.IsNotFound(err) {
				left = append(left, v.Name+": "+err.Error())
			}
		}
		settled := !mountsVolumes || time.Since(containersGone) > 2*time.Second
		return len(left) == 0 && settled, "volumes left: " + strings.Join(left, "; "), nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// retryRemove retries a removal that fails while the object is still in use
// by containers that are shutting down.
func retryRemove(ctx context.Context, what string, remove func() error) error {
	return Poll(ctx, 30*time.Second, func() (bool, string, error) {
		err := remove()
		if err == nil || cluster.IsNotFound(err) {
			return true, "", nil
		}
		return false, fmt.Sprintf("removing %s: %v", what, err), nil
	})
}
