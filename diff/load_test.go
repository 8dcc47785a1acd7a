package diff_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// loadShop renders testdata/shop/stack.yml with the stack package, as the CLI does.
func loadShop(t testing.TB, name string) *stack.Desired {
	t.Helper()
	d, err := stack.Load(t.Context(), os.DirFS("testdata/shop"), stack.Options{Files: []string{"stack.yml"}, Stack: name})
	if err != nil {
		t.Fatalf("loading shop stack: %v", err)
	}
	return d
}

// TestLoadedStackMatchesFixtures checks the hand-built desired fixture against
// the stack package's rendering of the same file: both must give the same plan
// against every captured live state.
func TestLoadedStackMatchesFixtures(t *testing.T) {
	for _, live := range []string{"docker", "applied", "drift-env-scale", "conflict"} {
		t.Run(live, func(t *testing.T) {
			want := outline(diff.Compute(shopDesired("shop"), liveFixture(t, live)))
			got := outline(diff.Compute(loadShop(t, "shop"), liveFixture(t, live)))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("plan from stack.Load differs from the hand-built fixture's (-fixture +loaded):\n%s", d)
			}
		})
	}
}
