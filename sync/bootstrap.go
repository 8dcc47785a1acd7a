package sync

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/flotilla-gitops/flotilla/environments"
)

// Bootstrap is where a configuration's include: and discover: entries
// read the environments they declare in Git: the commit each one is at.
type Bootstrap struct {
	// Commits name each entry's commit, "include[0]=<sha>", in order: two
	// expansions from the same commits are the same.
	Commits []string
}

// Same reports whether b was read from the same commits as o.
func (b Bootstrap) Same(o Bootstrap) bool {
	return strings.Join(b.Commits, " ") == strings.Join(o.Commits, " ")
}

// Expand adds to base the environments its include: and discover: entries
// declare, read straight from the commit trees of their repositories (one
// fetch each, through this Syncer's Git cache). A configuration without
// them is returned as it is. An invalid declaration is an error naming the
// file and line in Git; the caller keeps the last good set.
func (s *Syncer) Expand(ctx context.Context, base *environments.Config) (*environments.Config, Bootstrap, error) {
	var b Bootstrap
	if len(base.Includes) == 0 && len(base.Discover) == 0 {
		return base, b, nil
	}
	tree := func(kind string, i int, repo, ref string) (fs.FS, error) {
		r := base.Repos[repo]
		if r == nil {
			return nil, fmt.Errorf("%s[%d]: unknown repository %q", kind, i, repo)
		}
		rev, err := s.Repo(r).Fetch(ctx, ref)
		if err != nil {
			return nil, &RetryError{Err: fmt.Errorf("%s[%d]: %w", kind, i, err)}
		}
		b.Commits = append(b.Commits, fmt.Sprintf("%s[%d]=%s", kind, i, rev.SHA))
		return s.Repo(r).FS(rev.SHA, ".")
	}
	var trees environments.Trees
	for i, inc := range base.Includes {
		t, err := tree("include", i, inc.Repo, inc.FullRef())
		if err != nil {
			return nil, b, err
		}
		trees.Include = append(trees.Include, t)
	}
	for i, d := range base.Discover {
		t, err := tree("discover", i, d.Repo, d.FullRef())
		if err != nil {
			return nil, b, err
		}
		trees.Discover = append(trees.Discover, t)
	}
	cfg, err := environments.Expand(base, trees)
	return cfg, b, err
}

// ConfigStack is the history key under which refused configurations from
// Git are recorded, on the local cluster: `flotilla history` of no
// environment, but audited like one.
const ConfigStack = "flotilla-configuration"

// RecordRefusedConfig records in the local cluster's history that the
// environments declared in Git at b were refused, and why.
func (s *Syncer) RecordRefusedConfig(ctx context.Context, b Bootstrap, cause error) error {
	c := s.cfg.Clusters[environments.LocalCluster]
	if c == nil {
		c = &environments.Cluster{Name: environments.LocalCluster}
	}
	d, err := s.Docker(ctx, c)
	if err != nil {
		return err
	}
	now := s.now()
	_, err = s.history(d).Append(ctx, Record{Environment: "(configuration)", Stack: ConfigStack, Trigger: TriggerConfig,
		Plan: "environments declared in Git: " + strings.Join(b.Commits, ", "), Outcome: Failed, Error: cause.Error(),
		Started: now, Finished: now})
	return err
}
