package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
)

// deployment is one pass's deploy of one commit: what it records.
type deployment struct {
	s       *Syncer
	e       *environments.Environment
	d       *cluster.Docker
	v       *view
	hist    *History
	records []Record
	rev     Revision
	o       Options
	rep     *Report
	log     *slog.Logger
	started time.Time
}

// record adds the pass's outcome to the history. The result is recorded
// even when the pass was interrupted (shutdown): that is when it matters.
func (p *deployment) record(ctx context.Context, outcome Outcome, cause error) (*Report, error) {
	r := Record{Environment: p.e.Name, Stack: p.e.Stack, Commit: p.rev, Trigger: p.o.Trigger, Plan: summaryLine(p.rep.Plan),
		Changes: append(movedLines(p.o.Moved), changeLines(p.rep.Plan)...), Outcome: outcome, Started: p.started,
		Finished: p.s.now(), LastGood: lastGood(p.records), Images: movedDigests(p.o.Moved), Config: configDigest(p.e)}
	if outcome == Succeeded {
		r.LastGood = p.rev.SHA
	}
	if cause != nil {
		r.Error = cause.Error()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	saved, err := p.hist.Append(rctx, r)
	if err != nil {
		return p.rep, errors.Join(cause, err)
	}
	p.rep.Record = &saved
	logPass(p.log, saved)
	return p.rep, cause
}

// logPass logs a recorded pass at the level it deserves: a failure is
// something a person must look at.
func logPass(log *slog.Logger, r Record) {
	switch {
	case r.Outcome == Succeeded:
		log.Info("pass recorded", "outcome", r.Outcome, "plan", r.Plan)
	case r.Outcome == RollbackFailed:
		log.Error("deploy failed and so did its rollback", "outcome", r.Outcome, "err", r.Error)
	case r.Quarantines():
		log.Warn("deploy failed; the commit is quarantined", "outcome", r.Outcome, "err", r.Error)
	default:
		log.Warn("deploy did not finish", "outcome", r.Outcome, "err", r.Error)
	}
}

// pass renders rev, plans, applies and records, from the engine.
func (s *Syncer) pass(ctx context.Context, e *environments.Environment, d *cluster.Docker, hist *History,
	records []Record, rev Revision, o Options, rep *Report) (*Report, error) {
	return s.passIn(ctx, e, engineView(d, hist), records, rev, o, rep)
}

// passIn is pass through v. A look goes as far as a plan only for the
// commit already deployed: any other commit is recorded, which is a write.
func (s *Syncer) passIn(ctx context.Context, e *environments.Environment, v *view,
	records []Record, rev Revision, o Options, rep *Report) (*Report, error) {
	p := &deployment{s: s, e: e, d: v.d, v: v, hist: v.hist, records: records, rev: rev, o: o, rep: rep,
		log: s.log.With("env", e.Name, "rev", rev.Short(), "trigger", o.Trigger), started: s.now()}
	last := lastRecord(records)
	deployed := last != nil && last.Commit.SHA == rev.SHA && !last.Failed()
	// A configuration changed under the deployed commit is a new desired
	// state, whatever selfHeal says; records from before fingerprints
	// never count as a change.
	reconfigured := deployed && last.Config != "" && last.Config != configDigest(e)
	if v.look && (!deployed || reconfigured || o.Trigger == TriggerImage) {
		return rep, errMustWrite
	}
	desired, err := s.render(ctx, e, rev, v.d.APIVersion(), p.log)
	if err != nil {
		if _, retry := errors.AsType[*RetryError](err); o.DryRun || retry {
			return rep, err
		}
		if v.look {
			return rep, errMustWrite
		}
		rep.Plan = diff.Plan{Stack: e.Stack}
		return p.record(ctx, Failed, err)
	}
	live, err := v.readStack(ctx, e.Stack)
	if err != nil {
		return rep, &RetryError{Err: err}
	}
	// Tags are pinned to digests as docker does. Once a commit is deployed,
	// a scheduled pass keeps the live digests — a tag that moved is news
	// for watchImages, not drift — unless the pass is that news.
	mode := ResolveMode(e)
	if deployed && o.Trigger != TriggerImage && mode == cluster.ResolveAlways {
		mode = cluster.ResolveChanged
	}
	var fingerprint string
	planned := false
	if v.look {
		fingerprint = liveFingerprint(desired, live)
		rep.Plan, planned = s.plans.get(e.Name, desired, fingerprint)
	}
	if !planned {
		resolver := &countingResolver{r: v.d}
		pinned, err := cluster.PinImages(ctx, resolver, desired, live, mode, RegistryAuth(e))
		if err != nil {
			return rep, &RetryError{Err: fmt.Errorf("environment %s: %w", e.Name, err)}
		}
		rep.Plan = diff.Compute(pinned, live)
		if v.look && resolver.n == 0 {
			s.plans.put(e.Name, desired, fingerprint, rep.Plan)
		}
	}
	// Deletes that only prune would make count when the environment prunes.
	rep.Plan.Prune = e.Prune
	if reconfigured {
		p.o.Trigger = TriggerConfig
		p.log = p.log.With("trigger", TriggerConfig)
	}
	rep.Drift = deployed && !reconfigured && rep.Plan.HasChanges()
	if o.DryRun {
		return rep, nil
	}
	if rep.Drift && !o.Heal && o.Trigger != TriggerManual {
		return rep.skip(SkipDrift, "drift: the live stack differs from the deployed commit (selfHeal is not heal)"), nil
	}
	if !rep.Plan.HasChanges() {
		return p.unchanged(ctx, last, reconfigured)
	}
	if v.look {
		return rep, errMustWrite
	}
	return p.apply(ctx)
}

// unchanged handles a plan without changes: the live specs are the
// commit's. A new commit is recorded only once its services are healthy; a
// degraded one is a failed deploy, whatever the specs say (a writer killed
// mid-deploy leaves exactly that).
func (p *deployment) unchanged(ctx context.Context, last *Record, reconfigured bool) (*Report, error) {
	p.rep.skip(SkipNoChanges, "no changes")
	newCommit := last == nil || last.Commit.SHA != p.rev.SHA || last.Failed() || reconfigured
	if newCommit && p.v.look {
		return p.rep, errMustWrite // it is recorded
	}
	health, err := p.s.awaitHealth(ctx, p.v.r, p.e, newCommit)
	if err != nil {
		return p.rep, &RetryError{Err: err}
	}
	p.rep.Health = &health
	switch {
	case !newCommit:
		return p.rep, nil
	case health.State == apply.Degraded:
		p.rep.Skip, p.rep.SkipMessage = SkipNone, ""
		return p.rollBackDegraded(ctx, health)
	case health.State == apply.Progressing:
		return p.record(ctx, Interrupted, fmt.Errorf("the stack was still not healthy at the progress deadline: %s", health.Reason))
	}
	// A new commit that changes nothing on the swarm is still what the
	// environment now runs.
	return p.record(ctx, Succeeded, nil)
}

// apply sends the plan with a journal in the cluster, so that whoever acts
// next can finish or undo it if this process dies, then checks the stack's
// health before it calls the deploy a success.
func (p *deployment) apply(ctx context.Context) (*Report, error) {
	j, err := apply.OpenJournal(ctx, p.d, apply.Journal{Stack: p.e.Stack, Writer: p.s.Holder.String(), WriterID: p.s.Holder.ID,
		Target:  apply.Target{Environment: p.e.Name, Commit: p.rev.SHA, Ref: p.rev.Ref, PlanDigest: apply.PlanDigest(p.rep.Plan)},
		Started: p.s.now()})
	if err != nil {
		return p.rep, &RetryError{Err: fmt.Errorf("opening the deploy journal of %s: %w", p.e.Stack, err)}
	}
	res, err := apply.Run(ctx, p.d, p.rep.Plan, apply.Options{
		OnFailure: apply.OnFailure(p.e.OnFailure), Prune: p.e.Prune, ProgressDeadline: p.e.ProgressDeadline,
		Log: p.log, Progress: p.o.Progress, EngineWarning: p.o.EngineWarning, Journal: j, RegistryAuth: RegistryAuth(p.e),
	})
	p.rep.Result = res
	outcome := Succeeded
	if err != nil {
		outcome = outcomeOf(err)
	} else if health, herr := p.s.health(ctx, p.d, p.e.Stack); herr == nil {
		p.rep.Health = &health
		if health.State == apply.Degraded {
			// Converged by the tasks' count, yet Swarm says otherwise:
			// undo it from the journal like a deploy that failed.
			outcome, err = p.undo(ctx, j.Journal(), health)
		}
	}
	if outcome == Interrupted {
		// Left open: the next writer finishes or undoes the deploy.
		return p.record(ctx, outcome, err)
	}
	rep, rerr := p.record(ctx, outcome, err)
	if cerr := j.Close(context.WithoutCancel(ctx)); cerr != nil {
		p.log.Warn("closing the deploy journal", "err", cerr)
	}
	return rep, rerr
}

// undo restores what the journal says the deploy changed.
func (p *deployment) undo(ctx context.Context, j apply.Journal, health apply.StackHealth) (Outcome, error) {
	cause := fmt.Errorf("stack %s is degraded after the deploy: %s", p.e.Stack, health.Reason)
	if apply.OnFailure(p.e.OnFailure) == apply.Pause {
		return Paused, cause
	}
	res, err := apply.Recover(ctx, p.d, &j, apply.RecoverOptions{ProgressDeadline: p.e.ProgressDeadline, Log: p.log,
		RegistryAuth: RegistryAuth(p.e)})
	if err != nil || res.Outcome == apply.RecoverRollbackFailed {
		return RollbackFailed, errors.Join(cause, err)
	}
	if res.Outcome == apply.RecoverConverged {
		return Succeeded, nil // healthy again by the time it looked
	}
	return RolledBack, cause
}

// rollBackDegraded handles a new commit whose specs are live but whose
// stack is degraded: it is recorded as failed (quarantined) and the last
// good commit is deployed again.
func (p *deployment) rollBackDegraded(ctx context.Context, health apply.StackHealth) (*Report, error) {
	cause := fmt.Errorf("stack %s is degraded at commit %s: %s", p.e.Stack, p.rev.Short(), health.Reason)
	good := lastGood(p.records)
	if good == "" || good == p.rev.SHA {
		return p.record(ctx, Failed, cause)
	}
	rev, err := p.s.Repo(p.e.Repo).Revision(ctx, p.e.Ref, good)
	if err != nil {
		return p.record(ctx, RollbackFailed, fmt.Errorf("%w; the last good commit %s cannot be read: %w", cause, shortSHA(good), err))
	}
	rep, err := p.record(ctx, RolledBack, cause)
	if err != nil && rep.Record == nil {
		return rep, err
	}
	records, lerr := p.hist.List(ctx, p.e.Stack)
	if lerr != nil {
		return rep, errors.Join(cause, lerr)
	}
	back := &Report{Environment: p.e.Name, Stack: p.e.Stack, Commit: rev}
	if _, err := p.s.pass(ctx, p.e, p.d, p.hist, records, rev, Options{Trigger: TriggerRollback, Progress: p.o.Progress, Heal: true}, back); err != nil {
		return rep, errors.Join(cause, fmt.Errorf("deploying the last good commit %s: %w", rev.Short(), err))
	}
	return rep, cause
}

// outcomeOf is the history's word for how apply.Run failed. A deploy cut
// short because the engine went out of reach is interrupted, not the
// commit's failure: the next writer finishes or undoes it from the journal.
func outcomeOf(err error) Outcome {
	fe, ok := errors.AsType[*apply.FailedError](err)
	if !ok {
		return Failed
	}
	switch {
	case fe.Kind == apply.FailureInterrupted, cluster.IsUnavailable(fe.Err):
		return Interrupted
	case fe.Kind == apply.FailureRolledBack:
		return RolledBack
	case fe.Kind == apply.FailureRollbackFailed:
		return RollbackFailed
	}
	return Paused
}
