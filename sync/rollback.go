package sync

import (
	"context"
	"fmt"
	"strings"
)

// Rollback deploys an earlier commit of env that deployed successfully —
// to, a full or abbreviated SHA, or by default the last good commit before
// the current one — records it, and pins env there: automatic syncs pause
// until Resume or an explicit sync. A commit that never deployed
// successfully is refused.
func (s *Syncer) Rollback(ctx context.Context, env, to string) (*Report, error) {
	e, d, hist, err := s.open(ctx, env)
	if err != nil {
		return nil, err
	}
	ctx, unlock, err := s.lock(ctx, e, d, hist)
	if err != nil {
		return nil, err
	}
	defer unlock()
	records, err := hist.List(ctx, e.Stack)
	if err != nil {
		return nil, err
	}
	target, err := rollbackTarget(records, to)
	if err != nil {
		return nil, fmt.Errorf("rolling back %s: %w", e.Name, err)
	}
	rev, err := s.Repo(e.Repo).Revision(ctx, e.Ref, target)
	if err != nil {
		return nil, fmt.Errorf("rolling back %s: %w", e.Name, err)
	}
	// The pin goes first: an operator's pass that starts while this
	// rollback deploys must find it and leave the stack alone, or it
	// would deploy the branch tip straight back.
	pin := Pin{SHA: rev.SHA, Since: s.now(), Reason: "rolled back from " + shortSHA(lastGood(records)),
		Repo: e.Repo.URL, Ref: e.Ref}
	if err := hist.SetPin(ctx, e.Stack, pin); err != nil {
		return nil, fmt.Errorf("rolling back %s: pinning it first: %w", e.Name, err)
	}
	rep := &Report{Environment: e.Name, Stack: e.Stack, Commit: rev}
	// A failed rollback keeps the pin: the person on call decides what
	// runs next, not the schedule.
	return s.pass(ctx, e, d, hist, records, rev, Options{Trigger: TriggerRollback}, rep)
}

// rollbackTarget picks the commit to roll back to from the history.
func rollbackTarget(records []Record, to string) (string, error) {
	current := lastGood(records)
	for i := len(records) - 1; i >= 0; i-- {
		r := records[i]
		if r.Failed() {
			continue
		}
		switch {
		case to == "" && r.Commit.SHA != current:
			return r.Commit.SHA, nil
		case to != "" && len(to) >= 4 && strings.HasPrefix(r.Commit.SHA, strings.ToLower(to)):
			return r.Commit.SHA, nil
		}
	}
	if to == "" {
		return "", fmt.Errorf("no earlier successful deploy to roll back to")
	}
	return "", fmt.Errorf("commit %s never deployed successfully here: refusing to roll back to it", to)
}
