package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/flotilla-gitops/flotilla/environments"
)

// Repo is one configured Git repository and its on-disk object cache. Make
// one Repo per repository and share it between the environments deploying
// from it: Update lists the remote once and fetches the refs they need in
// one go, and the cache is never written by two fetches at once.
type Repo struct {
	URL  string
	Auth environments.Auth
	// CacheDir is the root of the caches; this repository's objects go in a
	// directory under it named after a hash of the URL.
	CacheDir string
	// Timeouts bound each listing and fetch (zero: the defaults).
	Timeouts Timeouts

	// mu is held for writing by Update and for reading by the file systems
	// it hands out, so a fetch never changes the store under a reader.
	mu   gosync.RWMutex
	repo *git.Repository

	listings, fetches atomic.Int64
	// Observe, when set, is told of every request to the remote: kind
	// "list" or "fetch", how it ended and how long it took (for metrics).
	Observe func(kind string, err error, took time.Duration)
}

func (r *Repo) observe(kind string, started time.Time, err error) {
	if r.Observe != nil {
		r.Observe(kind, err, time.Since(started))
	}
}

// NewRepo describes the repository at url; nothing is fetched yet.
func NewRepo(url string, auth environments.Auth, cacheDir string) *Repo {
	return &Repo{URL: url, Auth: auth, CacheDir: cacheDir}
}

// name is the URL as errors show it, without credentials.
func (r *Repo) name() string { return redactURL(r.URL) }

// Listings counts the times Update listed the remote's refs.
func (r *Repo) Listings() int { return int(r.listings.Load()) }

// Fetches counts the fetches that went to the remote for objects.
func (r *Repo) Fetches() int { return int(r.fetches.Load()) }

// Tip is what Update found for one ref: its revision, or Err — a
// *RefNotFoundError when the remote has no such ref.
type Tip struct {
	Revision Revision
	Err      error
}

// Fetch brings one branch or ref up to date and returns its tip.
func (r *Repo) Fetch(ctx context.Context, ref string) (Revision, error) {
	tips, err := r.Update(ctx, ref)
	if err != nil {
		return Revision{}, err
	}
	return tips[ref].Revision, tips[ref].Err
}

// Update lists the remote's refs (one round trip, no objects), then fetches
// in a single shallow fetch every one of refs whose tip isn't cached yet.
// refs are branch names ("dev") or full refs ("refs/tags/v1"); the result is
// keyed by them as given. The error is for the whole remote: unreachable,
// refused credentials, a wrong host key, an empty repository.
func (r *Repo) Update(ctx context.Context, refs ...string) (map[string]Tip, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	creds, err := r.credentials()
	if err != nil {
		return nil, err
	}
	remote, err := r.list(ctx, creds)
	if err != nil {
		return nil, err
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	tips := map[string]Tip{}
	want := map[plumbing.ReferenceName]bool{}
	for _, ref := range refs {
		full := fullRef(ref)
		h, ok := remote[full]
		switch {
		case !ok:
			tips[ref] = Tip{Err: &RefNotFoundError{URL: r.name(), Ref: full.String()}}
		case !r.cached(full, h):
			want[full] = true
		}
	}
	if len(want) > 0 {
		if err := r.fetch(ctx, creds, want); err != nil {
			return nil, err
		}
	}
	for _, ref := range refs {
		if _, failed := tips[ref]; !failed {
			rev, err := r.tip(fullRef(ref))
			tips[ref] = Tip{Revision: rev, Err: err}
		}
	}
	return tips, nil
}

func fullRef(ref string) plumbing.ReferenceName {
	if strings.HasPrefix(ref, "refs/") {
		return plumbing.ReferenceName(ref)
	}
	return plumbing.NewBranchReferenceName(ref)
}

// localRef is where the cache keeps a remote ref: branches as remote-tracking
// branches, like a clone; other refs (tags) under their own name.
func localRef(ref plumbing.ReferenceName) plumbing.ReferenceName {
	if ref.IsBranch() {
		return plumbing.NewRemoteReferenceName("origin", ref.Short())
	}
	return ref
}

// list reads the remote's refs without fetching anything: the cheap way to
// tell whether anything changed.
func (r *Repo) list(ctx context.Context, creds credentials) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	r.listings.Add(1)
	started := time.Now()
	c := r.begin(ctx, "listing refs of", r.Timeouts.withDefaults().List)
	refs, err := remote.ListContext(c.ctx, &git.ListOptions{Auth: creds.method, ProxyOptions: c.proxy()})
	err = c.end(err)
	r.observe("list", started, err)
	if interrupted(ctx, err) {
		return nil, err
	}
	if err != nil {
		return nil, scrub(r.classify("listing refs of", err, r.Auth.KnownHostsFile), creds.secrets...)
	}
	out := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	for _, ref := range refs {
		if ref.Type() == plumbing.HashReference {
			out[ref.Name()] = ref.Hash()
		}
	}
	if len(out) == 0 {
		// Some transports list an empty repository without an error.
		return nil, &EmptyRepositoryError{URL: r.name()}
	}
	return out, nil
}

// cached says whether the cache already has ref at hash h, objects included.
func (r *Repo) cached(ref plumbing.ReferenceName, h plumbing.Hash) bool {
	local, err := r.repo.Reference(localRef(ref), false)
	return err == nil && local.Hash() == h && r.repo.Storer.HasEncodedObject(h) == nil
}

// fetch brings refs into the cache, shallow and without tags. Any failure
// after a successful listing is blamed on the cache (an interrupted fetch, a
// shallow boundary go-git can't negotiate): it is deleted and the fetch
// tried once more from scratch.
func (r *Repo) fetch(ctx context.Context, creds credentials, refs map[plumbing.ReferenceName]bool) error {
	var specs []config.RefSpec
	for ref := range refs {
		specs = append(specs, config.RefSpec(fmt.Sprintf("+%s:%s", ref, localRef(ref))))
	}
	opts := &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   specs,
		Depth:      1,
		Tags:       git.NoTags,
		Force:      true,
		Auth:       creds.method,
	}
	err := r.fetchOnce(ctx, opts)
	if interrupted(ctx, err) {
		// The remote or the caller, not the cache, is to blame: no
		// second try.
		return err
	}
	if err != nil && ctx.Err() == nil {
		if rerr := r.recreate(); rerr != nil {
			return errors.Join(err, rerr)
		}
		err = r.fetchOnce(ctx, opts)
	}
	if err != nil {
		return scrub(r.classify("fetching from", err, r.Auth.KnownHostsFile), creds.secrets...)
	}
	return nil
}

// fetchOnce fetches under the fetch deadlines; a timeout is a *TimeoutError.
func (r *Repo) fetchOnce(ctx context.Context, opts *git.FetchOptions) error {
	r.fetches.Add(1)
	started := time.Now()
	c := r.begin(ctx, "fetching from", r.Timeouts.withDefaults().Fetch)
	o := *opts
	o.ProxyOptions = c.proxy()
	err := r.repo.FetchContext(c.ctx, &o)
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	err = c.end(err)
	r.observe("fetch", started, err)
	return err
}
