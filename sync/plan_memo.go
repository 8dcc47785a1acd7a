package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	gosync "sync"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// plans remembers, per environment, the last plan a look computed and what
// it was computed from, so that the next look from the same desired state
// and the same live objects takes it instead of planning again: the plan
// of an idle stack is most of an idle tick's work. diff.Compute is pure,
// and the engine gives an object a new version on every change to it, so
// the same desired state (the same kept render) and the same IDs and
// versions make the same plan. Only plans whose images needed no registry
// are kept: a registry answer can change without the cluster changing.
type plans struct {
	mu    gosync.Mutex
	byEnv map[string]planMemo
}

type planMemo struct {
	desired *stack.Desired
	live    string
	plan    diff.Plan
}

func (m *plans) get(env string, desired *stack.Desired, live string) (diff.Plan, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.byEnv[env]
	if !ok || p.desired != desired || p.live != live {
		return diff.Plan{}, false
	}
	return p.plan, true
}

func (m *plans) put(env string, desired *stack.Desired, live string, plan diff.Plan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byEnv[env] = planMemo{desired: desired, live: live, plan: plan}
}

// liveFingerprint is what a plan reads of the live stack: each object's ID
// and version (its spec, labels and data change with it), the networks as
// listed (they have no version, and their options appear only once the
// swarm allocates them), the names of the networks the services attach to,
// and whether the desired external networks exist.
func liveFingerprint(desired *stack.Desired, live *stack.Live) string {
	h := sha256.New()
	add := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	for _, s := range live.Services {
		add("service", s.ID, strconv.FormatUint(s.Version.Index, 10))
		for _, att := range s.Spec.TaskTemplate.Networks {
			add("attached", att.Target, live.NetworkNames[att.Target])
		}
	}
	for _, s := range live.Secrets {
		add("secret", s.ID, strconv.FormatUint(s.Version.Index, 10))
	}
	for _, c := range live.Configs {
		add("config", c.ID, strconv.FormatUint(c.Version.Index, 10))
	}
	for _, n := range live.Networks {
		b, _ := json.Marshal(n)
		add("network", string(b))
	}
	names := map[string]bool{}
	for _, name := range live.NetworkNames {
		names[name] = true
	}
	for _, n := range desired.Networks {
		if n.External {
			add("external", n.Name, strconv.FormatBool(names[n.Name]))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// countingResolver counts the images it resolves.
type countingResolver struct {
	r cluster.Resolver
	n int
}

func (c *countingResolver) ResolveImage(ctx context.Context, image string, auth cluster.RegistryAuth) (cluster.Resolved, error) {
	c.n++
	return c.r.ResolveImage(ctx, image, auth)
}
