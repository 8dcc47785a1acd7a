package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// writer is a CLI command writing to one stack: it holds the stack's lease,
// as the operator's passes do, so that a person and an operator never
// deploy one stack at once.
type writer struct {
	holder cluster.Holder
	ctx    context.Context
	unlock func()
	// recovered: a deploy left open was finished or undone, so the live
	// stack may differ from what was planned before the lease.
	recovered bool
}

// lockStack takes stack's lease for this command (a second writer is
// refused with the holder named) and finishes a deploy that a writer who
// died left open, saying what it did.
func (g *globals) lockStack(ctx context.Context, d *cluster.Docker, stack string, auth cluster.RegistryAuth) (*writer, error) {
	w := &writer{holder: cluster.NewHolder(g.command)}
	held, unlock, rec, err := sync.LockStack(ctx, d, stack, sync.LockOptions{Holder: w.holder, RegistryAuth: auth, Log: g.logger()})
	if err != nil {
		if held, ok := errors.AsType[*cluster.LeaseHeldError](err); ok {
			return nil, fmt.Errorf("stack %s is being deployed by %s since %s; try again when it is done",
				stack, held.Holder, held.Since.Local().Format(time.DateTime))
		}
		return nil, err
	}
	if rec != nil {
		w.recovered = true
		fmt.Fprintf(g.stderr, "Finished a deploy of %s that %s left open: %s", stack, rec.Journal.Writer, rec.Outcome)
		if rec.Result.Reason != "" {
			fmt.Fprintf(g.stderr, " (%s)", rec.Result.Reason)
		}
		fmt.Fprintln(g.stderr)
	}
	w.ctx, w.unlock = held, unlock
	return w, nil
}

// journal opens the deploy journal of plan, so that whoever acts on the
// stack next can finish or undo it if this process dies.
func (w *writer) journal(d *cluster.Docker, plan diff.Plan) (*apply.JournalHandle, error) {
	return apply.OpenJournal(w.ctx, d, apply.Journal{Stack: plan.Stack, Writer: w.holder.String(), WriterID: w.holder.ID,
		Target: apply.Target{Source: "local files", PlanDigest: apply.PlanDigest(plan)}, Started: time.Now()})
}

// done closes the journal, unless the deploy was interrupted: then the
// next writer finishes it.
func (w *writer) done(j *apply.JournalHandle, err error) {
	if fe, ok := errors.AsType[*apply.FailedError](err); ok && (fe.Kind == apply.FailureInterrupted || cluster.IsUnavailable(fe.Err)) {
		return
	}
	j.Close(context.WithoutCancel(w.ctx))
}
