package diff

import (
	"fmt"
	"sort"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// Compute compares a stack's desired objects with its live ones and returns
// the plan that converges them. It is pure: the same inputs give the same
// plan, and it reads and logs nothing.
func Compute(desired *stack.Desired, live *stack.Live) Plan {
	if live == nil {
		live = &stack.Live{Stack: desired.Stack}
	}
	desired, adoptNotes := adoptDockerNames(desired, live)
	p := Plan{Stack: desired.Stack}
	for _, w := range desired.Warnings {
		if w.Service != "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("service %s: %s: %s", w.Service, w.Key, w.Message))
		} else {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: %s", w.Key, w.Message))
		}
	}

	netNames := make(map[string]string, len(live.NetworkNames)+len(live.Networks))
	exists := make(map[string]bool, len(live.NetworkNames))
	for id, name := range live.NetworkNames {
		netNames[id] = name
		exists[name] = true
	}
	nets := make(map[string]*network.Summary, len(live.Networks))
	for i, n := range live.Networks {
		exists[n.Name] = true
		netNames[n.ID] = n.Name
		nets[n.Name] = &live.Networks[i]
	}
	services := indexBy(live.Services, func(s swarm.Service) string { return s.Spec.Name })
	secrets := indexBy(live.Secrets, func(s swarm.Secret) string { return s.Spec.Name })
	configs := indexBy(live.Configs, func(c swarm.Config) string { return c.Spec.Name })
	users := usersOf(desired, live, netNames)
	wanted := map[Kind]map[string]bool{KindNetwork: {}, KindSecret: {}, KindConfig: {}, KindService: {}}

	for _, d := range desired.Networks {
		if d.External {
			if !exists[d.Name] {
				p.Warnings = append(p.Warnings, fmt.Sprintf("network %s is declared external but does not exist", d.Name))
			}
			continue
		}
		wanted[KindNetwork][d.Name] = true
		l, ok := nets[d.Name]
		if !ok {
			p.Changes = append(p.Changes, Change{Kind: KindNetwork, Name: d.Name, Action: ActionCreate, Effect: EffectNone, Network: &d})
			continue
		}
		c, warnings := compareNetwork(d, l, users[usesKey{KindNetwork, d.Name}])
		p.Changes = append(p.Changes, c)
		p.Warnings = append(p.Warnings, warnings...)
	}
	for _, d := range desired.Secrets {
		if d.Source.Kind == stack.SourceExternal {
			continue
		}
		wanted[KindSecret][d.Name] = true
		if l, ok := secrets[d.Name]; ok {
			c := compareSecret(d, l, users[usesKey{KindSecret, d.Name}])
			if note := adoptNotes[d.Name]; note != "" {
				c.Reasons = []string{note}
			}
			p.Changes = append(p.Changes, c)
		} else {
			p.Changes = append(p.Changes, Change{Kind: KindSecret, Name: d.Name, Action: ActionCreate, Effect: EffectNone, Secret: &d})
		}
	}
	for _, d := range desired.Configs {
		if d.Source.Kind == stack.SourceExternal {
			continue
		}
		wanted[KindConfig][d.Name] = true
		if l, ok := configs[d.Name]; ok {
			p.Changes = append(p.Changes, compareConfig(d, l, users[usesKey{KindConfig, d.Name}]))
		} else {
			p.Changes = append(p.Changes, Change{Kind: KindConfig, Name: d.Name, Action: ActionCreate, Effect: EffectNone, Config: &d})
		}
	}
	for _, d := range desired.Services {
		wanted[KindService][d.Name] = true
		if l, ok := services[d.Name]; ok {
			p.Changes = append(p.Changes, compareService(d, l, netNames))
		} else {
			p.Changes = append(p.Changes, Change{Kind: KindService, Name: d.Name, Action: ActionCreate, Effect: EffectNone,
				Service: withSpecHash(d), Attributes: serviceAttributes(d.Spec)})
		}
	}

	// Versioned secrets and configs the stack still uses, by logical name:
	// their older versions are superseded.
	current := map[Kind]map[string]string{KindSecret: {}, KindConfig: {}}
	for _, d := range desired.Secrets {
		if d.Labels[stack.LabelVersion] != "" {
			current[KindSecret][d.Key] = d.Name
		}
	}
	for _, d := range desired.Configs {
		if d.Labels[stack.LabelVersion] != "" {
			current[KindConfig][d.Key] = d.Name
		}
	}

	// Deletes: what the stack owns on the engine and no longer wants.
	// Unlabelled objects in the stack's scope are never deleted.
	remove := func(kind Kind, name string, l *Live, labels map[string]string, effect Effect) {
		if wanted[kind][name] {
			return
		}
		if !owned(labels) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s is named in stack %s's scope but has no stack label: left alone", kind, name, desired.Stack))
			return
		}
		l.Labels = labels
		c := Change{Kind: kind, Name: name, Action: ActionDelete, Effect: effect, Live: l}
		if next, ok := current[kind][labels[stack.LabelName]]; ok && labels[stack.LabelVersion] != "" {
			c.Superseded = true
			c.Reasons = append(c.Reasons, fmt.Sprintf("an older version of %s %s: removed once the deploy succeeds", kind, next))
		}
		p.Changes = append(p.Changes, c)
	}
	for i, n := range live.Networks {
		remove(KindNetwork, n.Name, &Live{ID: n.ID, Network: &live.Networks[i]}, n.Labels, EffectNone)
	}
	for _, s := range live.Secrets {
		remove(KindSecret, s.Spec.Name, &Live{ID: s.ID, Version: s.Version}, s.Spec.Labels, EffectNone)
	}
	for _, c := range live.Configs {
		remove(KindConfig, c.Spec.Name, &Live{ID: c.ID, Version: c.Version}, c.Spec.Labels, EffectNone)
	}
	for _, s := range live.Services {
		spec := s.Spec
		remove(KindService, s.Spec.Name, &Live{ID: s.ID, Version: s.Version, Spec: &spec}, s.Spec.Labels, EffectRemove)
	}
	sortChanges(p.Changes)
	return p
}

// rank orders kinds for apply: what services reference comes first.
var rank = map[Kind]int{KindNetwork: 0, KindSecret: 1, KindConfig: 1, KindService: 2}

// sortChanges puts changes in apply order: networks, secrets and configs,
// services; then the deletes, in the reverse order, so a service goes before
// the network it was attached to.
func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		ad, bd := a.Action == ActionDelete, b.Action == ActionDelete
		if ad != bd {
			return bd
		}
		if rank[a.Kind] != rank[b.Kind] {
			if ad {
				return rank[a.Kind] > rank[b.Kind]
			}
			return rank[a.Kind] < rank[b.Kind]
		}
		if a.Kind != b.Kind {
			return a.Kind > b.Kind // secrets before configs
		}
		return a.Name < b.Name
	})
}

func sortFields(fs []Field) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}

func indexBy[T any](items []T, name func(T) string) map[string]*T {
	m := make(map[string]*T, len(items))
	for i := range items {
		m[name(items[i])] = &items[i]
	}
	return m
}

type usesKey struct {
	kind Kind
	name string
}

// usersOf maps each network, secret and config to the services that use it,
// desired or live, so a replace can say what it affects.
func usersOf(desired *stack.Desired, live *stack.Live, netNames map[string]string) map[usesKey][]string {
	sets := map[usesKey]map[string]bool{}
	add := func(kind Kind, name, svc string) {
		k := usesKey{kind, name}
		if sets[k] == nil {
			sets[k] = map[string]bool{}
		}
		sets[k][svc] = true
	}
	collect := func(svc string, spec swarm.ServiceSpec, ids map[string]string) {
		for _, n := range spec.TaskTemplate.Networks {
			name := n.Target
			if ids[name] != "" {
				name = ids[name]
			}
			add(KindNetwork, name, svc)
		}
		if c := spec.TaskTemplate.ContainerSpec; c != nil {
			for _, s := range c.Secrets {
				add(KindSecret, s.SecretName, svc)
			}
			for _, r := range c.Configs {
				add(KindConfig, r.ConfigName, svc)
			}
		}
	}
	for _, s := range desired.Services {
		collect(s.Name, s.Spec, nil)
	}
	for _, s := range live.Services {
		collect(s.Spec.Name, s.Spec, netNames)
	}
	out := make(map[usesKey][]string, len(sets))
	for k, set := range sets {
		out[k] = sortedKeys(set)
	}
	return out
}
