package stack

import (
	"fmt"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/versions"
)

// featureVersions are the engine API versions that first honour a stack-file
// key. An older engine silently drops the field, so a diff on it never
// settles: such keys are rejected instead.
var featureVersions = []struct {
	key     string
	version string
	used    func(s *swarm.ServiceSpec) bool
}{
	{"oom_score_adj", "1.46", func(s *swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.OomScoreAdj != 0 }},
	{"healthcheck.start_interval", "1.44", func(s *swarm.ServiceSpec) bool {
		h := s.TaskTemplate.ContainerSpec.Healthcheck
		return h != nil && h.StartInterval != 0
	}},
	{"volumes.volume.subpath", "1.45", func(s *swarm.ServiceSpec) bool {
		for _, m := range s.TaskTemplate.ContainerSpec.Mounts {
			if m.VolumeOptions != nil && m.VolumeOptions.Subpath != "" {
				return true
			}
		}
		return false
	}},
	{"deploy.resources.limits.pids", "1.41", func(s *swarm.ServiceSpec) bool {
		r := s.TaskTemplate.Resources
		return r != nil && r.Limits != nil && r.Limits.Pids != 0
	}},
	{"deploy.mode (jobs)", "1.41", func(s *swarm.ServiceSpec) bool { return s.Mode.ReplicatedJob != nil || s.Mode.GlobalJob != nil }},
	{"cap_add", "1.41", func(s *swarm.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.CapabilityAdd) > 0 }},
	{"cap_drop", "1.41", func(s *swarm.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.CapabilityDrop) > 0 }},
	{"ulimits", "1.41", func(s *swarm.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.Ulimits) > 0 }},
	{"sysctls", "1.40", func(s *swarm.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.Sysctls) > 0 }},
	{"deploy.placement.max_replicas_per_node", "1.40", func(s *swarm.ServiceSpec) bool {
		p := s.TaskTemplate.Placement
		return p != nil && p.MaxReplicas != 0
	}},
	{"init", "1.37", func(s *swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.Init != nil }},
}

// checkAPIVersion rejects keys the engine at version cannot honour.
func checkAPIVersion(s swarm.ServiceSpec, version string) error {
	for _, f := range featureVersions {
		if versions.LessThan(version, f.version) && f.used(&s) {
			return fmt.Errorf("key %s needs engine API %s or later; the engine speaks %s", f.key, f.version, version)
		}
	}
	return nil
}
