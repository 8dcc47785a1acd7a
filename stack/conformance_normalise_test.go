package stack_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// normalise turns a snapshot into comparable text-keyed data: the stack
// name becomes STACK, IDs of secrets and configs are dropped, versioned
// secret and config names lose their version, subnets the engine assigned
// become ASSIGNED and Flotilla's own labels are removed.
func normalise(t *testing.T, s liveStack, name string) map[string]any {
	t.Helper()
	var secretNames, configNames map[string]string
	s.Secrets, secretNames = unversion(s.Secrets, func(x *swarm.SecretSpec) *swarm.Annotations { return &x.Annotations }, name)
	s.Configs, configNames = unversion(s.Configs, func(x *swarm.ConfigSpec) *swarm.Annotations { return &x.Annotations }, name)
	for k, svc := range s.Services {
		svc.Labels = stripOwn(svc.Labels)
		for _, r := range svc.TaskTemplate.ContainerSpec.Secrets {
			r.SecretID = ""
			if n, ok := secretNames[r.SecretName]; ok {
				r.SecretName = n
			}
		}
		for _, r := range svc.TaskTemplate.ContainerSpec.Configs {
			r.ConfigID = ""
			if n, ok := configNames[r.ConfigName]; ok {
				r.ConfigName = n
			}
		}
		s.Services[k] = svc
	}
	for k, n := range s.Networks {
		n.Labels = stripOwn(n.Labels)
		// The engine picks the VXLAN ID; both deployments get a different one.
		delete(n.Options, "com.docker.network.driver.overlay.vxlanid_list")
		for i, cfg := range n.IPAM.Config {
			if strings.HasPrefix(cfg.Subnet, "10.") {
				n.IPAM.Config[i].Subnet, n.IPAM.Config[i].Gateway = "ASSIGNED", "ASSIGNED"
			}
		}
		s.Networks[k] = n
	}
	for k, sec := range s.Secrets {
		sec.Labels = stripOwn(sec.Labels)
		s.Secrets[k] = sec
	}
	for k, cfg := range s.Configs {
		cfg.Labels = stripOwn(cfg.Labels)
		s.Configs[k] = cfg
	}
	return renameDeep(toGeneric(t, s), name)
}

// versionSuffix is the "_<version>" a versioned name ends in: 12 characters
// of lower-case base32 (secrets.VersionLen).
var versionSuffix = regexp.MustCompile(`^_[a-z2-7]{12}$`)

// unversion gives the objects Flotilla versioned (stack.LabelVersion) the
// name docker gives them, <stack>_<key>, and returns the renames. A name
// not of the form <stack>_<key>_<version> is kept, so the comparison shows it.
func unversion[T any](objs map[string]T, annotations func(*T) *swarm.Annotations, stackName string) (map[string]T, map[string]string) {
	out, renamed := make(map[string]T, len(objs)), map[string]string{}
	for name, obj := range objs {
		a := annotations(&obj)
		version, ok := a.Labels[stack.LabelVersion]
		docker := stackName + "_" + a.Labels[stack.LabelName]
		if suffix, cut := strings.CutPrefix(name, docker); ok && cut && suffix == "_"+version && versionSuffix.MatchString(suffix) {
			a.Name, renamed[name], name = docker, docker, docker
		}
		out[name] = obj
	}
	return out, renamed
}

func stripOwn(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !strings.HasPrefix(k, stack.LabelPrefix) {
			out[k] = v
		}
	}
	return out
}

// renameDeep replaces the stack name in every string and map key.
func renameDeep(v any, name string) map[string]any {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return strings.ReplaceAll(x, name, "STACK")
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
			return x
		case map[string]any:
			out := make(map[string]any, len(x))
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out[strings.ReplaceAll(k, name, "STACK")] = walk(x[k])
			}
			return out
		}
		return v
	}
	return walk(v).(map[string]any)
}

func toGeneric(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDockerIgnored pins the parsing of docker's own report (CLI 28.2), so
// the conformance check of warnings cannot pass by reading nothing.
func TestDockerIgnored(t *testing.T) {
	out := "Ignoring unsupported options: build, links, restart\n\nIgnoring deprecated options:\n\n" +
		"container_name: Setting the container name is not supported.\n\n" +
		"expose: Exposing ports is unnecessary - services on the same network can access each other's containers on any port.\n\n" +
		"Creating network x_default\nCreating service x_a\n"
	got := dockerIgnored(out)
	want := []string{"build", "links", "container_name", "expose"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("dockerIgnored = %q, want %q", got, want)
	}
}
