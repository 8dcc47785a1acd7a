package sync

import (
	"fmt"
	"io/fs"
	"strings"
	gosync "sync"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
)

// Environments sharing a repository run their passes concurrently: fetches
// into the shared cache must not disturb readers of earlier commits.
func TestGitConcurrentPasses(t *testing.T) {
	t.Parallel()
	remote, _ := newRemote(t)
	branches := []string{"dev", "test", "prod"}
	for _, b := range branches {
		remote.Switch("main")
		remote.Switch(b)
		remote.Commit(map[string]string{"stack.yml": b + " 0"}, b)
		remote.Push(b)
	}
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())

	var wg gosync.WaitGroup
	errs := make(chan error, 100)
	for _, b := range branches {
		for range 2 {
			wg.Go(func() {
				for range 5 {
					rev, err := repo.Fetch(t.Context(), b)
					if err != nil {
						errs <- err
						return
					}
					fsys, err := repo.FS(rev.SHA, ".")
					if err != nil {
						errs <- err
						return
					}
					data, err := fs.ReadFile(fsys, "stack.yml")
					if err != nil || !strings.HasPrefix(string(data), b+" ") {
						errs <- fmt.Errorf("%s at %s: stack.yml = %q, %v", b, rev.Short(), data, err)
						return
					}
				}
			})
		}
	}
	// Meanwhile the branches move on.
	for i := 1; i <= 3; i++ {
		for _, b := range branches {
			remote.Switch(b)
			remote.Commit(map[string]string{"stack.yml": fmt.Sprintf("%s %d", b, i)}, "next")
			remote.Push(b)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, b := range branches {
		rev, err := repo.Fetch(t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		fsys, err := repo.FS(rev.SHA, ".")
		if err != nil {
			t.Fatal(err)
		}
		if data, err := fs.ReadFile(fsys, "stack.yml"); err != nil || string(data) != b+" 3" {
			t.Errorf("%s finally = %q, %v; want %q", b, data, err, b+" 3")
		}
	}
}
