package sync

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
)

// LockOptions say who takes a stack's lease and how a deploy left open by
// a writer who died is finished.
type LockOptions struct {
	Holder cluster.Holder
	// TTL is how long the lease outlives a holder that stopped renewing it
	// (default 30s).
	TTL                            time.Duration
	ProgressDeadline, PollInterval time.Duration
	RegistryAuth                   cluster.RegistryAuth
	Log                            *slog.Logger
	// OnRecovered, when set, is told what finishing an open journal did,
	// before the journal goes (to record it in a history).
	OnRecovered func(context.Context, Recovered) error
}

// Recovered is a deploy a dead writer left open, and how it was finished.
type Recovered struct {
	Journal apply.Journal
	Result  apply.RecoverResult
	// Outcome is the history's word for it: succeeded, rolled back (the
	// commit's services failed), interrupted (it stopped before sending
	// everything: nothing against the commit) or rollback failed.
	Outcome Outcome
	Err     error
}

// LockStack makes the caller the stack's one writer — the operator's passes
// and every CLI write command go through it: it takes the stack's lease (a
// second writer gets a *RetryError wrapping *cluster.LeaseHeldError that
// names the holder and since when) and keeps it renewed, then finishes a
// deploy that a writer who died left open. The returned context ends if
// the lease is lost; unlock releases it.
func LockStack(ctx context.Context, d *cluster.Docker, stack string, o LockOptions) (held context.Context, unlock func(), rec *Recovered, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	l, err := d.AcquireLease(ctx, stack, o.Holder, o.TTL)
	if err != nil {
		return nil, nil, nil, &RetryError{Err: err}
	}
	held, stop := l.Keep(ctx)
	unlock = func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := l.Release(rctx); err != nil {
			o.Log.Warn("releasing the stack's lease", "stack", stack, "err", err)
		}
	}
	if rec, err = recoverJournal(held, d, stack, o); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return held, unlock, rec, nil
}

// recoverJournal finishes the deploy of an open journal: its writer is gone
// (the caller holds the lease). If every change was sent and the stack is
// healthy it succeeded; otherwise it is undone. The commit is blamed only
// when its own services failed, never for a writer that stopped early.
func recoverJournal(ctx context.Context, d *cluster.Docker, stack string, o LockOptions) (*Recovered, error) {
	j, err := apply.FindJournal(ctx, d, stack)
	if err != nil {
		return nil, &RetryError{Err: fmt.Errorf("reading the deploy journal of %s: %w", stack, err)}
	}
	if j == nil {
		return nil, nil
	}
	log := o.Log.With("stack", stack, "writer", j.Writer, "commit", shortSHA(j.Target.Commit))
	log.Warn("finishing a deploy whose writer is gone", "started", j.Started)
	res, rerr := apply.Recover(ctx, d, j, apply.RecoverOptions{ProgressDeadline: o.ProgressDeadline, Log: log,
		PollInterval: o.PollInterval, RegistryAuth: o.RegistryAuth})
	if rerr != nil && res.Outcome == "" {
		return nil, &RetryError{Err: fmt.Errorf("recovering the deploy of %s left by %s: %w", stack, j.Writer, rerr)}
	}
	rec := &Recovered{Journal: *j, Result: res, Err: rerr}
	switch {
	case res.Outcome == apply.RecoverConverged:
		rec.Outcome = Succeeded
	case res.Outcome == apply.RecoverRollbackFailed:
		rec.Outcome = RollbackFailed
	case res.Cause == apply.CauseIncomplete:
		rec.Outcome = Interrupted
	default:
		rec.Outcome = RolledBack
	}
	log.Warn("recovered the deploy", "outcome", rec.Outcome, "reason", res.Reason)
	if o.OnRecovered != nil {
		if err := o.OnRecovered(ctx, *rec); err != nil {
			return nil, &RetryError{Err: err}
		}
	}
	if err := apply.RemoveJournal(context.WithoutCancel(ctx), d, stack); err != nil {
		return nil, &RetryError{Err: fmt.Errorf("removing the deploy journal of %s: %w", stack, err)}
	}
	return rec, nil
}

// lock is LockStack for an environment's pass: a recovered deploy of one of
// its commits goes into its history.
func (s *Syncer) lock(ctx context.Context, e *environments.Environment, d *cluster.Docker, hist *History) (context.Context, func(), error) {
	held, unlock, _, err := LockStack(ctx, d, e.Stack, LockOptions{Holder: s.Holder, TTL: s.LeaseTTL,
		ProgressDeadline: e.ProgressDeadline, PollInterval: s.PollInterval, RegistryAuth: RegistryAuth(e),
		Log: s.log.With("env", e.Name),
		OnRecovered: func(ctx context.Context, rec Recovered) error {
			if rec.Journal.Target.Commit == "" {
				return nil // a deploy of local files: no environment's history
			}
			return s.recordRecovery(ctx, e, hist, rec)
		}})
	if err != nil {
		s.markWritten(e) // it may have finished an open deploy
		return nil, nil, fmt.Errorf("environment %s: %w", e.Name, err)
	}
	return held, func() {
		unlock()
		s.markWritten(e)
	}, nil
}

func (s *Syncer) recordRecovery(ctx context.Context, e *environments.Environment, hist *History, rec Recovered) error {
	j := rec.Journal
	rev := Revision{SHA: j.Target.Commit, Ref: j.Target.Ref}
	if full, err := s.Repo(e.Repo).Revision(ctx, e.Ref, j.Target.Commit); err == nil {
		rev = full
	}
	records, err := hist.List(ctx, e.Stack)
	if err != nil {
		return err
	}
	r := Record{Environment: e.Name, Stack: e.Stack, Commit: rev, Trigger: TriggerRecovery, Outcome: rec.Outcome,
		Plan: "recovered the deploy of " + j.Writer, Started: j.Started, Finished: s.now(), LastGood: lastGood(records)}
	for _, name := range rec.Result.RolledBack {
		r.Changes = append(r.Changes, "restore "+name)
	}
	if rec.Outcome == Succeeded {
		r.LastGood = rev.SHA
	} else {
		r.Error = rec.Result.Reason
		if rec.Err != nil {
			r.Error += ": " + rec.Err.Error()
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err = hist.Append(rctx, r)
	return err
}
