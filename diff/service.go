package diff

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// compareService decides what happens to one desired service that exists on
// the engine.
func compareService(d stack.Service, l *swarm.Service, netNames map[string]string) Change {
	want := withSpecHash(d)
	c := Change{Kind: KindService, Name: d.Name, Service: want, Live: liveService(l)}
	if msg := conflict(l.Spec.Labels); msg != "" {
		c.Action, c.Effect, c.Conflict = ActionConflict, EffectNone, fmt.Sprintf("service %s %s", d.Name, msg)
		c.Service = nil
		return c
	}
	c.Fields = serviceFields(want.Spec, l.Spec, netNames)
	if len(c.Fields) == 0 {
		c.Action, c.Effect = ActionNoop, EffectNone
		return c
	}
	if modeName(want.Spec.Mode) != modeName(l.Spec.Mode) {
		c.Action, c.Effect = ActionReplace, EffectRecreate
		c.Reasons = append(c.Reasons, fmt.Sprintf("the engine can't change a service's mode (%s to %s): the service is removed and created again",
			modeName(l.Spec.Mode), modeName(want.Spec.Mode)))
		return c
	}
	c.Action, c.Effect = ActionUpdate, effectOf(c.Fields)
	switch {
	case adopting(l.Spec.Labels):
		c.Reasons = append(c.Reasons, "adopting a service deployed by docker stack deploy")
	case l.Spec.Labels[stack.LabelSpecHash] == want.Spec.Labels[stack.LabelSpecHash]:
		c.Reasons = append(c.Reasons, "drift: changed on the engine since Flotilla applied it")
	}
	return c
}

// serviceFields lists the differences between a desired spec and the live
// one, after normalising both to the form the engine stores.
func serviceFields(desired, live swarm.ServiceSpec, netNames map[string]string) []Field {
	dn := normalizeService(desired, nil)
	ln := normalizeService(live, netNames)
	if dn.TaskTemplate.ContainerSpec != nil && ln.TaskTemplate.ContainerSpec != nil {
		dn.TaskTemplate.ContainerSpec.Image, ln.TaskTemplate.ContainerSpec.Image =
			compareImages(dn.TaskTemplate.ContainerSpec.Image, ln.TaskTemplate.ContainerSpec.Image)
	}
	// Most services are unchanged, and the stored spec then encodes exactly
	// as the normalised desired one: skip building the trees.
	if bytes.Equal(encode(dn), encode(ln)) {
		return nil
	}
	var fields []Field
	compareTrees("", "", tree(ln), tree(dn), &fields)
	for i := range fields {
		if strings.HasPrefix(fields[i].Path, "Labels[") {
			fields[i].Path = "Annotations." + fields[i].Path
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Path < fields[j].Path })
	return fields
}

// effectOf says whether changing these fields restarts tasks. The engine
// restarts a task only when its task spec (or a host-mode port) changed, so
// replicas, service labels and the update and rollback configs apply in place.
func effectOf(fields []Field) Effect {
	for _, f := range fields {
		switch {
		case f.Path == "Mode.Replicated.Replicas",
			strings.HasPrefix(f.Path, "Annotations.Labels["),
			strings.HasPrefix(f.Path, "UpdateConfig."),
			strings.HasPrefix(f.Path, "RollbackConfig."):
		default:
			return EffectRolling
		}
	}
	return EffectInPlace
}

func modeName(m swarm.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated-job"
	case m.GlobalJob != nil:
		return "global-job"
	}
	return "replicated"
}

func liveService(l *swarm.Service) *Live {
	spec := l.Spec
	return &Live{ID: l.ID, Version: l.Version, Spec: &spec}
}
