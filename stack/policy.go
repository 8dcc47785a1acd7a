package stack

import (
	"fmt"
	"strings"
)

// Policy says what a stack may ask of the nodes it runs on and of the
// objects outside it: whoever can push to a branch an environment follows
// deploys that stack, and a policy keeps them to it — a branch author
// deploys their stack and nothing more. CheckPolicy applies it to a
// rendered stack before anything is written.
//
// The operator gives every environment a policy (DefaultPolicy unless its
// configuration says otherwise); `flotilla deploy` run by a person who
// already has the engine's API applies none unless asked.
type Policy struct {
	// Name says where the policy comes from, in messages: "default",
	// `environment "prod"`.
	Name string
	// BindMounts are the host paths bind mounts may use: a source must be
	// one of them or inside one. Empty means any path but the denied ones.
	// A volume whose local driver binds a host directory counts as a bind
	// mount of that directory.
	BindMounts []string
	// DeniedBindMounts are host paths a bind mount may not be, sit inside or
	// contain (binding /var exposes /var/run/docker.sock), however broad
	// BindMounts is — unless BindMounts names the denied path itself or a
	// path inside it. DefaultDeniedBindMounts, plus the operator's own
	// secrets.
	DeniedBindMounts []string
	// Capabilities are what cap_add may grant ("NET_ADMIN" or
	// "CAP_NET_ADMIN"; "ALL" allows any). Empty allows none.
	Capabilities []string
	// HostNetwork allows services on the host network, where they see the
	// node's interfaces and every port bound on it.
	HostNetwork bool
	// Privileged allows the keys that ask for host privileges which swarm
	// services ignore (PrivilegedKeys). Refused by default, so that a
	// stack written for `docker compose` is not deployed believing it has
	// them, and an engine that honoured them would grant nothing new.
	Privileged bool
	// External objects the stack may use, by exact name or a pattern with
	// "*" ("shared_*"). Empty allows none. An object of another stack (a
	// name in Stacks' namespaces) or a versioned secret or config name
	// (<stack>_<name>_<version>) is allowed only by its exact name: a
	// pattern never reaches into another environment.
	ExternalSecrets  []string
	ExternalConfigs  []string
	ExternalNetworks []string
	ExternalVolumes  []string
	// Stacks are the other stacks on the cluster. Names in their
	// namespace (<stack>_…) belong to them: this stack may not create
	// objects there, nor use them as external unless allow-listed exactly.
	Stacks []string
}

// String describes the policy in one line, for a plan's header.
func (p Policy) String() string {
	list := func(l []string, none string) string {
		if len(l) == 0 {
			return none
		}
		return strings.Join(l, ", ")
	}
	return fmt.Sprintf("%s (bind mounts: %s; capabilities: %s; host network: %t; privileged keys: %t; external secrets: %s, configs: %s, networks: %s, volumes: %s)",
		p.Name, list(p.BindMounts, "any but "+strings.Join(p.DeniedBindMounts, ", ")), list(p.Capabilities, "none"),
		p.HostNetwork, p.Privileged, list(p.ExternalSecrets, "none"), list(p.ExternalConfigs, "none"),
		list(p.ExternalNetworks, "none"), list(p.ExternalVolumes, "none"))
}

// DefaultDeniedBindMounts are the host paths no bind mount may reach by
// default: the engine's socket (root on every node of the cluster), its
// data, the host's configuration, kernel interfaces, devices and root's
// home. "/" is denied through them: it contains them all.
var DefaultDeniedBindMounts = []string{
	"/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker",
	"/etc", "/proc", "/sys", "/dev", "/boot", "/root",
}

// PrivilegedKeys are service keys asking for host privileges that swarm
// services ignore; Policy.Privileged allows them.
var PrivilegedKeys = []string{"privileged", "devices", "network_mode", "pid", "ipc", "userns_mode", "cgroup_parent"}

// DefaultPolicy is the policy of an environment whose configuration sets
// none: no denied bind mount, no added capability, no host network, no
// privileged key, and no external object.
func DefaultPolicy() Policy {
	return Policy{Name: "default", DeniedBindMounts: append([]string(nil), DefaultDeniedBindMounts...)}
}

// Rule is the part of a policy a violation breaks.
type Rule string

const (
	RuleBindMount    Rule = "bind-mount"
	RuleCapabilities Rule = "capabilities"
	RuleHostNetwork  Rule = "host-network"
	RulePrivileged   Rule = "privileged"
	RuleExternal     Rule = "external"
	RuleOtherStack   Rule = "other-stack"
)

// Violation is one thing a policy refuses.
type Violation struct {
	// Service is the service's key in the stack file ("web"), or "" for a
	// network, volume, secret or config.
	Service string
	// Object names what was refused: "bind mount /var/run/docker.sock",
	// "secret shop_db".
	Object string
	Rule   Rule
	// Why, and what setting would allow it.
	Detail string
}

func (v Violation) String() string {
	where := v.Object
	if v.Service != "" {
		where = "service " + v.Service + ": " + v.Object
	}
	return fmt.Sprintf("%s: %s: %s", where, v.Rule, v.Detail)
}

// PolicyError is a stack its policy refuses, with every violation.
type PolicyError struct {
	Stack      string
	Files      []string
	Policy     string
	Violations []Violation
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	if len(e.Files) > 0 {
		b.WriteString(strings.Join(e.Files, " + ") + ": ")
	}
	fmt.Fprintf(&b, "stack %s is refused by policy %q:", e.Stack, e.Policy)
	for _, v := range e.Violations {
		b.WriteString("\n  " + v.String())
	}
	return b.String()
}
