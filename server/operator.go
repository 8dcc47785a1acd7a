package server

import (
	"context"
	gosync "sync"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Operator is what the HTTP layer needs from the running operator. The
// scheduler loop implements it; tests fake it.
//
// It speaks only in sync's and environments' types so that package sync can
// implement it without importing server (which imports sync). The server
// answers 404 itself for a name not in Config().Environments, and also for
// an error wrapping sync.ErrUnknownEnvironment (a reload removed it
// meanwhile); an error wrapping sync.ErrStopping answers 503.
type Operator interface {
	// Config is the configuration in force now; after a reload the server
	// sees the new environments and repositories at the next request. The
	// server only reads it.
	Config() *environments.Config
	// Ready reports nil when the configuration is loaded and every cluster
	// is reachable; otherwise why not, for /readyz.
	Ready(ctx context.Context) error
	Status(ctx context.Context, env string) (*sync.Status, error)
	// History is env's records, oldest first.
	History(ctx context.Context, env string) ([]sync.Record, error)
	// Trigger queues a pass of env and returns at once; a trigger arriving
	// while a pass runs or waits coalesces into one follow-up pass. force
	// applies a quarantined commit and overrides a closed sync window. An
	// error means the pass was not queued (the operator is stopping).
	Trigger(env string, t sync.Trigger, force bool) error
	// Rollback deploys an earlier good commit of env (to: a full or
	// abbreviated SHA, or "" for the last good one before the current) and
	// pins env there, in env's turn (after a pass under way). It runs to
	// completion before returning.
	Rollback(ctx context.Context, env, to string) (*sync.Report, error)
	// Resume lifts env's pin in env's turn; a pass from the branch tip
	// follows.
	Resume(ctx context.Context, env string) error
}

// watch is one environment following a repository's ref.
type watch struct {
	env, repoURL, ref string
}

// watches lists what each environment of cfg follows.
func watches(cfg *environments.Config) []watch {
	var out []watch
	if cfg == nil {
		return nil
	}
	for _, name := range cfg.EnvironmentNames() {
		e, err := cfg.Environment(name)
		if err != nil {
			continue // a loaded config resolves; an odd one just matches nothing
		}
		out = append(out, watch{env: name, repoURL: e.Repo.URL, ref: e.Ref})
	}
	return out
}

// watchIndex is what each environment of one configuration follows, by
// ref: a webhook looks its push up without resolving every environment
// (about 50 µs each) again.
type watchIndex struct {
	mu    gosync.Mutex
	cfg   *environments.Config
	byRef map[string][]watch
}

// watching returns the environments of cfg that follow ref of any of urls,
// sorted.
func (x *watchIndex) watching(cfg *environments.Config, urls []string, ref string) []string {
	x.mu.Lock()
	if x.cfg != cfg || x.byRef == nil {
		x.cfg, x.byRef = cfg, map[string][]watch{}
		for _, w := range watches(cfg) {
			x.byRef[w.ref] = append(x.byRef[w.ref], w)
		}
	}
	candidates := x.byRef[ref]
	x.mu.Unlock()
	var envs []string
	for _, w := range candidates {
		for _, u := range urls {
			if sameRepo(w.repoURL, u) {
				envs = append(envs, w.env)
				break
			}
		}
	}
	return envs
}

// known reports whether env is configured.
func known(op Operator, env string) bool {
	cfg := op.Config()
	return cfg != nil && cfg.Environments[env] != nil
}
