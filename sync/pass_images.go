package sync

import (
	"context"
	"fmt"
	"maps"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
)

// watchImages is the scheduled look at the tags e's stack runs: one
// resolve per distinct image and no write when none moved. When one moved
// to a digest not already refused, it is deployed like a commit (trigger
// image), with the same convergence, rollback and quarantine rules.
func (s *Syncer) watchImages(ctx context.Context, e *environments.Environment, v *view,
	records []Record, rev Revision, o Options, rep *Report) (*Report, error) {
	log := s.log.With("env", e.Name, "rev", rev.Short())
	desired, err := s.render(ctx, e, rev, v.d.APIVersion(), log)
	if err != nil {
		return rep, err
	}
	live, err := v.readStack(ctx, e.Stack)
	if err != nil {
		return rep, &RetryError{Err: err}
	}
	moved, err := cluster.MovedImages(ctx, v.d, desired, live, RegistryAuth(e))
	if err != nil {
		// Images that could not be resolved are left as they run; the
		// ones that moved still deploy.
		log.Warn("re-resolving the stack's images", "err", err)
	}
	if len(moved) == 0 {
		return rep, nil
	}
	if failed, ok := Quarantined(records, rev.SHA); ok && maps.Equal(failed.Images, movedDigests(moved)) {
		return rep.skip(SkipQuarantined, fmt.Sprintf("the moved images of commit %s are quarantined: their deploy at %s %s; push again or sync with --force",
			rev.Short(), failed.Finished.UTC().Format("2006-01-02 15:04"), failed.Outcome)), nil
	}
	if v.look {
		return rep, errMustWrite // the pass under the lease resolves them again
	}
	for _, m := range moved {
		log.Info("image moved", "image", m.Image, "old", m.Old, "new", m.New)
	}
	next := &Report{Environment: e.Name, Stack: e.Stack, Commit: rev}
	return s.passIn(ctx, e, v, records, rev, Options{Trigger: TriggerImage, Heal: true, Progress: o.Progress, Moved: moved}, next)
}

// movedDigests is what a record of an image-triggered deploy keeps.
func movedDigests(moved []cluster.MovedImage) map[string]string {
	if len(moved) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, m := range moved {
		out[m.Image] = m.New
	}
	return out
}

// movedLines say in the history what moved: "image app:prod sha256:… → sha256:…".
func movedLines(moved []cluster.MovedImage) []string {
	var out []string
	for _, m := range moved {
		old := m.Old
		if old == "" {
			old = "(unpinned)"
		}
		out = append(out, fmt.Sprintf("image %s %s → %s", m.Image, old, m.New))
	}
	return out
}
