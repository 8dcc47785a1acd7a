package sync

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

func TestGitDeletedBranch(t *testing.T) {
	t.Parallel()
	remote, first := newRemote(t)
	remote.Switch("dev")
	remote.Push("dev")
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	if _, err := repo.Fetch(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	remote.DeleteBranch("dev")

	tips, err := repo.Update(t.Context(), "dev", "main")
	if err != nil {
		t.Fatal(err)
	}
	var nf *RefNotFoundError
	if !errors.As(tips["dev"].Err, &nf) || nf.Ref != "refs/heads/dev" || nf.URL != remote.URL() {
		t.Fatalf("tip of a deleted branch: %+v, want a *RefNotFoundError", tips["dev"])
	}
	if msg := nf.Error(); !strings.Contains(msg, `branch "dev" not found in file://`) {
		t.Errorf("error = %q", msg)
	}
	if tips["main"].Err != nil || tips["main"].Revision.SHA != first {
		t.Errorf("main next to the deleted branch: %+v", tips["main"])
	}
}

func TestGitEmptyRepository(t *testing.T) {
	t.Parallel()
	remote := gittest.NewRepo(t)
	for name, url := range map[string]string{"file": remote.URL(), "http": gittest.ServeHTTP(t, remote.Bare, "").URL} {
		repo := NewRepo(url, environments.Auth{}, t.TempDir())
		_, err := repo.Fetch(t.Context(), "main")
		var empty *EmptyRepositoryError
		if !errors.As(err, &empty) || !strings.Contains(err.Error(), url) {
			t.Errorf("%s: Fetch of an empty repository: %v, want *EmptyRepositoryError naming %s", name, err, url)
		}
	}
}

func TestGitUnreachableRemote(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/shop.git"
	l.Close() // a closed port: connection refused
	repo := NewRepo(url, environments.Auth{}, t.TempDir())
	_, err = repo.Fetch(t.Context(), "main")
	if err == nil || !strings.Contains(err.Error(), "listing refs of "+url) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Fetch from a closed port: %v", err)
	}
	var authErr *AuthError
	if errors.As(err, &authErr) {
		t.Errorf("a refused connection reported as an auth failure: %v", err)
	}
	if repo.Fetches() != 0 {
		t.Errorf("fetched %d times from an unreachable remote", repo.Fetches())
	}
}
