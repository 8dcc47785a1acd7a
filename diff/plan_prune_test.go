package diff_test

import (
	"testing"

	"github.com/flotilla-gitops/flotilla/diff"
)

// TestPlanCountsOnlyWhatHappens: without prune, a delete of something the
// stack files dropped is shown but neither counted nor a change; a
// superseded version goes either way.
func TestPlanCountsOnlyWhatHappens(t *testing.T) {
	dropped := diff.Change{Kind: diff.KindService, Name: "shop_old", Action: diff.ActionDelete, Live: &diff.Live{ID: "x"}}
	superseded := diff.Change{Kind: diff.KindSecret, Name: "shop_pw_v1", Action: diff.ActionDelete, Superseded: true, Live: &diff.Live{ID: "y"}}
	noop := diff.Change{Kind: diff.KindService, Name: "shop_api", Action: diff.ActionNoop}
	tests := []struct {
		name          string
		plan          diff.Plan
		changes       bool
		deletes, kept int
	}{
		{"dropped without prune", diff.Plan{Changes: []diff.Change{noop, dropped}}, false, 0, 1},
		{"dropped with prune", diff.Plan{Prune: true, Changes: []diff.Change{noop, dropped}}, true, 1, 0},
		{"superseded without prune", diff.Plan{Changes: []diff.Change{noop, superseded}}, true, 1, 0},
		{"both without prune", diff.Plan{Changes: []diff.Change{dropped, superseded}}, true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.plan.Summary()
			if got := tt.plan.HasChanges(); got != tt.changes {
				t.Errorf("HasChanges = %v, want %v", got, tt.changes)
			}
			if s.Delete != tt.deletes || s.PruneOnly != tt.kept {
				t.Errorf("summary deletes %d, prune-only %d; want %d, %d (%s)", s.Delete, s.PruneOnly, tt.deletes, tt.kept, s)
			}
		})
	}
}
