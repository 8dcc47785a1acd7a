package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

// backend is where the GitOps commands act: on the configuration, Git and
// the engine themselves (local), or through a running operator's API
// (remote). Both answer in the API's types, so a command prints the same
// text and the same JSON either way.
type backend interface {
	Environments(ctx context.Context) ([]string, error)
	Status(ctx context.Context, env string) (*server.EnvironmentStatus, error)
	History(ctx context.Context, env string) ([]server.Record, error)
	// Sync runs a pass (local) or queues one (remote: Queued is set).
	Sync(ctx context.Context, env string, o sync.Options) (syncResult, error)
	// Rollback returns the report even when the rollback failed, if any.
	Rollback(ctx context.Context, env, to string) (*server.Report, error)
	Resume(ctx context.Context, env string) error
	// Where says, for messages, where the commands act.
	Where() string
	Close() error
}

// syncResult is a pass's report, or the operator's word that it queued one.
type syncResult struct {
	Report *server.Report
	Queued *server.Accepted
}

// open picks the backend from --config and --server.
func openBackend(g *globals, cf *configFlag, sf *serverFlag, remote bool) (backend, error) {
	if remote {
		c, err := sf.client()
		if err != nil {
			return nil, err
		}
		return &remoteBackend{c: c, sf: sf}, nil
	}
	s, err := cf.syncer(g)
	if err != nil {
		return nil, err
	}
	return &localBackend{s: s, where: cf.path}, nil
}

// localBackend works from the configuration file.
type localBackend struct {
	s     *sync.Syncer
	where string
}

func (l *localBackend) Environments(context.Context) ([]string, error) {
	return l.s.Config().EnvironmentNames(), nil
}

func (l *localBackend) Status(ctx context.Context, env string) (*server.EnvironmentStatus, error) {
	st, err := l.s.Status(ctx, env)
	if err != nil {
		return nil, err
	}
	out := server.StatusOf(st)
	return &out, nil
}

func (l *localBackend) History(ctx context.Context, env string) ([]server.Record, error) {
	records, err := l.s.History(ctx, env)
	out := make([]server.Record, len(records))
	for i := range records {
		out[i] = *server.RecordOf(&records[i])
	}
	return out, err
}

func (l *localBackend) Sync(ctx context.Context, env string, o sync.Options) (syncResult, error) {
	rep, err := l.s.Sync(ctx, env, o)
	wire, jerr := server.ReportOf(rep)
	return syncResult{Report: wire}, errors.Join(err, jerr)
}

func (l *localBackend) Rollback(ctx context.Context, env, to string) (*server.Report, error) {
	rep, err := l.s.Rollback(ctx, env, to)
	wire, jerr := server.ReportOf(rep)
	return wire, errors.Join(err, jerr)
}

func (l *localBackend) Resume(ctx context.Context, env string) error { return l.s.Resume(ctx, env) }
func (l *localBackend) Where() string                                { return l.where }
func (l *localBackend) Close() error                                 { return l.s.Close() }

// remoteBackend asks the operator at --server.
type remoteBackend struct {
	c  *server.Client
	sf *serverFlag
}

func (r *remoteBackend) Environments(ctx context.Context) ([]string, error) {
	list, err := r.c.Environments(ctx)
	if err != nil {
		return nil, r.sf.explain(err)
	}
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.Name
	}
	return names, nil
}

func (r *remoteBackend) Status(ctx context.Context, env string) (*server.EnvironmentStatus, error) {
	st, err := r.c.Status(ctx, env)
	return st, r.sf.explain(err)
}

func (r *remoteBackend) History(ctx context.Context, env string) ([]server.Record, error) {
	records, err := r.c.History(ctx, env)
	return records, r.sf.explain(err)
}

func (r *remoteBackend) Sync(ctx context.Context, env string, o sync.Options) (syncResult, error) {
	if o.DryRun {
		return syncResult{}, errors.New("--dry-run works locally only: the operator's API has no dry run (use 'flotilla diff', or 'flotilla sync --dry-run --config F')")
	}
	acc, err := r.c.Sync(ctx, env, o.Force)
	return syncResult{Queued: acc}, r.sf.explain(err)
}

func (r *remoteBackend) Rollback(ctx context.Context, env, to string) (*server.Report, error) {
	rep, err := r.c.Rollback(ctx, env, to)
	if errors.Is(err, context.Canceled) {
		// The operator does not cut a deploy short when its caller leaves.
		return nil, fmt.Errorf("stopped waiting; the operator still carries the rollback of %s through, 'flotilla status --server %s %s' shows how it ends: %w", env, r.sf.url, env, err)
	}
	if apiErr, ok := errors.AsType[*server.APIError](err); ok && apiErr.Report != nil {
		// A rollback that failed half-way still says what it did.
		rep = apiErr.Report
	}
	return rep, r.sf.explain(err)
}

func (r *remoteBackend) Resume(ctx context.Context, env string) error {
	return r.sf.explain(r.c.Resume(ctx, env))
}

func (r *remoteBackend) Where() string { return "the operator at " + r.sf.url }
func (r *remoteBackend) Close() error  { return nil }
