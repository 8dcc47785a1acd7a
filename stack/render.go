package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// renderer holds one Load call's state: where files are read from, the
// loaded project, and what the services use.
type renderer struct {
	fsys     fs.FS
	dir      string // directory of the first stack file, inside fsys
	stack    string
	vars     map[string]string
	opts     Options
	project  *types.Project
	warnings []Warning
	// usedNetworks are the network keys services attach to: docker creates
	// only those.
	usedNetworks map[string]bool
}

func (r *renderer) render(hosts map[string][]string) (*Desired, error) {
	d := &Desired{Stack: r.stack}
	r.usedNetworks = map[string]bool{}
	var errs []error
	for _, name := range sortedKeys(r.project.Services) {
		svc := r.project.Services[name]
		spec, err := r.convertService(svc, hosts[name])
		if err == nil {
			err = checkAPIVersion(spec, r.opts.APIVersion)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
			continue
		}
		d.Services = append(d.Services, Service{Name: spec.Name, Spec: spec})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	if d.Networks, err = r.networks(); err != nil {
		return nil, err
	}
	d.Volumes = r.volumes()
	if d.Secrets, err = r.secrets(); err != nil {
		return nil, err
	}
	if d.Configs, err = r.configs(); err != nil {
		return nil, err
	}
	d.Warnings = dedupeWarnings(r.warnings)
	sort.Slice(d.Services, func(i, j int) bool { return d.Services[i].Name < d.Services[j].Name })
	return d, nil
}

func (r *renderer) warn(service, key, msg string) {
	r.warnings = append(r.warnings, Warning{Service: service, Key: key, Message: msg})
}

// scope names an object in the stack's namespace, as docker does.
func (r *renderer) scope(name string) string { return r.stack + "_" + name }

// stackLabels are the labels docker sets: the given ones plus the namespace.
func (r *renderer) stackLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l)+1)
	maps.Copy(out, l)
	out[LabelNamespace] = r.stack
	return out
}

// ownLabels are docker's labels plus Flotilla's ownership labels, for the
// objects Flotilla creates.
func (r *renderer) ownLabels(l map[string]string) map[string]string {
	out := r.stackLabels(l)
	out[LabelManaged] = "true"
	out[LabelStack] = r.stack
	return out
}

func dedupeWarnings(ws []Warning) []Warning {
	seen := map[Warning]bool{}
	var out []Warning
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
