package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
)

// lock makes this process the stack's one writer: it takes the stack's
// lease (a second writer gets a *RetryError wrapping *cluster.LeaseHeldError
// that names the holder) and keeps it renewed, then finishes a deploy that
// a writer who died left open. The returned context ends if the lease is
// lost; unlock releases it.
func (s *Syncer) lock(ctx context.Context, e *environments.Environment, d *cluster.Docker, hist *History) (held context.Context, unlock func(), err error) {
	l, err := d.AcquireLease(ctx, e.Stack, s.Holder, s.leaseTTL())
	if err != nil {
		return nil, nil, &RetryError{Err: fmt.Errorf("environment %s: %w", e.Name, err)}
	}
	held, stop := l.Keep(ctx)
	unlock = func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := l.Release(rctx); err != nil {
			s.log.Warn("releasing the stack's lease", "stack", e.Stack, "err", err)
		}
	}
	if err := s.recoverJournal(held, e, d, hist); err != nil {
		unlock()
		return nil, nil, err
	}
	return held, unlock, nil
}

func (s *Syncer) leaseTTL() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return 30 * time.Second
}

// recoverJournal finishes the deploy of an open journal: its writer is gone
// (this process holds the lease). If every change was sent and the stack is
// healthy it succeeded; otherwise it is undone. The commit is quarantined
// only when its own services failed, never for a writer that stopped early.
func (s *Syncer) recoverJournal(ctx context.Context, e *environments.Environment, d *cluster.Docker, hist *History) error {
	j, err := apply.FindJournal(ctx, d, e.Stack)
	if err != nil || j == nil {
		if err != nil {
			return &RetryError{Err: fmt.Errorf("reading the deploy journal of %s: %w", e.Stack, err)}
		}
		return nil
	}
	log := s.log.With("env", e.Name, "stack", e.Stack, "writer", j.Writer, "commit", shortSHA(j.Target.Commit))
	log.Warn("finishing a deploy whose writer is gone", "started", j.Started)
	res, rerr := apply.Recover(ctx, d, j, apply.RecoverOptions{ProgressDeadline: e.ProgressDeadline, Log: log,
		PollInterval: s.PollInterval, RegistryAuth: RegistryAuth(e)})
	if rerr != nil && res.Outcome == "" {
		return &RetryError{Err: fmt.Errorf("recovering the deploy of %s left by %s: %w", e.Stack, j.Writer, rerr)}
	}
	var outcome Outcome
	switch {
	case res.Outcome == apply.RecoverConverged:
		outcome = Succeeded
	case res.Outcome == apply.RecoverRollbackFailed:
		outcome = RollbackFailed
	case res.Cause == apply.CauseIncomplete:
		outcome = Interrupted
	default:
		outcome = RolledBack
	}
	log.Warn("recovered the deploy", "outcome", outcome, "reason", res.Reason)
	if j.Target.Commit != "" {
		if err := s.recordRecovery(ctx, e, hist, j, outcome, res, rerr); err != nil {
			return &RetryError{Err: err}
		}
	}
	if err := apply.RemoveJournal(context.WithoutCancel(ctx), d, e.Stack); err != nil {
		return &RetryError{Err: fmt.Errorf("removing the deploy journal of %s: %w", e.Stack, err)}
	}
	return nil
}

func (s *Syncer) recordRecovery(ctx context.Context, e *environments.Environment, hist *History, j *apply.Journal,
	outcome Outcome, res apply.RecoverResult, rerr error) error {
	rev := Revision{SHA: j.Target.Commit, Ref: j.Target.Ref}
	if full, err := s.Repo(e.Repo).Revision(ctx, e.Ref, j.Target.Commit); err == nil {
		rev = full
	}
	records, err := hist.List(ctx, e.Stack)
	if err != nil {
		return err
	}
	r := Record{Environment: e.Name, Stack: e.Stack, Commit: rev, Trigger: TriggerRecovery, Outcome: outcome,
		Plan: "recovered the deploy of " + j.Writer, Started: j.Started, Finished: s.now(), LastGood: lastGood(records)}
	for _, name := range res.RolledBack {
		r.Changes = append(r.Changes, "restore "+name)
	}
	if outcome == Succeeded {
		r.LastGood = rev.SHA
	} else {
		r.Error = res.Reason
		if rerr != nil {
			r.Error += ": " + rerr.Error()
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err = hist.Append(rctx, r)
	return err
}
