package stack

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/mount"
)

// CheckPolicy returns a *PolicyError listing everything in d that p
// refuses, or nil. It is pure: it looks only at the rendered stack, so it
// runs before anything is written.
func CheckPolicy(d *Desired, p Policy) error {
	c := &policyCheck{p: p, d: d, users: objectUsers(d)}
	for _, s := range d.Services {
		c.service(s)
	}
	privileged := map[string]bool{}
	for _, k := range PrivilegedKeys {
		privileged[k] = true
	}
	for _, w := range d.Warnings {
		if privileged[w.Key] && !p.Privileged {
			c.add(w.Service, "key "+w.Key, RulePrivileged,
				"it asks for host privileges; swarm services ignore it, and the policy refuses it (policy.privileged)")
		}
	}
	for _, n := range d.Networks {
		if n.External && n.Name == "host" {
			continue // the host-network rule, per service
		}
		c.object("network", n.Name, n.External, p.ExternalNetworks, "policy.externalNetworks")
	}
	for _, v := range d.Volumes {
		// A volume binding a host directory is checked where services
		// mount it: swarm creates volumes only for tasks.
		c.object("volume", v.Name, v.External, p.ExternalVolumes, "policy.externalVolumes")
	}
	for _, s := range d.Secrets {
		c.object("secret", s.Name, s.Source.Kind == SourceExternal, p.ExternalSecrets, "policy.externalSecrets")
	}
	for _, cf := range d.Configs {
		c.object("config", cf.Name, cf.Source.Kind == SourceExternal, p.ExternalConfigs, "policy.externalConfigs")
	}
	if len(c.violations) == 0 {
		return nil
	}
	return &PolicyError{Stack: d.Stack, Files: d.Files, Policy: p.Name, Violations: c.violations}
}

type policyCheck struct {
	p          Policy
	d          *Desired
	users      map[string][]string // "secret shop_db" → the services using it
	violations []Violation
}

func (c *policyCheck) add(service, object string, rule Rule, detail string) {
	c.violations = append(c.violations, Violation{Service: service, Object: object, Rule: rule, Detail: detail})
}

func (c *policyCheck) service(s Service) {
	key := strings.TrimPrefix(s.Name, c.d.Stack+"_")
	cs := s.Spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return
	}
	for _, m := range cs.Mounts {
		switch m.Type {
		case mount.TypeBind, mount.TypeNamedPipe:
			c.bind(key, string(m.Type)+" mount "+m.Source, m.Source)
		case mount.TypeVolume:
			if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
				if src, ok := volumeBind(m.VolumeOptions.DriverConfig.Name, m.VolumeOptions.DriverConfig.Options); ok {
					c.bind(key, "volume "+m.Source+" (a local bind of "+src+")", src)
				}
			}
		}
	}
	for _, capability := range cs.CapabilityAdd {
		if !capabilityAllowed(capability, c.p.Capabilities) {
			c.add(key, "cap_add "+capability, RuleCapabilities, "not among the capabilities the policy allows (policy.capabilities)")
		}
	}
	for _, n := range s.Spec.TaskTemplate.Networks {
		if n.Target == "host" && !c.p.HostNetwork {
			c.add(key, "network host", RuleHostNetwork, "the host network exposes the node's interfaces and ports (policy.hostNetwork)")
		}
	}
}

// bind checks one host path a service or volume would mount.
func (c *policyCheck) bind(service, object, source string) {
	if !path.IsAbs(source) {
		c.add(service, object, RuleBindMount, "the source is not an absolute host path")
		return
	}
	src := path.Clean(source)
	if len(c.p.BindMounts) > 0 && !slices.ContainsFunc(c.p.BindMounts, func(a string) bool { return within(src, path.Clean(a)) }) {
		c.add(service, object, RuleBindMount, "not inside a path the policy allows (policy.bindMounts: "+strings.Join(c.p.BindMounts, ", ")+")")
		return
	}
	for _, denied := range c.p.DeniedBindMounts {
		denied = path.Clean(denied)
		if !touches(src, denied) {
			continue
		}
		opened := slices.ContainsFunc(c.p.BindMounts, func(a string) bool {
			a = path.Clean(a)
			return within(a, denied) && touches(a, src)
		})
		if !opened {
			what := "is inside"
			switch {
			case src == denied:
				what = "is"
			case within(denied, src):
				what = "contains"
			}
			c.add(service, object, RuleBindMount, what+" "+denied+", which the policy refuses unless policy.bindMounts names it")
			return
		}
	}
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// touches reports whether one of a and b contains the other.
func touches(a, b string) bool { return within(a, b) || within(b, a) }

// volumeBind recognises a volume of the local driver that binds a host
// directory (driver_opts type: none, o: bind, device: /path): a bind mount
// by another name.
func volumeBind(driver string, opts map[string]string) (string, bool) {
	if driver != "" && driver != "local" {
		return "", false
	}
	for _, o := range strings.Split(opts["o"], ",") {
		if o = strings.TrimSpace(o); o == "bind" || o == "rbind" {
			return opts["device"], true
		}
	}
	return "", false
}

func capabilityAllowed(capability string, allowed []string) bool {
	capability = normalCap(capability)
	for _, a := range allowed {
		if a = normalCap(a); a == "ALL" || a == capability {
			return true
		}
	}
	return false
}

func normalCap(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// object checks a network, volume, secret or config of the stack by name.
func (c *policyCheck) object(kind, name string, external bool, allow []string, setting string) {
	users := c.users[kind+" "+name]
	service := strings.Join(users, ", ")
	owner := c.owner(name)
	if !external {
		if owner != "" {
			c.add(service, kind+" "+name, RuleOtherStack, "the name is in stack "+owner+"'s namespace ("+owner+"_…)")
		}
		return
	}
	exact, matched := allowedName(name, allow)
	switch {
	case exact:
	case owner != "" && matched:
		c.add(service, "external "+kind+" "+name, RuleOtherStack,
			"it belongs to stack "+owner+"; only an exact name in "+setting+" allows it, not a pattern")
	case versionedName.MatchString(name) && matched:
		c.add(service, "external "+kind+" "+name, RuleOtherStack,
			"it is a versioned name another environment rotates; only an exact name in "+setting+" allows it, not a pattern")
	case !matched && owner != "":
		c.add(service, "external "+kind+" "+name, RuleOtherStack, "it belongs to stack "+owner+" ("+setting+" does not name it)")
	case !matched:
		c.add(service, "external "+kind+" "+name, RuleExternal, "not in "+setting)
	}
}

// versionedName is <stack>_<name>_<version>, the version as
// secrets.Versioner writes it.
var versionedName = regexp.MustCompile(`^[^_]+.*_.+_[a-z2-7]{12}$`)

// owner names the other stack whose namespace name is in: the longest
// stack prefix among the policy's stacks and this one decides.
func (c *policyCheck) owner(name string) string {
	best := ""
	for _, s := range append([]string{c.d.Stack}, c.p.Stacks...) {
		if strings.HasPrefix(name, s+"_") && len(s) > len(best) {
			best = s
		}
	}
	if best == c.d.Stack {
		return ""
	}
	return best
}

// allowedName says whether name is in the allow-list exactly, or matches
// a pattern of it.
func allowedName(name string, allow []string) (exact, matched bool) {
	for _, a := range allow {
		if a == name {
			return true, true
		}
		if strings.Contains(a, "*") && glob(a, name) {
			matched = true
		}
	}
	return false, matched
}

// glob matches name against a pattern holding at least one "*", its only
// wildcard.
func glob(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, last)
}

// objectUsers maps "kind name" to the keys of the services using it.
func objectUsers(d *Desired) map[string][]string {
	out := map[string][]string{}
	use := func(object, service string) {
		if !slices.Contains(out[object], service) {
			out[object] = append(out[object], service)
		}
	}
	for _, s := range d.Services {
		key := strings.TrimPrefix(s.Name, d.Stack+"_")
		for _, n := range s.Spec.TaskTemplate.Networks {
			use("network "+n.Target, key)
		}
		cs := s.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		for _, r := range cs.Secrets {
			use("secret "+r.SecretName, key)
		}
		for _, r := range cs.Configs {
			use("config "+r.ConfigName, key)
		}
		for _, m := range cs.Mounts {
			if m.Type == mount.TypeVolume && m.Source != "" {
				use("volume "+m.Source, key)
			}
		}
	}
	return out
}
