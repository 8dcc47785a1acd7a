package stack_test

import (
	"os"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// deployMode is one way of putting a corpus file on the swarm that is
// compared with what `docker stack deploy` made of it.
type deployMode string

const (
	// modeRendered creates stack.Load's objects as they are, so any
	// difference is the renderer's.
	modeRendered deployMode = "rendered"
	// modeFlotilla runs `flotilla deploy --detach --resolve-image never`:
	// versioned secret and config names, then diff and apply, so a
	// difference the renderer does not have is theirs.
	modeFlotilla deployMode = "flotilla-deploy"
)

var deployModes = []deployMode{modeRendered, modeFlotilla}

// deploy puts the stack files on the swarm as stack name and returns what
// was rendered.
func (m deployMode) deploy(t *testing.T, c *client.Client, name string, files []string, vars map[string]string) *stack.Desired {
	t.Helper()
	opts := stack.Options{Files: files, Stack: name, Variables: vars}
	docker := cluster.NewFromClient(c)
	if m == modeFlotilla {
		// As cmd/flotilla's deploy does, with neither identity nor key file.
		v, _, err := secrets.VersionerFor(nil, "")
		if err != nil {
			t.Fatal(err)
		}
		opts.Version, opts.APIVersion = v.Version, docker.APIVersion()
	}
	d, err := stack.Load(t.Context(), os.DirFS(corpusDir), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if m == modeRendered {
		createDesired(t, c, d)
		return d
	}
	live, err := docker.ReadStack(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Run(t.Context(), docker, diff.Compute(d, live), apply.Options{Detach: true}); err != nil {
		t.Fatalf("apply.Run: %v", err)
	}
	return d
}

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
