package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// cacheDir is where a repository's objects are kept: a bare repository named
// after a hash of the URL, so two URLs never share one and a URL needs no
// escaping.
func cacheDir(root, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(root, "git", hex.EncodeToString(sum[:12])+".git")
}

// open opens the on-disk cache, creating it when missing. A cache that can't
// be opened is recreated: it only holds what a fetch brings back.
func (r *Repo) open() error {
	if r.repo != nil {
		return nil
	}
	if r.CacheDir == "" {
		return fmt.Errorf("caching %s: no cache directory configured", r.name())
	}
	dir := cacheDir(r.CacheDir, r.URL)
	if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
		if repo, err := git.Open(storage(dir), nil); err == nil {
			r.repo = repo
			return nil
		}
	}
	return r.recreate()
}

// recreate deletes the cache and starts an empty one.
func (r *Repo) recreate() error {
	dir := cacheDir(r.CacheDir, r.URL)
	r.repo = nil
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing git cache %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating git cache %s: %w", dir, err)
	}
	repo, err := git.Init(storage(dir), nil)
	if err != nil {
		return fmt.Errorf("creating git cache %s: %w", dir, err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.URL}}); err != nil {
		return fmt.Errorf("creating git cache %s: %w", dir, err)
	}
	r.repo = repo
	return nil
}

func storage(dir string) *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
}
