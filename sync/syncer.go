package sync

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// Syncer runs reconcile passes for the environments of one configuration.
// It shares one Repo per configured repository (fetched once for all the
// environments deploying from it) and one engine connection per cluster.
type Syncer struct {
	cfg *environments.Config
	log *slog.Logger
	now func() time.Time

	// VersionKeyFile keys the versions of secret and config names for
	// environments without age identities (see secrets.VersionerFor).
	VersionKeyFile string

	// GitTimeouts bound every conversation with a Git remote (zero: the
	// defaults).
	GitTimeouts Timeouts
	// Holder names this process in the stacks' leases and journals.
	Holder cluster.Holder
	// LeaseTTL is how long a stack's lease outlives a writer that stopped
	// renewing it (default 30s).
	LeaseTTL time.Duration
	// PollInterval is how often a pass looks at a stack's health while it
	// settles (default 1s).
	PollInterval time.Duration

	// ObserveGit, when set before the first pass, is told of every request
	// to a Git remote (for metrics).
	ObserveGit func(kind string, err error, took time.Duration)
	// ObserveEngine, when set before the first pass, is told of every
	// request to a cluster's engine, by kind (see cluster.RequestKind).
	ObserveEngine func(kind string)

	mu       gosync.Mutex
	repos    map[string]*Repo
	clusters map[string]*cluster.Docker

	renders renders
	plans   plans
	snaps   snapshots
}

// New makes a Syncer; nothing is fetched or connected until a pass needs it.
func New(cfg *environments.Config, log *slog.Logger) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{cfg: cfg, log: log, now: time.Now, repos: map[string]*Repo{}, clusters: map[string]*cluster.Docker{},
		VersionKeyFile: os.Getenv(secrets.EnvVersionKeyFile), Holder: cluster.NewHolder("flotilla"),
		renders: renders{byEnv: map[string][]renderEntry{}}, plans: plans{byEnv: map[string]planMemo{}},
		snaps: snapshots{reads: map[string]*snapshotRead{}, written: map[string]time.Time{}}}
}

// Config is the configuration the Syncer works from.
func (s *Syncer) Config() *environments.Config { return s.cfg }

// Repo returns the shared Repo of a configured repository.
func (s *Syncer) Repo(r *environments.Repo) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo, ok := s.repos[r.Name]; ok {
		return repo
	}
	repo := NewRepo(r.URL, r.Auth, s.cfg.CacheDir)
	repo.Observe = s.ObserveGit
	repo.Timeouts = s.GitTimeouts
	s.repos[r.Name] = repo
	return repo
}

// Docker returns the connection to a configured cluster, opening it (and
// negotiating the API version) the first time.
func (s *Syncer) Docker(ctx context.Context, c *environments.Cluster) (*cluster.Docker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.clusters[c.Name]; ok {
		return d, nil
	}
	opts, err := ClusterOptions(c)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if s.ObserveEngine != nil {
		f := cluster.ObserveFunc(s.ObserveEngine)
		opts.Observer = &f
	}
	d, err := cluster.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	s.clusters[c.Name] = d
	return d, nil
}

// Close closes the engine connections.
func (s *Syncer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, d := range s.clusters {
		d.Close()
		delete(s.clusters, name)
	}
	return nil
}

// history is the deploy history of env's cluster.
func (s *Syncer) history(d *cluster.Docker) *History {
	h := NewHistory(d, s.cfg.History.Limit)
	h.Log = s.log
	return h
}

// History returns env's records, oldest first.
func (s *Syncer) History(ctx context.Context, env string) ([]Record, error) {
	e, _, hist, err := s.open(ctx, env)
	if err != nil {
		return nil, err
	}
	return hist.List(ctx, e.Stack)
}

// Resume removes env's pin: automatic syncs go on from the branch tip.
func (s *Syncer) Resume(ctx context.Context, env string) error {
	e, _, hist, err := s.open(ctx, env)
	if err != nil {
		return err
	}
	defer s.markWritten(e)
	return hist.ClearPin(ctx, e.Stack)
}

// open resolves env and connects to its cluster: what every pass, rollback
// and status starts from.
func (s *Syncer) open(ctx context.Context, env string) (*environments.Environment, *cluster.Docker, *History, error) {
	e, err := s.cfg.Environment(env)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := s.Docker(ctx, e.Cluster)
	if err != nil {
		return nil, nil, nil, err
	}
	return e, d, s.history(d), nil
}
