package diff

import (
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// The engine's defaults for what a spec leaves out, as this engine stores
// them (captured in testdata/live; see SWARM.md).
const (
	defaultStopGrace    = 10 * time.Second
	defaultRestartDelay = 5 * time.Second
	defaultMonitor      = 5 * time.Second
)

// normalizeService returns a copy of spec in the form the engine stores it, so
// that a desired spec and the live spec it produced compare equal. Both sides
// go through it. netNames maps live network IDs to names (the engine stores
// attachments by ID, a stack file names them).
func normalizeService(spec swarm.ServiceSpec, netNames map[string]string) swarm.ServiceSpec {
	s := deepCopy(spec)
	s.Labels = withoutLabel(s.Labels, stack.LabelSpecHash)

	t := &s.TaskTemplate
	if t.ContainerSpec != nil {
		c := t.ContainerSpec
		if c.Isolation == "" {
			c.Isolation = "default"
		}
		if c.StopGracePeriod == nil {
			d := defaultStopGrace
			c.StopGracePeriod = &d
		}
		// IDs are resolved by name at apply time; the names are what the
		// stack file says.
		for _, r := range c.Secrets {
			r.SecretID = ""
		}
		for _, r := range c.Configs {
			r.ConfigID = ""
		}
	}
	if t.Runtime == "" {
		t.Runtime = swarm.RuntimeContainer
	}
	// `docker service update --force` bumps this; it is not configuration.
	t.ForceUpdate = 0
	rp := t.RestartPolicy
	if rp == nil {
		rp = &swarm.RestartPolicy{}
		t.RestartPolicy = rp
	}
	if rp.Condition == "" {
		rp.Condition = swarm.RestartPolicyConditionAny
	}
	if rp.Delay == nil {
		d := defaultRestartDelay
		rp.Delay = &d
	}
	if t.Placement != nil {
		// Filled from the registry when an image is resolved; no stack
		// file sets it.
		t.Placement.Platforms = nil
	}
	for i, n := range t.Networks {
		if name, ok := netNames[n.Target]; ok {
			t.Networks[i].Target = name
		}
	}

	switch {
	case s.Mode.ReplicatedJob != nil:
		// The engine runs one task at a time and completes as many as run
		// at once unless told otherwise.
		j := *s.Mode.ReplicatedJob
		if j.MaxConcurrent == nil || *j.MaxConcurrent == 0 {
			one := uint64(1)
			j.MaxConcurrent = &one
		}
		if j.TotalCompletions == nil || *j.TotalCompletions == 0 {
			j.TotalCompletions = j.MaxConcurrent
		}
		s.Mode.ReplicatedJob = &j
	case s.Mode.Global != nil, s.Mode.GlobalJob != nil:
	default:
		if s.Mode.Replicated == nil {
			s.Mode.Replicated = &swarm.ReplicatedService{}
		}
		if s.Mode.Replicated.Replicas == nil {
			one := uint64(1)
			s.Mode.Replicated.Replicas = &one
		}
	}
	s.UpdateConfig = normalizeUpdate(s.UpdateConfig)
	s.RollbackConfig = normalizeUpdate(s.RollbackConfig)

	if s.EndpointSpec == nil {
		s.EndpointSpec = &swarm.EndpointSpec{}
	}
	if s.EndpointSpec.Mode == "" {
		s.EndpointSpec.Mode = swarm.ResolutionModeVIP
	}
	for i := range s.EndpointSpec.Ports {
		p := &s.EndpointSpec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = swarm.PortConfigProtocolTCP
		}
		if p.PublishMode == "" {
			p.PublishMode = swarm.PortConfigPublishModeIngress
		}
	}
	return s
}

// normalizeUpdate fills an update or rollback config as the engine does: a
// missing one gets parallelism 1, an explicit one keeps its parallelism.
func normalizeUpdate(u *swarm.UpdateConfig) *swarm.UpdateConfig {
	if u == nil {
		u = &swarm.UpdateConfig{Parallelism: 1}
	}
	if u.FailureAction == "" {
		u.FailureAction = swarm.UpdateFailureActionPause
	}
	if u.Order == "" {
		u.Order = swarm.UpdateOrderStopFirst
	}
	if u.Monitor == 0 {
		u.Monitor = defaultMonitor
	}
	return u
}

// compareImages returns the desired and live images in comparable form. The
// docker client sends an image in its short form with a tag (":latest" when
// none: "docker.io/library/nginx" is stored as "nginx:latest"), and a deploy
// that resolved the tag pins a digest; neither is a change unless the stack
// file itself pins a digest. (Digests the stack file does not write are
// pinned into the desired spec before the plan, by cluster.PinImages, and
// then compared.)
func compareImages(desired, live string) (string, string) {
	if !strings.Contains(desired, "@") {
		if i := strings.Index(live, "@"); i >= 0 {
			live = live[:i]
		}
	}
	return storedImage(desired), storedImage(live)
}

// storedImage is an image reference as the docker client sends it.
func storedImage(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}

func withoutLabel(labels map[string]string, key string) map[string]string {
	if _, ok := labels[key]; !ok {
		return labels
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k != key {
			out[k] = v
		}
	}
	return out
}
