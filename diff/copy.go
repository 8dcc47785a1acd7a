package diff

import "github.com/docker/docker/api/types/swarm"

// deepCopy copies the parts of a spec normalizeService changes, so that
// neither the caller's desired spec nor the live one is modified.
func deepCopy(spec swarm.ServiceSpec) swarm.ServiceSpec {
	s := spec
	t := &s.TaskTemplate
	if t.ContainerSpec != nil {
		c := *t.ContainerSpec
		c.Secrets = make([]*swarm.SecretReference, len(c.Secrets))
		for i, r := range t.ContainerSpec.Secrets {
			r := *r
			c.Secrets[i] = &r
		}
		c.Configs = make([]*swarm.ConfigReference, len(c.Configs))
		for i, r := range t.ContainerSpec.Configs {
			r := *r
			c.Configs[i] = &r
		}
		t.ContainerSpec = &c
	}
	if t.RestartPolicy != nil {
		rp := *t.RestartPolicy
		t.RestartPolicy = &rp
	}
	if t.Placement != nil {
		p := *t.Placement
		t.Placement = &p
	}
	t.Networks = append([]swarm.NetworkAttachmentConfig(nil), t.Networks...)
	if s.Mode.Replicated != nil {
		r := *s.Mode.Replicated
		s.Mode.Replicated = &r
	}
	if s.UpdateConfig != nil {
		u := *s.UpdateConfig
		s.UpdateConfig = &u
	}
	if s.RollbackConfig != nil {
		u := *s.RollbackConfig
		s.RollbackConfig = &u
	}
	if s.EndpointSpec != nil {
		e := *s.EndpointSpec
		e.Ports = append([]swarm.PortConfig(nil), e.Ports...)
		s.EndpointSpec = &e
	}
	return s
}
