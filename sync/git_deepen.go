package sync

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// Revision returns commit sha of ref. The cache is shallow: a commit that
// was never a fetched tip (a rollback target deployed by another process,
// or before the cache was recreated) is fetched by deepening ref's history.
func (r *Repo) Revision(ctx context.Context, ref, sha string) (Revision, error) {
	if c, err := r.Commit(sha); err == nil {
		return newRevision(fullRef(ref).String(), c), nil
	}
	r.mu.Lock()
	err := r.deepen(ctx, ref)
	r.mu.Unlock()
	if err != nil {
		return Revision{}, err
	}
	c, err := r.Commit(sha)
	if err != nil {
		return Revision{}, fmt.Errorf("commit %s is not in the history of %s in %s (force-pushed away?): %w", shortSHA(sha), ref, r.name(), err)
	}
	return newRevision(fullRef(ref).String(), c), nil
}

// deepen fetches ref's whole history into the cache.
func (r *Repo) deepen(ctx context.Context, ref string) error {
	creds, err := r.credentials()
	if err != nil {
		return err
	}
	if err := r.open(); err != nil {
		return err
	}
	full := fullRef(ref)
	err = r.fetchOnce(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", full, localRef(full)))},
		// go-git has no unshallow: a depth beyond any real history does it.
		Depth: 1 << 30,
		Tags:  git.NoTags,
		Force: true,
		Auth:  creds.method,
	})
	if err != nil {
		return scrub(r.classify("fetching the history of "+ref+" from", err, r.Auth.KnownHostsFile), creds.secrets...)
	}
	return nil
}
