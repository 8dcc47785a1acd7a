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
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// Options tune one pass.
type Options struct {
	Trigger Trigger
	// DryRun computes the plan and stops.
	DryRun bool
	// Force applies a quarantined commit.
	Force bool
	// Tip is the branch tip when the caller already fetched it (the
	// operator updates each repository once for all its environments).
	Tip *Revision
	// Progress receives the services' convergence while a deploy waits.
	Progress func([]apply.Status)
	// EngineWarning, when set, receives what the engine said about a
	// service it accepted, instead of the log (apply.Options.EngineWarning).
	EngineWarning func(service, warning string)
	// Heal re-applies the deployed commit when the live stack drifted from
	// it. Without it, drift is only reported (selfHeal: warn or off).
	// Manual syncs always heal.
	Heal bool
	// Moved are the tags that moved, for a pass triggered by them.
	Moved []cluster.MovedImage
	// Since, when set, lets the pass decide that it has nothing to do from
	// a read of its cluster shared with the other passes of a tick (the
	// tick's start): one taken at or after Since. Zero: the pass reads its
	// stack itself.
	Since time.Time
}

// Report says what a pass found and did.
type Report struct {
	Environment string
	Stack       string
	Commit      Revision
	Plan        diff.Plan
	// Skip says why nothing was applied, when nothing was; SkipMessage
	// says it to people.
	Skip        Skip
	SkipMessage string
	// Drift: Git did not move since the last deploy, yet the plan has
	// changes — the live stack was changed by hand.
	Drift bool
	// Record is what the pass added to the history, if anything.
	Record *Record
	Result *apply.Result
	// Health is the stack's health as Swarm reports it, when the pass
	// looked (every pass that got as far as a plan and wrote nothing, or
	// deployed).
	Health *apply.StackHealth
}

// Skip is why a pass applied nothing.
type Skip string

const (
	// SkipNone: the pass applied its plan (or failed trying).
	SkipNone Skip = ""
	// SkipPinned: an automatic pass of a pinned environment.
	SkipPinned Skip = "pinned"
	// SkipQuarantined: the commit's deploy failed before; it is not
	// applied again unless forced.
	SkipQuarantined Skip = "quarantined"
	// SkipNoChanges: the live stack matches the commit.
	SkipNoChanges Skip = "no-changes"
	// SkipDrift: the live stack drifted from the deployed commit and
	// selfHeal does not heal it.
	SkipDrift Skip = "drift"
)

// skip marks rep as skipped for k, with msg for people.
func (rep *Report) skip(k Skip, msg string) *Report {
	rep.Skip, rep.SkipMessage = k, msg
	return rep
}

// Sync runs one pass for env: fetch the branch tip, render it, diff it with
// the live stack, apply, record. A manual sync lifts the environment's pin;
// an automatic one leaves a pinned environment alone. A commit whose deploy
// failed is not applied again unless forced.
//
// The pass looks before it takes the stack's lease (see view): a pass with
// nothing to write ends after the look, having written nothing.
func (s *Syncer) Sync(ctx context.Context, env string, o Options) (*Report, error) {
	e, d, hist, err := s.open(ctx, env)
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		return s.sync(ctx, e, engineView(d, hist), o)
	}
	look, err := s.lookView(ctx, e, d, o.Since)
	if err != nil {
		return nil, err
	}
	rep, err := s.sync(ctx, e, look, o)
	if !errors.Is(err, errMustWrite) {
		return rep, err
	}
	if rep != nil && rep.Commit.SHA != "" {
		// The tip just fetched: the pass under the lease does not list
		// the remote again. Its render needs no lease: it starts now,
		// beside the wait for the lease and the reads under it, and the
		// pass takes it from renders.
		tip := rep.Commit
		o.Tip = &tip
		log := s.log.With("env", e.Name, "rev", tip.Short(), "trigger", o.Trigger)
		go func(ctx context.Context) { _, _ = s.render(ctx, e, tip, d.APIVersion(), log) }(ctx) // the pass reports its error
	}
	ctx, unlock, err := s.lock(ctx, e, d, hist)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.sync(ctx, e, s.writerView(e, d, hist), o)
}

// sync is one pass through v: a look, or the pass itself.
func (s *Syncer) sync(ctx context.Context, e *environments.Environment, v *view, o Options) (*Report, error) {
	rep := &Report{Environment: e.Name, Stack: e.Stack}
	if !v.look && !o.DryRun && o.Tip != nil {
		// Under the lease, after a look that found something to write:
		// the pass will plan against the live stack.
		v.readAhead(ctx, e.Stack)
	}
	if v.look {
		// A deploy a writer left open is finished (or undone) under the
		// lease before anything else.
		j, err := apply.FindJournal(ctx, v.store, e.Stack)
		if err != nil {
			return nil, &RetryError{Err: fmt.Errorf("environment %s: %w", e.Name, err)}
		}
		if j != nil {
			return rep, errMustWrite
		}
	}
	pin, err := v.hist.Pin(ctx, e.Stack)
	if err != nil {
		return nil, err
	}
	if pin != nil && o.Trigger != TriggerManual {
		if err := pin.honoured(e); err != nil {
			return nil, err
		}
	}
	if pin != nil {
		if o.Trigger != TriggerManual {
			return rep.skip(SkipPinned, fmt.Sprintf("pinned at %s since %s (%s): run `flotilla resume` or an explicit `flotilla sync`",
				shortSHA(pin.SHA), pin.Since.UTC().Format("2006-01-02 15:04"), pin.Reason)), nil
		}
		if v.look {
			return rep, errMustWrite
		}
		if !o.DryRun {
			if err := v.hist.ClearPin(ctx, e.Stack); err != nil {
				return nil, err
			}
		}
	}
	var rev Revision
	if o.Tip != nil {
		rev = *o.Tip
	} else if rev, err = s.Repo(e.Repo).Fetch(ctx, e.Ref); err != nil {
		// Nothing is applied or pruned: the stack keeps running as it is.
		// The failure is recorded (once per distinct error) without the
		// lease, as the operator records a failed listing.
		err = fmt.Errorf("environment %s: %w", e.Name, err)
		return nil, errors.Join(err, s.recordFailure(ctx, e, s.history(v.d), o.Trigger, err))
	}
	rep.Commit = rev
	records, err := v.hist.List(ctx, e.Stack)
	if err != nil {
		return nil, err
	}
	if failed, ok := Quarantined(records, rev.SHA); ok && !o.Force {
		if failed.Trigger == TriggerImage && e.WatchImages && !o.DryRun {
			// The commit runs; the digests it was refused are checked
			// against where its tags point now.
			return s.watchImages(ctx, e, v, records, rev, o, rep)
		}
		return rep.skip(SkipQuarantined, fmt.Sprintf("commit %s is quarantined: its deploy at %s %s; push a new commit or sync with --force",
			rev.Short(), failed.Finished.UTC().Format("2006-01-02 15:04"), failed.Outcome)), nil
	}
	rep, err = s.passIn(ctx, e, v, records, rev, o, rep)
	if err == nil && rep.Skip == SkipNoChanges && rep.Record == nil && e.WatchImages && !o.DryRun {
		return s.watchImages(ctx, e, v, records, rev, o, rep)
	}
	return rep, err
}

// render loads the stack files of e at rev, straight from the commit tree,
// decrypting age files in memory with e's identities.
//
// The result is kept (see renders) and shared: callers must not modify it.
func (s *Syncer) render(ctx context.Context, e *environments.Environment, rev Revision, apiVersion string, log *slog.Logger) (*stack.Desired, error) {
	key, cacheable := s.renderKey(e, rev.SHA, apiVersion)
	if !cacheable {
		return s.load(ctx, e, rev, apiVersion, log)
	}
	return s.renders.do(ctx, e.Name, key, func() (*stack.Desired, error) {
		return s.load(ctx, e, rev, apiVersion, log)
	})
}

// load renders e at rev: what render keeps.
func (s *Syncer) load(ctx context.Context, e *environments.Environment, rev Revision, apiVersion string, log *slog.Logger) (*stack.Desired, error) {
	s.renders.loads.Add(1)
	fsys, err := s.Repo(e.Repo).FS(rev.SHA, e.Path)
	if err != nil {
		return nil, &RetryError{Err: err}
	}
	// An identity or key the operator cannot read is its own fault, not
	// the commit's.
	keys, err := secrets.NewSetup(e.Identities, s.VersionKeyFile)
	if err != nil {
		return nil, &RetryError{Err: fmt.Errorf("environment %s: %w", e.Name, err)}
	}
	// A version key kept in the repository, readable by everyone allowed
	// to deploy, makes versions the same whoever deploys.
	if err := keys.UseRepoKey(fsys); err != nil {
		return nil, fmt.Errorf("environment %s at %s: %w", e.Name, rev.Short(), err)
	}
	for _, w := range keys.Warnings {
		log.Warn(w)
	}
	if keys.Note != "" {
		log.Debug(keys.Note)
	}
	opts := stack.Options{Files: e.Files, EnvFiles: e.EnvFiles, Stack: e.Stack, Variables: e.Variables,
		APIVersion: apiVersion, Version: keys.Versioner.Version}
	if keys.Decrypter != nil {
		opts.Decrypt = keys.Decrypter.Decrypt
	}
	desired, err := stack.Load(ctx, fsys, opts)
	if err != nil {
		return nil, fmt.Errorf("rendering %s at %s: %w", e.Name, rev.Short(), err)
	}
	// What the commit asks of the nodes and of other stacks is checked
	// before anything is written; a violation is the commit's fault.
	if err := stack.CheckPolicy(desired, e.Policy); err != nil {
		return nil, fmt.Errorf("environment %s at %s: %w", e.Name, rev.Short(), err)
	}
	return desired, nil
}

func lastRecord(records []Record) *Record {
	if len(records) == 0 {
		return nil
	}
	return &records[len(records)-1]
}

func lastGood(records []Record) string {
	if r := lastRecord(records); r != nil {
		return r.LastGood
	}
	return ""
}

// changeLines lists a plan's changes briefly for the history.
func changeLines(p diff.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action != diff.ActionNoop {
			out = append(out, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name))
		}
	}
	return out
}

// Render fetches env's branch tip and renders it, without touching any
// cluster (for `flotilla validate`): keys are checked against the default
// API version.
func (s *Syncer) Render(ctx context.Context, env string) (Revision, *stack.Desired, error) {
	e, err := s.cfg.Environment(env)
	if err != nil {
		return Revision{}, nil, err
	}
	rev, err := s.Repo(e.Repo).Fetch(ctx, e.Ref)
	if err != nil {
		return Revision{}, nil, fmt.Errorf("environment %s: %w", e.Name, err)
	}
	desired, err := s.render(ctx, e, rev, stack.DefaultAPIVersion, s.log.With("env", e.Name))
	return rev, desired, err
}

// RecordFailure records a pass of env that failed before it had a commit
// (the operator's fetch for it failed): see recordFailure.
func (s *Syncer) RecordFailure(ctx context.Context, env string, cause error) error {
	e, _, hist, err := s.open(ctx, env)
	if err != nil {
		return err
	}
	return s.recordFailure(ctx, e, hist, TriggerSchedule, cause)
}

// recordFailure adds a failed pass without a commit — the branch is gone,
// the remote refused or could not be reached — to the history, once per
// distinct error: an outage that lasts makes one record, not one per poll,
// so the deploys before it stay in the pruned history.
func (s *Syncer) recordFailure(ctx context.Context, e *environments.Environment, hist *History, t Trigger, cause error) error {
	records, err := hist.List(ctx, e.Stack)
	if err != nil {
		return err
	}
	if last := lastRecord(records); last != nil && last.Failed() && last.Commit.SHA == "" && last.Error == cause.Error() {
		return nil
	}
	now := s.now()
	defer s.markWritten(e)
	_, err = hist.Append(ctx, Record{Environment: e.Name, Stack: e.Stack, Commit: Revision{Ref: e.Ref, Branch: e.Branch},
		Trigger: t, Outcome: Failed, Error: cause.Error(), Started: now, Finished: now, LastGood: lastGood(records)})
	return err
}
