package diff

import (
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// serviceAttributes are what a plan shows under a created service: the
// image as the stack file names it, how many tasks, and the published
// ports — what someone approving the plan checks first.
func serviceAttributes(spec swarm.ServiceSpec) []Attribute {
	var out []Attribute
	image := spec.Labels[stack.LabelImage]
	if cs := spec.TaskTemplate.ContainerSpec; image == "" && cs != nil {
		image = cs.Image
	}
	if image != "" {
		out = append(out, Attribute{Name: "image", Value: image})
	}
	switch m := spec.Mode; {
	case m.Global != nil:
		out = append(out, Attribute{Name: "mode", Value: "global"})
	case m.GlobalJob != nil:
		out = append(out, Attribute{Name: "mode", Value: "global-job"})
	case m.ReplicatedJob != nil:
		completions := uint64(1)
		if m.ReplicatedJob.TotalCompletions != nil {
			completions = *m.ReplicatedJob.TotalCompletions
		}
		out = append(out, Attribute{Name: "mode", Value: fmt.Sprintf("replicated-job, %d completions", completions)})
	default:
		replicas := uint64(1)
		if m.Replicated != nil && m.Replicated.Replicas != nil {
			replicas = *m.Replicated.Replicas
		}
		out = append(out, Attribute{Name: "replicas", Value: fmt.Sprint(replicas)})
	}
	if e := spec.EndpointSpec; e != nil && len(e.Ports) > 0 {
		ports := make([]string, 0, len(e.Ports))
		for _, p := range e.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = swarm.PortConfigProtocolTCP
			}
			s := fmt.Sprintf("%d/%s", p.TargetPort, proto)
			if p.PublishedPort != 0 {
				s = fmt.Sprintf("%d:%s", p.PublishedPort, s)
			}
			if p.PublishMode == swarm.PortConfigPublishModeHost {
				s += " (host)"
			}
			ports = append(ports, s)
		}
		out = append(out, Attribute{Name: "ports", Value: strings.Join(ports, ", ")})
	}
	return out
}
