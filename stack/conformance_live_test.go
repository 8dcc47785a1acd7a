package stack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// liveStack is what a stack consists of on the engine, keyed by name.
type liveStack struct {
	Services map[string]swarm.ServiceSpec
	Networks map[string]liveNetwork
	Secrets  map[string]swarm.SecretSpec
	Configs  map[string]swarm.ConfigSpec
}

type liveNetwork struct {
	Driver     string
	Scope      string
	Internal   bool
	Attachable bool
	Ingress    bool
	IPAM       network.IPAM
	Options    map[string]string
	Labels     map[string]string
}

func snapshot(t *testing.T, c *client.Client, name string) liveStack {
	t.Helper()
	ctx := t.Context()
	s := liveStack{Services: map[string]swarm.ServiceSpec{}, Networks: map[string]liveNetwork{},
		Secrets: map[string]swarm.SecretSpec{}, Configs: map[string]swarm.ConfigSpec{}}
	inStack := func(n string, labels map[string]string) bool {
		return labels[stack.LabelNamespace] == name || strings.HasPrefix(n, name+"_")
	}
	nets, err := c.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		t.Fatalf("listing networks: %v", err)
	}
	netNames := map[string]string{}
	for _, n := range nets {
		netNames[n.ID] = n.Name
		if !inStack(n.Name, n.Labels) {
			continue
		}
		// Swarm allocates a new network asynchronously: until it has, the
		// engine shows it without driver and IPAM. Wait for that.
		var got network.Inspect
		swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
			var err error
			got, err = c.NetworkInspect(ctx, n.ID, network.InspectOptions{Scope: "swarm"})
			return err == nil && got.Driver != "", "network " + n.Name + " not allocated yet", err
		})
		s.Networks[n.Name] = liveNetwork{Driver: got.Driver, Scope: got.Scope, Internal: got.Internal, Attachable: got.Attachable,
			Ingress: got.Ingress, IPAM: got.IPAM, Options: got.Options, Labels: got.Labels}
	}
	services, err := c.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		t.Fatalf("listing services: %v", err)
	}
	for _, svc := range services {
		if !inStack(svc.Spec.Name, svc.Spec.Labels) {
			continue
		}
		got, _, err := c.ServiceInspectWithRaw(ctx, svc.ID, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatalf("inspecting service %s: %v", svc.Spec.Name, err)
		}
		spec := got.Spec
		for i, a := range spec.TaskTemplate.Networks {
			if n, ok := netNames[a.Target]; ok {
				spec.TaskTemplate.Networks[i].Target = n
			}
		}
		s.Services[spec.Name] = spec
	}
	secrets, err := c.SecretList(ctx, swarm.SecretListOptions{})
	if err != nil {
		t.Fatalf("listing secrets: %v", err)
	}
	for _, sec := range secrets {
		if inStack(sec.Spec.Name, sec.Spec.Labels) {
			s.Secrets[sec.Spec.Name] = sec.Spec
		}
	}
	configs, err := c.ConfigList(ctx, swarm.ConfigListOptions{})
	if err != nil {
		t.Fatalf("listing configs: %v", err)
	}
	for _, cfg := range configs {
		if inStack(cfg.Spec.Name, cfg.Spec.Labels) {
			s.Configs[cfg.Spec.Name] = cfg.Spec
		}
	}
	return s
}

// labelNode gives this node the label the corpus's placement constraint
// needs, once; other tests may update the node at the same time.
func labelNode(t *testing.T, c *client.Client) {
	t.Helper()
	ctx := t.Context()
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		info, err := c.Info(ctx)
		if err != nil {
			return false, "", err
		}
		node, _, err := c.NodeInspectWithRaw(ctx, info.Swarm.NodeID)
		if err != nil {
			return false, "", err
		}
		if node.Spec.Labels["flotilla-conformance"] == "yes" {
			return true, "", nil
		}
		if node.Spec.Labels == nil {
			node.Spec.Labels = map[string]string{}
		}
		node.Spec.Labels["flotilla-conformance"] = "yes"
		err = c.NodeUpdate(ctx, node.ID, node.Version, node.Spec)
		return err == nil, "updating node labels: " + errString(err), nil
	})
}
