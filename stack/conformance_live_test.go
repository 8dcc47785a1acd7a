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

// createDesired creates the rendered objects through the Engine API, as an
// applier would: networks, secrets, configs, then services with the secret
// and config IDs filled in by name. Nothing else is converted.
func createDesired(t *testing.T, c *client.Client, d *stack.Desired) {
	t.Helper()
	ctx := t.Context()
	for _, n := range d.Networks {
		if n.External {
			continue
		}
		if _, err := c.NetworkCreate(ctx, n.Name, n.Create); err != nil {
			t.Fatalf("creating network %s: %v", n.Name, err)
		}
	}
	secretIDs := map[string]string{}
	for _, s := range d.Secrets {
		if s.Source.Kind == stack.SourceExternal {
			got, _, err := c.SecretInspectWithRaw(ctx, s.Name)
			if err != nil {
				t.Fatalf("finding external secret %s: %v", s.Name, err)
			}
			secretIDs[s.Name] = got.ID
			continue
		}
		spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}, Data: s.Data.Bytes()}
		if s.Driver != "" {
			spec.Driver = &swarm.Driver{Name: s.Driver, Options: s.DriverOpts}
		}
		if s.TemplateDriver != "" {
			spec.Templating = &swarm.Driver{Name: s.TemplateDriver}
		}
		resp, err := c.SecretCreate(ctx, spec)
		if err != nil {
			t.Fatalf("creating secret %s: %v", s.Name, err)
		}
		secretIDs[s.Name] = resp.ID
	}
	configIDs := map[string]string{}
	for _, s := range d.Configs {
		if s.Source.Kind == stack.SourceExternal {
			got, _, err := c.ConfigInspectWithRaw(ctx, s.Name)
			if err != nil {
				t.Fatalf("finding external config %s: %v", s.Name, err)
			}
			configIDs[s.Name] = got.ID
			continue
		}
		spec := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}, Data: s.Data.Bytes()}
		if s.TemplateDriver != "" {
			spec.Templating = &swarm.Driver{Name: s.TemplateDriver}
		}
		resp, err := c.ConfigCreate(ctx, spec)
		if err != nil {
			t.Fatalf("creating config %s: %v", s.Name, err)
		}
		configIDs[s.Name] = resp.ID
	}
	for _, s := range d.Services {
		spec := s.Spec
		for _, ref := range spec.TaskTemplate.ContainerSpec.Secrets {
			ref.SecretID = secretIDs[ref.SecretName]
		}
		for _, ref := range spec.TaskTemplate.ContainerSpec.Configs {
			ref.ConfigID = configIDs[ref.ConfigName]
		}
		if _, err := c.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
			t.Fatalf("creating service %s: %v", s.Name, err)
		}
	}
}

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
