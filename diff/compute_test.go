package diff_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// outline is a plan's changes, noops left out, one line per change and field.
func outline(p diff.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == diff.ActionNoop {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s (%s)", c.Action, c.Kind, c.Name, c.Effect))
		for _, f := range c.Fields {
			out = append(out, fmt.Sprintf("  %s: %s => %s", f.Path, f.Old, f.New))
		}
	}
	return out
}

func TestCompute(t *testing.T) {
	adoptLabels := []string{
		"  Annotations.Labels[io.flotilla.managed]: (none) => true",
		"  Annotations.Labels[io.flotilla.stack]: (none) => shop",
	}
	tests := []struct {
		name    string
		live    string                               // fixture in testdata/live
		desired func(t *testing.T, d *stack.Desired) // changes to the stack file
		edit    func(t *testing.T, l *stack.Live)    // changes to the captured live state
		want    []string
		// warnings the plan must have; none when nil
		warnings []string
	}{{
		name: "docker deployed: adopt by adding Flotilla's labels only",
		live: "docker",
		want: concat(
			[]string{"update secret shop_db_pw (none)"}, adoptLabels,
			[]string{"update config shop_app_conf (none)"}, adoptLabels,
			[]string{"update service shop_api (in place)"}, adoptLabels,
			[]string{"update service shop_worker (in place)"}, adoptLabels,
		),
	}, {
		name: "applied by Flotilla: no changes",
		live: "applied",
	}, {
		name: "env added on the engine shows as drift on that variable",
		live: "drift-env",
		want: []string{
			"update service shop_api (rolling restart)",
			"  TaskTemplate.ContainerSpec.Env[X]: 1 => (none)",
		},
	}, {
		name: "scaled on the engine shows as replicas, in place",
		live: "drift-env-scale",
		want: []string{
			"update service shop_api (rolling restart)",
			"  TaskTemplate.ContainerSpec.Env[X]: 1 => (none)",
			"update service shop_worker (in place)",
			"  Mode.Replicated.Replicas: 2 => 0",
		},
	}, {
		name: "unlabelled service with the stack's name is a conflict",
		live: "conflict",
		want: []string{
			"create network shop_backend (none)",
			"create network shop_default (none)",
			"create secret shop_db_pw (none)",
			"create config shop_app_conf (none)",
			"conflict service shop_api (none)",
			"create service shop_worker (none)",
		},
	}, {
		name: "image and env changed in the stack file",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			s := service(t, d, "shop_api")
			s.TaskTemplate.ContainerSpec.Image = "flotilla-test/app:v2"
			s.Labels[stack.LabelImage] = "flotilla-test/app:v2"
			s.TaskTemplate.ContainerSpec.Env = []string{"PORT=8080", "VERSION=v2"}
		},
		want: []string{
			"update service shop_api (rolling restart)",
			"  Annotations.Labels[com.docker.stack.image]: flotilla-test/app:v1 => flotilla-test/app:v2",
			"  TaskTemplate.ContainerSpec.Env[VERSION]: v1 => v2",
			"  TaskTemplate.ContainerSpec.Image: flotilla-test/app:v1 => flotilla-test/app:v2",
		},
	}, {
		name: "port added, update config and labels changed",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			s := service(t, d, "shop_api")
			s.EndpointSpec.Ports = append(s.EndpointSpec.Ports, swarm.PortConfig{TargetPort: 9090, PublishedPort: 19090})
			s.UpdateConfig.Monitor = 30e9
			w := service(t, d, "shop_worker")
			w.Labels["team"] = "payments"
		},
		want: []string{
			"update service shop_api (rolling restart)",
			`  EndpointSpec.Ports[9090/tcp]: (none) => {"Protocol":"tcp","PublishMode":"ingress","PublishedPort":19090,"TargetPort":9090}`,
			"  UpdateConfig.Monitor: 5s => 30s",
			"update service shop_worker (in place)",
			"  Annotations.Labels[team]: (none) => payments",
		},
	}, {
		name: "service removed from the stack file is deleted, last",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Services = d.Services[1:]
			d.Networks = d.Networks[1:]
		},
		want: []string{
			"delete service shop_api (remove)",
			"delete network shop_backend (none)",
		},
	}, {
		name: "config content changed: replace, value hidden",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Configs[0].Data = secretValue("mode=slow\n")
		},
		want: []string{
			"replace config shop_app_conf (recreate)",
			"  Data: (sensitive value changed) => (sensitive value changed)",
		},
	}, {
		name: "secret version changed: replace, value hidden",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Secrets[0].Labels[stack.LabelVersion] = "v2"
		},
		edit: func(t *testing.T, l *stack.Live) {
			l.Secrets[0].Spec.Labels[stack.LabelVersion] = "v1"
		},
		want: []string{
			"replace secret shop_db_pw (recreate)",
			"  Annotations.Labels[io.flotilla.version]: v1 => v2",
			"  Data: (sensitive value changed) => (sensitive value changed)",
		},
	}, {
		name: "network driver options changed: replace",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Networks[0].Create.Options = map[string]string{"encrypted": ""}
			d.Networks[0].Create.Attachable = true
		},
		want: []string{
			"replace network shop_backend (recreate)",
			"  Attachable: false => true",
			`  Options[encrypted]: (none) => ""`,
		},
	}, {
		name: "mode change: replace",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			service(t, d, "shop_worker").Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
		},
		want: []string{
			"replace service shop_worker (recreate)",
			`  Mode.Global: (none) => {}`,
			"  Mode.Replicated: {} => (none)",
		},
	}, {
		name: "digest pinned by the engine and :latest are not changes",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			service(t, d, "shop_worker").TaskTemplate.ContainerSpec.Image = "flotilla-test/app"
		},
		edit: func(t *testing.T, l *stack.Live) {
			l.Services[1].Spec.TaskTemplate.ContainerSpec.Image = "flotilla-test/app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		},
	}, {
		name: "an image written in full is stored short by the docker client: no change",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			service(t, d, "shop_worker").TaskTemplate.ContainerSpec.Image = "docker.io/flotilla-test/app:v2"
		},
	}, {
		name: "a pinned digest that moved is an image change",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			service(t, d, "shop_worker").TaskTemplate.ContainerSpec.Image = "flotilla-test/app:v2@sha256:" + strings.Repeat("b", 64)
		},
		edit: func(t *testing.T, l *stack.Live) {
			l.Services[1].Spec.TaskTemplate.ContainerSpec.Image = "flotilla-test/app:v2@sha256:" + strings.Repeat("a", 64)
		},
		want: []string{
			"update service shop_worker (rolling restart)",
			"  TaskTemplate.ContainerSpec.Image: flotilla-test/app:v2@sha256:" + strings.Repeat("a", 64) + " => flotilla-test/app:v2@sha256:" + strings.Repeat("b", 64),
		},
	}, {
		name: "external network attached by name, stored by ID: no change",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Networks = append(d.Networks, stack.Network{Key: "proxy", Name: "proxy", External: true})
			s := service(t, d, "shop_api")
			s.TaskTemplate.Networks = append(s.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: "proxy"})
		},
		edit: func(t *testing.T, l *stack.Live) {
			l.NetworkNames["p1d"] = "proxy"
			s := &l.Services[0].Spec.TaskTemplate
			s.Networks = append(s.Networks, swarm.NetworkAttachmentConfig{Target: "p1d"})
		},
	}, {
		name: "missing external network is a warning",
		live: "applied",
		desired: func(t *testing.T, d *stack.Desired) {
			d.Networks = append(d.Networks, stack.Network{Key: "proxy", Name: "proxy", External: true})
		},
		warnings: []string{"network proxy is declared external but does not exist"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := shopDesired("shop")
			if tt.desired != nil {
				tt.desired(t, desired)
			}
			live := liveFixture(t, tt.live)
			if tt.edit != nil {
				tt.edit(t, live)
			}
			p := diff.Compute(desired, live)
			if diff := cmp.Diff(tt.want, outline(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warnings, p.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			p.Prune = true // the outline lists every delete: with prune, each is a change
			if p.HasChanges() != (len(tt.want) > 0) {
				t.Errorf("HasChanges() = %v, want %v", p.HasChanges(), len(tt.want) > 0)
			}
		})
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestReplaceSaysWhatItAffects checks the reasons of replaces name the
// services they touch.
func TestReplaceSaysWhatItAffects(t *testing.T) {
	desired := shopDesired("shop")
	desired.Networks[0].Create.Internal = true
	desired.Configs[0].Data = secretValue("mode=slow\n")
	p := diff.Compute(desired, liveFixture(t, "applied"))
	want := map[string]string{
		"shop_backend":  "a network can't be changed in place: it is removed and created again, detaching services shop_api",
		"shop_app_conf": "a config's data can't be changed in place: it is removed and created again; services using it: shop_api",
	}
	for _, c := range p.Changes {
		if c.Action != diff.ActionReplace {
			continue
		}
		if r := want[c.Name]; len(c.Reasons) != 1 || c.Reasons[0] != r {
			t.Errorf("%s reasons = %q, want [%q]", c.Name, c.Reasons, r)
		}
		delete(want, c.Name)
	}
	if len(want) > 0 {
		t.Errorf("no replace for %v", want)
	}
}

// An older version of a secret the stack still uses is superseded: apply
// removes it after a good deploy even without prune. A versioned secret the
// stack dropped altogether is an ordinary delete.
func TestSupersededVersions(t *testing.T) {
	labels := func(key, version string) map[string]string {
		return map[string]string{stack.LabelNamespace: "shop", stack.LabelName: key, stack.LabelVersion: version}
	}
	desired := &stack.Desired{Stack: "shop", Secrets: []stack.Secret{{
		Key: "db_pw", Name: "shop_db_pw_new", Source: stack.Source{Kind: stack.SourceFile, Path: "pw.age"},
		Labels: labels("db_pw", "new"), Data: secrets.NewValue([]byte("x")),
	}}}
	live := &stack.Live{Stack: "shop", Secrets: []swarm.Secret{
		{ID: "s1", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "shop_db_pw_old", Labels: labels("db_pw", "old")}}},
		{ID: "s2", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "shop_api_key_abc", Labels: labels("api_key", "abc")}}},
	}}
	got := map[string]bool{}
	for _, c := range diff.Compute(desired, live).Changes {
		if c.Action == diff.ActionDelete {
			got[c.Name] = c.Superseded
		}
	}
	want := map[string]bool{"shop_db_pw_old": true, "shop_api_key_abc": false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deletes (name: superseded) = %v, want %v", got, want)
	}
}

// Changing a secret driver's options changes where the value comes from: the
// secret must be replaced, and the plan says which option moved.
func TestSecretDriverOptionsChange(t *testing.T) {
	labels := map[string]string{stack.LabelNamespace: "shop", stack.LabelManaged: "true", stack.LabelStack: "shop"}
	desired := &stack.Desired{Stack: "shop", Secrets: []stack.Secret{{Key: "vault", Name: "shop_vault",
		Source: stack.Source{Kind: stack.SourceDriver}, Driver: "vault", DriverOpts: map[string]string{"path": "kv/new"}, Labels: labels}}}
	live := &stack.Live{Stack: "shop", Secrets: []swarm.Secret{{ID: "s1", Spec: swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: "shop_vault", Labels: labels},
		Driver:      &swarm.Driver{Name: "vault", Options: map[string]string{"path": "kv/old"}}}}}}
	changes := diff.Compute(desired, live).Changes
	if len(changes) != 1 || changes[0].Action != diff.ActionReplace {
		t.Fatalf("changes %+v, want one replace", changes)
	}
	want := []diff.Field{{Path: "Driver.Options[path]", Old: "kv/old", New: "kv/new"}}
	if d := cmp.Diff(want, changes[0].Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	live.Secrets[0].Spec.Driver.Options["path"] = "kv/new"
	if p := diff.Compute(desired, live); p.HasChanges() {
		t.Errorf("unchanged driver options still plan %+v", p.Changes)
	}
}
