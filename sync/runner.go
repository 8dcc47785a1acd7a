package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-gitops/flotilla/environments"
)

// Runner is what the operator loop drives; *Syncer is the real one, tests
// use a fake.
type Runner interface {
	Config() *environments.Config
	// Tips lists repo's refs once and fetches those of refs that moved.
	Tips(ctx context.Context, repo *environments.Repo, refs []string) (map[string]Tip, error)
	Sync(ctx context.Context, env string, o Options) (*Report, error)
	// RecordFailure records a pass that failed before it had a commit.
	RecordFailure(ctx context.Context, env string, err error) error
	Status(ctx context.Context, env string) (*Status, error)
	History(ctx context.Context, env string) ([]Record, error)
	Rollback(ctx context.Context, env, to string) (*Report, error)
	Resume(ctx context.Context, env string) error
	// Retire removes the stack of env, an environment leaving the
	// configuration with prune.
	Retire(ctx context.Context, env string) error
	Ready(ctx context.Context) error
	Close() error
}

var _ Runner = (*Syncer)(nil)

// Tips brings the refs of one repository up to date with a single listing.
func (s *Syncer) Tips(ctx context.Context, repo *environments.Repo, refs []string) (map[string]Tip, error) {
	return s.Repo(repo).Update(ctx, refs...)
}

// Ready checks that every cluster an environment deploys to answers.
func (s *Syncer) Ready(ctx context.Context) error {
	seen := map[string]bool{}
	var errs []error
	for _, name := range s.cfg.EnvironmentNames() {
		e, err := s.cfg.Environment(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[e.Cluster.Name] {
			continue
		}
		seen[e.Cluster.Name] = true
		d, err := s.Docker(ctx, e.Cluster)
		if err == nil {
			_, err = d.ServerVersion(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", e.Cluster.Name, err))
		}
	}
	return errors.Join(errs...)
}
