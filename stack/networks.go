package stack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/compose-spec/compose-go/v2/types"
)

// defaultNetworkDriver is what `docker stack deploy` creates when a network
// names no driver.
const defaultNetworkDriver = "overlay"

// convertServiceNetworks attaches the service to its networks by name, as the
// CLI sends them (the daemon resolves names to IDs), with the service's key
// as an extra alias on user-defined networks.
func (r *renderer) convertServiceNetworks(svc types.ServiceConfig) ([]swarm.NetworkAttachmentConfig, error) {
	nets := svc.Networks
	if len(nets) == 0 {
		nets = map[string]*types.ServiceNetworkConfig{"default": nil}
	}
	out := make([]swarm.NetworkAttachmentConfig, 0, len(nets))
	for key, sn := range nets {
		cfg, ok := r.project.Networks[key]
		target := r.scope(key)
		if ok && cfg.Name != "" {
			target = cfg.Name
		} else if !ok && key != "default" {
			return nil, fmt.Errorf("undefined network %q", key)
		}
		r.usedNetworks[key] = true
		a := swarm.NetworkAttachmentConfig{Target: target}
		if sn != nil {
			a.Aliases = sn.Aliases
			a.DriverOpts = sn.DriverOpts
		}
		if userDefined(target) {
			a.Aliases = append(a.Aliases, svc.Name)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}

// userDefined mirrors container.NetworkMode.IsUserDefined: only those
// networks take aliases.
func userDefined(n string) bool {
	switch n {
	case "default", "bridge", "host", "none":
		return false
	}
	return !strings.HasPrefix(n, "container:")
}

// networks are the networks services use (docker ignores unused ones).
func (r *renderer) networks() ([]Network, error) {
	var out []Network
	for key := range r.usedNetworks {
		cfg, ok := r.project.Networks[key]
		if !ok {
			cfg = types.NetworkConfig{Name: r.scope(key)}
		}
		if cfg.External {
			out = append(out, Network{Key: key, Name: cfg.Name, External: true})
			continue
		}
		driver := cfg.Driver
		if driver == "" {
			driver = defaultNetworkDriver
		}
		create := network.CreateOptions{
			Labels:     r.ownLabels(cfg.Labels),
			Driver:     driver,
			Options:    cfg.DriverOpts,
			Internal:   cfg.Internal,
			Attachable: cfg.Attachable,
		}
		if cfg.Ipam.Driver != "" || len(cfg.Ipam.Config) > 0 {
			create.IPAM = &network.IPAM{Driver: cfg.Ipam.Driver}
			for _, pool := range cfg.Ipam.Config {
				create.IPAM.Config = append(create.IPAM.Config, network.IPAMConfig{Subnet: pool.Subnet})
			}
		}
		out = append(out, Network{Key: key, Name: cfg.Name, Create: create})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// volumes lists the stack's named volumes. Swarm creates them on the nodes
// from the mount options; nothing is created up front.
func (r *renderer) volumes() []Volume {
	var out []Volume
	for _, key := range sortedKeys(r.project.Volumes) {
		v := r.project.Volumes[key]
		vol := Volume{Key: key, Name: v.Name, External: bool(v.External)}
		if !v.External {
			vol.Driver = v.Driver
			vol.DriverOpts = v.DriverOpts
			vol.Labels = r.stackLabels(v.Labels)
		}
		out = append(out, vol)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
