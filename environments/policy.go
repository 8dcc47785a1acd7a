package environments

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flotilla-gitops/flotilla/stack"
)

// PolicySpec is a policy: block as written, in defaults or an environment.
// A nil field was not written and inherits: an environment's from
// defaults.policy, defaults' from stack.DefaultPolicy. A list written empty
// ([]) is set, to nothing.
type PolicySpec struct {
	BindMounts       []string
	Capabilities     []string
	HostNetwork      *bool
	Privileged       *bool
	ExternalSecrets  []string
	ExternalConfigs  []string
	ExternalNetworks []string
	ExternalVolumes  []string

	at fieldPos
}

func (r *reader) policySpec(n *yaml.Node, what string) *PolicySpec {
	p := &PolicySpec{at: fieldPos{}}
	list := func(key string, dst *[]string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			items, _ := r.strList(v, what+"."+key)
			*dst = append([]string{}, items...) // written: never nil
		}
	}
	r.mapping(n, what, p.at, map[string]func(*yaml.Node){
		"bindMounts":       list("bindMounts", &p.BindMounts),
		"capabilities":     list("capabilities", &p.Capabilities),
		"hostNetwork":      func(v *yaml.Node) { p.HostNetwork = r.boolean(v, what+".hostNetwork") },
		"privileged":       func(v *yaml.Node) { p.Privileged = r.boolean(v, what+".privileged") },
		"externalSecrets":  list("externalSecrets", &p.ExternalSecrets),
		"externalConfigs":  list("externalConfigs", &p.ExternalConfigs),
		"externalNetworks": list("externalNetworks", &p.ExternalNetworks),
		"externalVolumes":  list("externalVolumes", &p.ExternalVolumes),
	})
	return p
}

var (
	capabilityName = regexp.MustCompile(`^(?i:ALL|(CAP_)?[A-Z_]+)$`)
	// objectPattern is a Swarm object name, with "*" wildcards.
	objectPattern = regexp.MustCompile(`^[A-Za-z0-9*][A-Za-z0-9_.*-]*$`)
)

func (v *validator) policySpec(p *PolicySpec, what string) {
	if p == nil {
		return
	}
	for _, m := range p.BindMounts {
		if !cleanAbs(m) {
			v.add(p.at.of("bindMounts"), "%s.bindMounts: %q must be an absolute, clean host path", what, m)
		}
	}
	for _, c := range p.Capabilities {
		if !capabilityName.MatchString(c) {
			v.add(p.at.of("capabilities"), "%s.capabilities: %q is not a capability name such as NET_ADMIN", what, c)
		}
	}
	for key, list := range map[string][]string{"externalSecrets": p.ExternalSecrets, "externalConfigs": p.ExternalConfigs,
		"externalNetworks": p.ExternalNetworks, "externalVolumes": p.ExternalVolumes} {
		for _, name := range list {
			if !objectPattern.MatchString(name) {
				v.add(p.at.of(key), "%s.%s: %q is not an object name or a pattern with *", what, key, name)
			}
		}
	}
}

// policy resolves the policy of environment s: its own fields, else
// defaults', else the built-in default; the operator's own secret files
// are never bind-mountable unless named, and the other stacks on the same
// cluster are not this one's.
func (c *Config) policy(s *EnvironmentSpec, cluster string) stack.Policy {
	p := stack.DefaultPolicy()
	switch {
	case s.Policy != nil && s.source != nil && s.source.include != nil:
		p.Name = "the policy of include " + s.source.include.Where()
	case s.Policy != nil && s.source != nil && s.source.discovery != nil:
		p.Name = "the policy of discover " + s.source.discovery.Where()
	case s.Policy != nil:
		p.Name = "environments." + s.Name + ".policy"
	case c.Defaults.Policy != nil:
		p.Name = "defaults.policy"
	}
	for _, spec := range []*PolicySpec{c.Defaults.Policy, s.Policy} {
		if spec == nil {
			continue
		}
		setList(&p.BindMounts, spec.BindMounts)
		setList(&p.Capabilities, spec.Capabilities)
		setList(&p.ExternalSecrets, spec.ExternalSecrets)
		setList(&p.ExternalConfigs, spec.ExternalConfigs)
		setList(&p.ExternalNetworks, spec.ExternalNetworks)
		setList(&p.ExternalVolumes, spec.ExternalVolumes)
		if spec.HostNetwork != nil {
			p.HostNetwork = *spec.HostNetwork
		}
		if spec.Privileged != nil {
			p.Privileged = *spec.Privileged
		}
	}
	names := c.EnvironmentNames()
	for _, dir := range c.secretDirs(names) {
		if !slices.Contains(p.DeniedBindMounts, dir) {
			p.DeniedBindMounts = append(p.DeniedBindMounts, dir)
		}
	}
	// A set, not a search of the list: the operator resolves environments
	// on every pass and webhook, and a cluster may hold hundreds of stacks.
	listed := make(map[string]bool, len(c.Environments))
	for _, st := range p.Stacks {
		listed[st] = true
	}
	for _, name := range names {
		other := c.Environments[name]
		if name == s.Name || other.Stack == "" || other.Stack == s.Stack || firstOf(other.Cluster, LocalCluster) != cluster || listed[other.Stack] {
			continue
		}
		listed[other.Stack] = true
		p.Stacks = append(p.Stacks, other.Stack)
	}
	return p
}

// cleanAbs accepts "/srv" and "/srv/", not "srv" or "/srv/../etc".
func cleanAbs(p string) bool {
	return filepath.IsAbs(p) && (p == "/" || filepath.Clean(p) == strings.TrimSuffix(p, "/"))
}

func setList(dst *[]string, src []string) {
	if src != nil {
		*dst = slices.Clone(src)
	}
}

// secretDirs are the directories holding the operator's own secrets —
// identities, Git credentials, engine keys and SSH keys, registry
// passwords, API tokens, webhook secrets —
// and its Git cache: a stack that bind-mounts one reads them all.
func (c *Config) secretDirs(envNames []string) []string {
	var files []string
	for _, name := range sortedKeys(c.Repos) {
		a := c.Repos[name].Auth
		files = append(files, a.SSHKeyFile, a.KnownHostsFile, a.TokenFile, a.PasswordFile)
	}
	for _, name := range sortedKeys(c.Clusters) {
		cl := c.Clusters[name]
		files = append(files, cl.SSHKeyFile, cl.KnownHostsFile)
		if t := cl.TLS; t != nil {
			files = append(files, t.Key, t.Cert, t.CA)
		}
	}
	for _, host := range sortedKeys(c.Registries) {
		r := c.Registries[host]
		files = append(files, r.PasswordFile, r.TokenFile)
	}
	for _, name := range envNames {
		files = append(files, c.Environments[name].Identities...)
	}
	for _, inc := range c.Includes {
		files = append(files, inc.Identities...)
	}
	for _, d := range c.Discover {
		files = append(files, d.Identities...)
	}
	if s := c.Server; s != nil {
		files = append(files, s.TokenFile, s.ReadTokenFile)
		if s.TLS != nil {
			files = append(files, s.TLS.KeyFile)
		}
		for _, h := range s.Webhooks {
			files = append(files, h.SecretFile)
		}
	}
	for _, n := range c.Notifications {
		files = append(files, n.URLFile)
	}
	var dirs []string
	if c.CacheDir != "" {
		dirs = append(dirs, filepath.Clean(c.CacheDir))
	}
	for _, f := range files {
		if f == "" || !filepath.IsAbs(f) {
			continue
		}
		if d := filepath.Dir(f); d != "/" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return dirs
}
