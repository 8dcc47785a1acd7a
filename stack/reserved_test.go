package stack_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/stack"
)

// TestReservedLabelsAndNames: a stack file can't forge Flotilla's history or
// pin objects, nor docker's namespace, wherever it puts the label.
func TestReservedLabelsAndNames(t *testing.T) {
	const svc = "services:\n  app:\n    image: img\n"
	tests := []struct {
		name string
		yml  string
		vars map[string]string
		// want is the error's file:line, key and label or name.
		want []string
	}{
		{"service label", svc + "    labels:\n      tier: web\n      io.flotilla.pin: prod\n",
			nil, []string{"stack.yml:6", "services.app.labels", `"io.flotilla.pin"`}},
		{"service label list", svc + "    labels:\n      - tier=web\n      - io.flotilla.history=prod\n",
			nil, []string{"stack.yml:6", "services.app.labels", `"io.flotilla.history"`}},
		{"deploy label", svc + "    deploy:\n      labels: {io.flotilla.managed: \"true\"}\n",
			nil, []string{"stack.yml:5", "services.app.deploy.labels", "io.flotilla.managed"}},
		{"docker's namespace", svc + "    deploy:\n      labels:\n        com.docker.stack.namespace: prod\n",
			nil, []string{"stack.yml:6", "com.docker.stack.namespace"}},
		{"upper case", svc + "    labels: {IO.Flotilla.Pin: prod}\n",
			nil, []string{"stack.yml:4", "IO.Flotilla.Pin"}},
		{"network label", svc + "networks:\n  n:\n    labels: {io.flotilla.stack: prod}\n",
			nil, []string{"stack.yml:6", "networks.n.labels"}},
		{"volume label", svc + "volumes:\n  v:\n    labels:\n      - io.flotilla.x\n",
			nil, []string{"stack.yml:7", "volumes.v.labels"}},
		{"secret label", svc + "secrets:\n  s:\n    file: s.txt\n    labels: {io.flotilla.history: prod}\n",
			nil, []string{"stack.yml:7", "secrets.s.labels"}},
		{"config label", svc + "configs:\n  c:\n    file: s.txt\n    labels: {io.flotilla.pin: prod}\n",
			nil, []string{"stack.yml:7", "configs.c.labels"}},
		{"interpolated label key", svc + "    labels:\n      - ${K}=prod\n",
			map[string]string{"K": "io.flotilla.pin"}, []string{"stack.yml:5", "services.app.labels", "io.flotilla.pin"}},
		{"config name", svc + "configs:\n  c:\n    file: s.txt\n    name: flotilla.history.prod.1\n",
			nil, []string{"stack.yml:7", "configs.c.name", "flotilla.history.prod.1"}},
		{"external config name", svc + "configs:\n  c:\n    external: true\n    name: flotilla.pin.prod\n",
			nil, []string{"stack.yml:7", "configs.c.name", "flotilla.pin.prod"}},
		{"external network by the old syntax", svc + "networks:\n  n:\n    external: {name: flotilla.x}\n",
			nil, []string{"networks.n.external.name", "flotilla.x"}},
		{"interpolated secret name", svc + "secrets:\n  s:\n    file: s.txt\n    name: ${N}\n",
			map[string]string{"N": "flotilla.pin.prod"}, []string{"stack.yml:7", "secrets.s.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := load(t, tt.yml, map[string]string{"s.txt": "x"}, stack.Options{Variables: tt.vars})
			if err == nil {
				t.Fatalf("Load succeeded, want a reserved-name error")
			}
			if d != nil {
				t.Error("Load returned a result with its error")
			}
			if _, ok := errors.AsType[*stack.ReservedError](err); !ok {
				t.Errorf("error %v is not a *stack.ReservedError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestReservedOnlyWhatTheAuthorWrites: docker's and Flotilla's own labels
// are still set on what Load renders, and look-alikes are fine.
func TestReservedOnlyWhatTheAuthorWrites(t *testing.T) {
	d := render(t, "services:\n  app:\n    image: img\n    labels: {io.flotillax: a, com.docker.stackish: b, flotilla.role: c}\n"+
		"configs:\n  c:\n    file: c.txt\n    name: my-flotilla.conf\n", map[string]string{"c.txt": "x"}, stack.Options{})
	labels := d.Services[0].Spec.Labels
	if labels[stack.LabelNamespace] != "s" || labels[stack.LabelManaged] != "true" {
		t.Errorf("service labels %v lack docker's and Flotilla's own", labels)
	}
	if c := d.Services[0].Spec.TaskTemplate.ContainerSpec.Labels; c["flotilla.role"] != "c" {
		t.Errorf("container labels %v lost flotilla.role", c)
	}
}
