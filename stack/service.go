package stack

import (
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

// convertService builds the spec docker/cli's convert.Service would, field by
// field, from a compose-go service. hosts is extra_hosts in docker's order
// (compose-go keeps them in a map and loses it).
func (r *renderer) convertService(svc types.ServiceConfig, hosts []string) (swarm.ServiceSpec, error) {
	deploy := types.DeployConfig{}
	if svc.Deploy != nil {
		deploy = *svc.Deploy
	}
	if svc.Image == "" {
		return swarm.ServiceSpec{}, fmt.Errorf("no image: docker stack deploy does not build images")
	}
	if svc.CredentialSpec != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("credential_spec is only supported for Windows services, which Flotilla does not deploy")
	}
	mode, err := convertMode(deploy.Mode, deploy.Replicas)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	mounts, err := r.convertMounts(svc.Name, svc.Volumes)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	resources, err := convertResources(deploy.Resources)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	if svc.Restart != "" && deploy.RestartPolicy != nil {
		r.warn(svc.Name, "restart", "ignored: deploy.restart_policy is set and wins")
	}
	restart, err := convertRestartPolicy(svc.Restart, deploy.RestartPolicy)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	health, err := convertHealthcheck(svc.HealthCheck)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	networks, err := r.convertServiceNetworks(svc)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	for _, p := range svc.Ports {
		if p.HostIP != "" && p.HostIP != "0.0.0.0" && p.HostIP != "::" {
			r.warn(svc.Name, "ports", "ignoring IP address "+p.HostIP+": swarm services listen on all addresses")
		}
	}
	endpoint, err := convertEndpoint(deploy.EndpointMode, svc.Ports)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	secretRefs, err := r.secretRefs(svc.Secrets)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	configRefs, err := r.configRefs(svc.Configs)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	env, err := r.environment(svc)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}

	var logDriver *swarm.Driver
	if svc.Logging != nil {
		logDriver = &swarm.Driver{Name: svc.Logging.Driver, Options: svc.Logging.Options}
	}
	var dns *swarm.DNSConfig
	if len(svc.DNS) > 0 || len(svc.DNSSearch) > 0 {
		dns = &swarm.DNSConfig{Nameservers: svc.DNS, Search: svc.DNSSearch}
	}
	capAdd, capDrop := effectiveCaps(svc.CapAdd, svc.CapDrop)

	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{
			Name:   r.scope(svc.Name),
			Labels: r.ownLabels(deploy.Labels),
		},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           svc.Image,
				Command:         svc.Entrypoint,
				Args:            svc.Command,
				Hostname:        svc.Hostname,
				Hosts:           hosts,
				DNSConfig:       dns,
				Healthcheck:     health,
				Env:             env,
				Labels:          r.stackLabels(svc.Labels),
				Dir:             svc.WorkingDir,
				User:            svc.User,
				Mounts:          mounts,
				StopGracePeriod: durationPtr(svc.StopGracePeriod),
				StopSignal:      svc.StopSignal,
				TTY:             svc.Tty,
				OpenStdin:       svc.StdinOpen,
				Secrets:         secretRefs,
				Configs:         configRefs,
				ReadOnly:        svc.ReadOnly,
				Privileges:      &swarm.Privileges{},
				Isolation:       container.Isolation(svc.Isolation),
				Init:            svc.Init,
				Sysctls:         emptyToNil(svc.Sysctls),
				CapabilityAdd:   capAdd,
				CapabilityDrop:  capDrop,
				Ulimits:         convertUlimits(svc.Ulimits),
				OomScoreAdj:     svc.OomScoreAdj,
			},
			LogDriver:     logDriver,
			Resources:     resources,
			RestartPolicy: restart,
			Placement: &swarm.Placement{
				Constraints: deploy.Placement.Constraints,
				Preferences: convertPreferences(deploy.Placement.Preferences),
				MaxReplicas: deploy.Placement.MaxReplicas,
			},
			Networks: networks,
		},
		EndpointSpec:   endpoint,
		Mode:           mode,
		UpdateConfig:   convertUpdateConfig(deploy.UpdateConfig),
		RollbackConfig: convertUpdateConfig(deploy.RollbackConfig),
	}
	spec.Labels[LabelImage] = svc.Image
	return spec, nil
}

func convertPreferences(prefs []types.PlacementPreferences) []swarm.PlacementPreference {
	var out []swarm.PlacementPreference
	for _, p := range prefs {
		out = append(out, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: p.Spread}})
	}
	return out
}

func durationPtr(d *types.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

func emptyToNil(m types.Mapping) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
