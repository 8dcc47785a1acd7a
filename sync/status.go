package sync

import (
	"context"
	"github.com/flotilla-gitops/flotilla/apply"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
)

// Status is where an environment stands.
type Status struct {
	Environment string
	Stack       string
	Ref         string
	// Deployed is the last successful pass: the commit the stack runs.
	Deployed *Record
	// Last is the last recorded pass, successful or not.
	Last *Record
	// Tip is Git's current commit; GitMoved says it differs from Deployed.
	Tip      *Revision
	GitMoved bool
	// TipQuarantined: the tip's deploy failed and it won't be retried.
	TipQuarantined bool
	Pin            *Pin
	// Drift lists the live changes against the deployed commit.
	Drift []diff.Change
	// Health is the stack's health as Swarm reports it.
	Health *apply.StackHealth
	// Errors met while finding out (Git unreachable, a render failing);
	// what could be found is still reported.
	Errors []string

	// What the running operator knows (empty from the CLI alone).
	// Window says why automatic syncs are waiting, when a sync window
	// holds them; Running that a pass is under way; LastError is the last
	// automatic pass's error (Git unreachable, say), retried at NextRetry.
	Window    string    `json:",omitempty"`
	Running   bool      `json:",omitempty"`
	LastError string    `json:",omitempty"`
	NextRetry time.Time `json:",omitzero"`
}

// Status reports env: the deployed commit, whether Git moved on, pin,
// quarantine, drift and the last result.
func (s *Syncer) Status(ctx context.Context, env string) (*Status, error) {
	e, d, hist, err := s.open(ctx, env)
	if err != nil {
		return nil, err
	}
	st := &Status{Environment: e.Name, Stack: e.Stack, Ref: e.Ref}
	records, err := hist.List(ctx, e.Stack)
	if err != nil {
		return nil, err
	}
	st.Last = lastRecord(records)
	for i := len(records) - 1; i >= 0; i-- {
		if !records[i].Failed() {
			st.Deployed = &records[i]
			break
		}
	}
	if st.Pin, err = hist.Pin(ctx, e.Stack); err != nil {
		return nil, err
	}
	if st.Pin != nil {
		if err := st.Pin.honoured(e); err != nil {
			st.Errors = append(st.Errors, err.Error())
		}
	}
	repo := s.Repo(e.Repo)
	if tip, err := repo.Fetch(ctx, e.Ref); err != nil {
		st.Errors = append(st.Errors, err.Error())
	} else {
		st.Tip = &tip
		st.GitMoved = st.Deployed == nil || st.Deployed.Commit.SHA != tip.SHA
		_, st.TipQuarantined = Quarantined(records, tip.SHA)
	}
	if h, err := s.health(ctx, d, e.Stack); err != nil {
		st.Errors = append(st.Errors, "reading the stack's health: "+err.Error())
	} else {
		st.Health = &h
	}
	if st.Deployed != nil {
		drift, err := s.drift(ctx, e.Name, st.Deployed.Commit.SHA)
		if err != nil {
			st.Errors = append(st.Errors, "checking drift: "+err.Error())
		}
		st.Drift = drift
	}
	return st, nil
}

// drift compares the live stack with what commit sha renders to and
// returns the changes a deploy of it would make.
func (s *Syncer) drift(ctx context.Context, env, sha string) ([]diff.Change, error) {
	e, d, _, err := s.open(ctx, env)
	if err != nil {
		return nil, err
	}
	rev, err := s.Repo(e.Repo).Revision(ctx, e.Ref, sha)
	if err != nil {
		return nil, err
	}
	desired, err := s.render(ctx, e, rev, d.APIVersion(), s.log)
	if err != nil {
		return nil, err
	}
	live, err := d.ReadStack(ctx, e.Stack)
	if err != nil {
		return nil, err
	}
	plan := diff.Compute(desired, live)
	plan.Prune = e.Prune
	var changes []diff.Change
	for _, c := range plan.Changes {
		// A delete only --prune would make is not drift when the
		// environment does not prune: no deploy would make it.
		if c.Action != diff.ActionNoop && !plan.PruneOnly(c) {
			changes = append(changes, c)
		}
	}
	return changes, nil
}
