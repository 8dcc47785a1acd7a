package sync

import (
	"fmt"
	"io/fs"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// tip reads the cached tip of ref, peeling an annotated tag to its commit.
func (r *Repo) tip(ref plumbing.ReferenceName) (Revision, error) {
	local, err := r.repo.Reference(localRef(ref), true)
	if err != nil {
		return Revision{}, fmt.Errorf("reading %s of %s from the cache: %w", ref, r.name(), err)
	}
	h := local.Hash()
	if tag, err := r.repo.TagObject(h); err == nil {
		h = tag.Target
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return Revision{}, fmt.Errorf("reading commit %s of %s: %w", h, r.name(), err)
	}
	return newRevision(ref.String(), c), nil
}

// FS returns the files of commit sha under dir ("." for the root), read
// from the cache. The commit must have been fetched by Update.
func (r *Repo) FS(sha, dir string) (fs.FS, error) {
	c, err := r.Commit(sha)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	fsys, err := CommitFS(c)
	r.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	fsys.(*commitFS).lock = r.mu.RLocker()
	if dir == "" || dir == "." {
		return fsys, nil
	}
	fi, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("opening path %q of commit %s: %w", dir, shortSHA(sha), err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("opening path %q of commit %s: not a directory", dir, shortSHA(sha))
	}
	return fs.Sub(fsys, dir)
}

func shortSHA(sha string) string { return sha[:min(len(sha), 7)] }

// Commit reads commit sha from the cache, which keeps the commits fetched
// before (also by an earlier process) until a failed fetch recreates it.
func (r *Repo) Commit(sha string) (*object.Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return nil, err
	}
	c, err := r.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return nil, fmt.Errorf("reading commit %s of %s: %w", sha, r.name(), err)
	}
	return c, nil
}
