package sync

import (
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// The fingerprint a kept plan is checked against changes with anything in
// the live stack that a plan reads.
func TestLiveFingerprintFollowsWhatAPlanReads(t *testing.T) {
	t.Parallel()
	desired := &stack.Desired{Stack: "s", Networks: []stack.Network{{Key: "shared", Name: "shared", External: true}}}
	base := func() *stack.Live {
		svc := swarm.Service{ID: "svc1", Meta: swarm.Meta{Version: swarm.Version{Index: 10}}}
		svc.Spec.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "net1"}}
		return &stack.Live{Stack: "s", Services: []swarm.Service{svc},
			Secrets:      []swarm.Secret{{ID: "sec1", Meta: swarm.Meta{Version: swarm.Version{Index: 11}}}},
			Configs:      []swarm.Config{{ID: "cfg1", Meta: swarm.Meta{Version: swarm.Version{Index: 12}}}},
			Networks:     []network.Summary{{ID: "net1", Name: "s_default"}},
			NetworkNames: map[string]string{"net1": "s_default"}}
	}
	first := liveFingerprint(desired, base())
	if liveFingerprint(desired, base()) != first {
		t.Fatal("the same live stack gave two fingerprints")
	}
	for what, change := range map[string]func(*stack.Live){
		"service version":   func(l *stack.Live) { l.Services[0].Version.Index++ },
		"service replaced":  func(l *stack.Live) { l.Services[0].ID = "svc2" },
		"secret version":    func(l *stack.Live) { l.Secrets[0].Version.Index++ },
		"config removed":    func(l *stack.Live) { l.Configs = nil },
		"network allocated": func(l *stack.Live) { l.Networks[0].Options = map[string]string{"vxlan": "4097"} },
		"attached network":  func(l *stack.Live) { l.NetworkNames = map[string]string{} },
		"external network":  func(l *stack.Live) { l.NetworkNames = map[string]string{"net1": "s_default", "net9": "shared"} },
		"service added":     func(l *stack.Live) { l.Services = append(l.Services, swarm.Service{ID: "svc3"}) },
	} {
		l := base()
		change(l)
		if liveFingerprint(desired, l) == first {
			t.Errorf("a change of %s kept the fingerprint: a kept plan would be reused", what)
		}
	}
	// What a plan does not read — task counts — leaves it.
	l := base()
	l.Services[0].ServiceStatus = &swarm.ServiceStatus{RunningTasks: 3}
	if liveFingerprint(desired, l) != first {
		t.Error("task counts changed the fingerprint")
	}
}
