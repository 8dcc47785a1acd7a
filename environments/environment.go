package environments

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/flotilla-gitops/flotilla/stack"
)

// Environment is one environment with every default applied and every
// reference resolved: what a reconcile pass needs.
type Environment struct {
	Name string
	Repo *Repo
	// Ref is the full ref to deploy, e.g. refs/heads/dev. Branch is its
	// short name when it is a branch, for display.
	Ref    string
	Branch string
	// Path is the folder in the repository the stack files are relative to, "." for the root.
	Path     string
	Files    []string
	EnvFiles []string
	Stack    string
	Cluster  *Cluster
	// Variables and Identities are copies: changing them changes nothing in the Config.
	Variables        map[string]string
	Identities       []string
	Prune            bool
	OnFailure        OnFailure
	ProgressDeadline time.Duration
	// Schedule is when to poll Git, a cron expression; an interval is
	// "@every <interval>", which the cron library runs with the same jitter.
	Schedule string
	// Interval is the interval written, or 0 for a cron schedule.
	Interval    time.Duration
	SyncWindows []SyncWindow
	SelfHeal    SelfHeal
	// Policy is what the stack may do: check every render against it
	// (stack.CheckPolicy) before writing anything.
	Policy stack.Policy
	// ResolveImage is when tags are pinned to digests (default always).
	ResolveImage ResolveImage
	// WatchImages: re-resolve the tags the stack runs on the schedule and
	// deploy when one moved.
	WatchImages bool
	// Registries are the configuration's registry credentials, by host
	// (shared, not copied: read them only).
	Registries map[string]*Registry
}

// EnvironmentNames lists the environments, sorted.
func (c *Config) EnvironmentNames() []string {
	return slices.Sorted(maps.Keys(c.Environments))
}

// Environment resolves the environment called name.
func (c *Config) Environment(name string) (*Environment, error) {
	s := c.Environments[name]
	if s == nil {
		return nil, fmt.Errorf("unknown environment %q (defined: %s)", name, names(c.EnvironmentNames()))
	}
	repo := c.Repos[s.Repo]
	if repo == nil {
		return nil, fmt.Errorf("environment %q: unknown repo %q", name, s.Repo)
	}
	e := &Environment{
		Name:             name,
		Repo:             repo,
		Ref:              s.Ref,
		Path:             path.Clean(s.Path),
		Files:            cleanAll(s.Files),
		EnvFiles:         cleanAll(s.EnvFiles),
		Stack:            s.Stack,
		Variables:        maps.Clone(s.Variables),
		Identities:       slices.Clone(s.Identities),
		Prune:            DefaultPrune,
		OnFailure:        firstOf(s.OnFailure, c.Defaults.OnFailure, DefaultOnFailure),
		ProgressDeadline: firstOf(s.ProgressDeadline, c.Defaults.ProgressDeadline, DefaultProgressDeadline),
		SelfHeal:         firstOf(s.SelfHeal, DefaultSelfHeal),
		ResolveImage:     firstOf(s.ResolveImage, c.Defaults.ResolveImage, DefaultResolveImage),
		Registries:       c.Registries,
	}
	switch {
	case s.WatchImages != nil:
		e.WatchImages = *s.WatchImages
	case c.Defaults.WatchImages != nil:
		e.WatchImages = *c.Defaults.WatchImages
	}
	if s.Path == "" {
		e.Path = DefaultPath
	}
	e.Schedule, e.Interval = c.when(s)
	if s.Branch != "" {
		e.Branch, e.Ref = s.Branch, "refs/heads/"+s.Branch
	} else if b, ok := strings.CutPrefix(s.Ref, "refs/heads/"); ok {
		e.Branch = b
	}
	switch {
	case s.Prune != nil:
		e.Prune = *s.Prune
	case c.Defaults.Prune != nil:
		e.Prune = *c.Defaults.Prune
	}
	e.Cluster = c.Clusters[firstOf(s.Cluster, LocalCluster)]
	if e.Cluster == nil {
		if s.Cluster != "" && s.Cluster != LocalCluster {
			return nil, fmt.Errorf("environment %q: unknown cluster %q", name, s.Cluster)
		}
		e.Cluster = &Cluster{Name: LocalCluster}
	}
	e.Policy = c.policy(s, e.Cluster.Name)
	for _, w := range s.SyncWindows {
		e.SyncWindows = append(e.SyncWindows, SyncWindow{Kind: w.Kind, Schedule: w.Schedule, Duration: w.Duration})
	}
	return e, nil
}

// when is the environment's own schedule or interval, else defaults', else
// DefaultSchedule.
func (c *Config) when(s *EnvironmentSpec) (string, time.Duration) {
	for _, w := range []struct {
		schedule string
		interval time.Duration
	}{{s.Schedule, s.Interval}, {c.Defaults.Schedule, c.Defaults.Interval}} {
		switch {
		case w.schedule != "":
			return w.schedule, 0
		case w.interval > 0:
			return "@every " + w.interval.String(), w.interval
		}
	}
	return DefaultSchedule, 0
}

func firstOf[T comparable](vals ...T) T {
	var zero T
	for _, v := range vals {
		if v != zero {
			return v
		}
	}
	return zero
}

func cleanAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = path.Clean(p)
	}
	return out
}
