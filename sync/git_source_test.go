package sync

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

// newRemote makes a repository with a first commit on main.
func newRemote(t *testing.T) (*gittest.Repo, string) {
	t.Helper()
	r := gittest.NewRepo(t)
	sha := r.Commit(map[string]string{
		"stack.yml":           "services: {web: {image: app:v1}}\n",
		"envs/prod/stack.yml": "services: {web: {image: app:v1, deploy: {replicas: 3}}}\n",
	}, "Deploy app v1\n\nFirst version.\n")
	r.Push("main")
	return r, sha
}

func readFile(t *testing.T, repo *Repo, sha, dir, name string) string {
	t.Helper()
	fsys, err := repo.FS(sha, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGitFetchFile(t *testing.T) {
	t.Parallel()
	remote, sha := newRemote(t)
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())

	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil {
		t.Fatal(err)
	}
	want := Revision{
		SHA: sha, Ref: "refs/heads/main", Branch: "main",
		AuthorName: "Ada Lovelace", AuthorEmail: "ada@example.com",
		Date:    time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC),
		Subject: "Deploy app v1", Message: "Deploy app v1\n\nFirst version.\n",
	}
	if d := cmp.Diff(want, rev, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("revision mismatch (-want +got):\n%s", d)
	}
	if rev.Short() != sha[:7] || rev.Author() != "Ada Lovelace <ada@example.com>" {
		t.Errorf("Short() = %q, Author() = %q", rev.Short(), rev.Author())
	}
	if got := readFile(t, repo, rev.SHA, ".", "stack.yml"); !strings.Contains(got, "app:v1") {
		t.Errorf("stack.yml = %q", got)
	}
	// The environment's path: is a folder of the repository.
	if got := readFile(t, repo, rev.SHA, "envs/prod", "stack.yml"); !strings.Contains(got, "replicas: 3") {
		t.Errorf("envs/prod/stack.yml = %q", got)
	}
	if _, err := repo.FS(rev.SHA, "envs/qa"); err == nil || !strings.Contains(err.Error(), `"envs/qa"`) {
		t.Errorf("FS of a missing path: %v", err)
	}
	// Nothing is checked out: the cache holds a bare repository only.
	entries, err := os.ReadDir(filepath.Join(repo.CacheDir, "git"))
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".git") {
		t.Fatalf("cache dir has %v, %v; want one bare repository", entries, err)
	}
	if _, err := os.Stat(filepath.Join(repo.CacheDir, "git", entries[0].Name(), "stack.yml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file was checked out into the cache: %v", err)
	}
}

func TestGitChangeDetection(t *testing.T) {
	t.Parallel()
	remote, first := newRemote(t)
	srv := gittest.ServeHTTP(t, remote.Bare, "")
	repo := NewRepo(srv.URL, environments.Auth{}, t.TempDir())

	for range 3 {
		rev, err := repo.Fetch(t.Context(), "main")
		if err != nil || rev.SHA != first {
			t.Fatalf("Fetch = %v, %v; want %s", rev.SHA, err, first)
		}
	}
	if repo.Listings() != 3 || repo.Fetches() != 1 || srv.Fetches() != 1 {
		t.Errorf("3 passes without a change: %d listings, %d fetches (server saw %d); want 3, 1, 1",
			repo.Listings(), repo.Fetches(), srv.Fetches())
	}

	second := remote.Commit(map[string]string{"stack.yml": "services: {web: {image: app:v2}}\n"}, "Deploy app v2")
	remote.Push("main")
	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil || rev.SHA != second {
		t.Fatalf("Fetch after a push = %v, %v; want %s", rev.SHA, err, second)
	}
	if repo.Fetches() != 2 || srv.Fetches() != 2 {
		t.Errorf("after a push: %d fetches (server saw %d), want 2", repo.Fetches(), srv.Fetches())
	}
	if got := readFile(t, repo, second, ".", "stack.yml"); !strings.Contains(got, "app:v2") {
		t.Errorf("stack.yml at the new tip = %q", got)
	}

	// A new process finds the cache on disk and doesn't fetch again.
	again := NewRepo(srv.URL, environments.Auth{}, repo.CacheDir)
	if rev, err := again.Fetch(t.Context(), "main"); err != nil || rev.SHA != second || again.Fetches() != 0 {
		t.Errorf("restarted: Fetch = %v, %v with %d fetches; want %s from the cache", rev.SHA, err, again.Fetches(), second)
	}
}

func TestGitSharedRepoFetchedOnce(t *testing.T) {
	t.Parallel()
	remote, _ := newRemote(t)
	remote.Switch("dev")
	dev := remote.Commit(map[string]string{"stack.yml": "dev"}, "dev change")
	remote.Push("dev")
	remote.Switch("main")
	remote.Switch("prod")
	prod := remote.Commit(map[string]string{"stack.yml": "prod"}, "prod change")
	remote.Push("prod")
	srv := gittest.ServeHTTP(t, remote.Bare, "")
	repo := NewRepo(srv.URL, environments.Auth{}, t.TempDir())

	tips, err := repo.Update(t.Context(), "dev", "prod", "refs/heads/dev")
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"dev": dev, "prod": prod, "refs/heads/dev": dev} {
		if tips[ref].Err != nil || tips[ref].Revision.SHA != want {
			t.Errorf("tip of %s = %+v, want %s", ref, tips[ref], want)
		}
	}
	// One listing by Update, one at the start of the fetch itself.
	if srv.Listings() != 2 || srv.Fetches() != 1 || repo.Fetches() != 1 {
		t.Errorf("server saw %d listings and %d fetches (repo counted %d) for three environments, want 2, 1, 1",
			srv.Listings(), srv.Fetches(), repo.Fetches())
	}
	if got := readFile(t, repo, dev, ".", "stack.yml"); got != "dev" {
		t.Errorf("dev's stack.yml = %q", got)
	}
	if got := readFile(t, repo, prod, ".", "stack.yml"); got != "prod" {
		t.Errorf("prod's stack.yml = %q", got)
	}
}

func TestGitForcePush(t *testing.T) {
	t.Parallel()
	remote, first := newRemote(t)
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	second := remote.Commit(map[string]string{"stack.yml": "v2"}, "v2")
	remote.Push("main")
	if rev, err := repo.Fetch(t.Context(), "main"); err != nil || rev.SHA != second {
		t.Fatalf("Fetch = %v, %v; want %s", rev.SHA, err, second)
	}

	// Back to an older commit…
	remote.Reset(first)
	remote.ForcePush("main")
	if rev, err := repo.Fetch(t.Context(), "main"); err != nil || rev.SHA != first {
		t.Fatalf("after a force-push to the first commit: %v, %v; want %s", rev.SHA, err, first)
	}
	// …and to a rewritten history that doesn't descend from anything fetched.
	remote.Switch("rewrite")
	remote.Reset(first)
	gittest.Git(t, remote.Work, "commit", "--quiet", "--amend", "-m", "Rewritten")
	rewritten := remote.Head()
	gittest.Git(t, remote.Work, "push", "--quiet", "--force", "origin", "rewrite:main")
	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil || rev.SHA != rewritten || rev.Subject != "Rewritten" {
		t.Fatalf("after a rewrite: %+v, %v; want %s", rev, err, rewritten)
	}
	if got := readFile(t, repo, rewritten, ".", "stack.yml"); !strings.Contains(got, "app:v1") {
		t.Errorf("stack.yml after the rewrite = %q", got)
	}
}

func TestGitRecreatesBrokenCache(t *testing.T) {
	t.Parallel()
	remote, _ := newRemote(t)
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	if _, err := repo.Fetch(t.Context(), "main"); err != nil {
		t.Fatal(err)
	}
	// Break the cache behind go-git's back: where packs go is now a file,
	// so the next fetch can't write one.
	packDir := filepath.Join(cacheDir(repo.CacheDir, remote.URL()), "objects", "pack")
	if err := os.RemoveAll(packDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(packDir, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := remote.Commit(map[string]string{"stack.yml": "v2"}, "v2")
	remote.Push("main")
	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil || rev.SHA != second {
		t.Fatalf("Fetch with a broken cache = %v, %v; want %s", rev.SHA, err, second)
	}
	if repo.Fetches() != 3 {
		t.Errorf("%d fetches, want 3: the first, a failed one, and one into a new cache", repo.Fetches())
	}
	if got := readFile(t, repo, second, ".", "stack.yml"); got != "v2" {
		t.Errorf("stack.yml = %q", got)
	}
}
