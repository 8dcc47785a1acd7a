package sync

import (
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

// A rollback target this cache never fetched: an older commit, not a tip,
// from a server that (like git's default) serves only branch tips by hash.
func TestGitRevisionNotATip(t *testing.T) {
	t.Parallel()
	remote, first := newRemote(t)
	remote.Commit(map[string]string{"stack.yml": "v2"}, "v2")
	tip := remote.Commit(map[string]string{"stack.yml": "v3"}, "v3")
	remote.Push("main")
	srv := gittest.ServeHTTP(t, remote.Bare, "")

	for name, url := range map[string]string{"file": remote.URL(), "http": srv.URL} {
		repo := NewRepo(url, environments.Auth{}, t.TempDir())
		if rev, err := repo.Fetch(t.Context(), "main"); err != nil || rev.SHA != tip {
			t.Fatalf("%s: Fetch = %v, %v", name, rev.SHA, err)
		}
		rev, err := repo.Revision(t.Context(), "main", first)
		if err != nil || rev.SHA != first || rev.Subject != "Deploy app v1" || rev.Branch != "main" {
			t.Fatalf("%s: Revision = %+v, %v; want %s", name, rev, err, first)
		}
		if got := readFile(t, repo, first, ".", "stack.yml"); !strings.Contains(got, "app:v1") {
			t.Errorf("%s: stack.yml at the old commit = %q", name, got)
		}
		// The branch tip is still what it was, and known without a fetch.
		fetches := repo.Fetches()
		if rev, err := repo.Fetch(t.Context(), "main"); err != nil || rev.SHA != tip || repo.Fetches() != fetches {
			t.Errorf("%s: Fetch after Revision = %v, %v after %d more fetches; want %s", name, rev.SHA, err, repo.Fetches()-fetches, tip)
		}
		if _, err := repo.Revision(t.Context(), "main", first); err != nil || repo.Fetches() != fetches {
			t.Errorf("%s: a cached commit was fetched again: %v", name, err)
		}
	}

	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	if _, err := repo.Revision(t.Context(), "main", strings.Repeat("ab", 20)); err == nil || !strings.Contains(err.Error(), "abababa") {
		t.Errorf("Revision of a commit that doesn't exist: %v", err)
	}
}

func TestGitTag(t *testing.T) {
	t.Parallel()
	remote, first := newRemote(t)
	gittest.Git(t, remote.Work, "tag", "--annotate", "-m", "release 1", "v1")
	gittest.Git(t, remote.Work, "tag", "light")
	gittest.Git(t, remote.Work, "push", "--quiet", "origin", "v1", "light")
	remote.Commit(map[string]string{"stack.yml": "v2"}, "v2")
	remote.Push("main")

	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	tips, err := repo.Update(t.Context(), "refs/tags/v1", "refs/tags/light")
	if err != nil {
		t.Fatal(err)
	}
	for ref, tip := range tips {
		if tip.Err != nil || tip.Revision.SHA != first || tip.Revision.Ref != ref || tip.Revision.Branch != "" {
			t.Errorf("tip of %s = %+v, want commit %s", ref, tip, first)
		}
	}
}
