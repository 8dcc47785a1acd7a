package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	gosync "sync"
	"sync/atomic"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/stack"
)

// rendersPerEnv is how many desired states are kept per environment: the
// one deployed and the one before (a rollback, a revert) or after.
const rendersPerEnv = 2

// renders keeps each environment's last desired states, keyed by everything
// a render depends on, so that a pass whose inputs did not change renders
// nothing. The desired states hold decrypted secret values: they stay in
// this process's memory, as they do during a pass. A configuration reload
// makes a new Syncer, which starts empty.
type renders struct {
	mu    gosync.Mutex
	byEnv map[string][]renderEntry // newest first
	// inflight are the renders under way, by environment and key: a
	// caller asking for one waits for it rather than rendering again.
	inflight map[string]*renderCall
	// loads counts the renders made (cache misses).
	loads atomic.Int64
}

type renderEntry struct {
	key     string
	desired *stack.Desired
}

// getLocked returns env's desired state for key, or nil; r.mu is held.
func (r *renders) getLocked(env, key string) *stack.Desired {
	for i, c := range r.byEnv[env] {
		if c.key == key {
			// Most recently used first.
			entries := r.byEnv[env]
			copy(entries[1:i+1], entries[:i])
			entries[0] = c
			return c.desired
		}
	}
	return nil
}

// putLocked keeps d as env's newest desired state; r.mu is held.
func (r *renders) putLocked(env, key string, d *stack.Desired) {
	entries := append([]renderEntry{{key: key, desired: d}}, r.byEnv[env]...)
	r.byEnv[env] = entries[:min(len(entries), rendersPerEnv)]
}

type renderCall struct {
	done    chan struct{}
	desired *stack.Desired
	err     error
}

// do returns env's desired state for key: kept, under way (waited for), or
// made now by load and kept if it succeeds.
func (r *renders) do(ctx context.Context, env, key string, load func() (*stack.Desired, error)) (*stack.Desired, error) {
	r.mu.Lock()
	if d := r.getLocked(env, key); d != nil {
		r.mu.Unlock()
		return d, nil
	}
	id := env + "\x00" + key
	if c, ok := r.inflight[id]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.desired, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if r.inflight == nil {
		r.inflight = map[string]*renderCall{}
	}
	c := &renderCall{done: make(chan struct{})}
	r.inflight[id] = c
	r.mu.Unlock()

	c.desired, c.err = load()
	r.mu.Lock()
	delete(r.inflight, id)
	if c.err == nil {
		r.putLocked(env, key, c.desired)
	}
	r.mu.Unlock()
	close(c.done)
	return c.desired, c.err
}

// Renders is how many times stack files were rendered: a pass whose inputs
// a earlier pass rendered reuses its desired state.
func (s *Syncer) Renders() int { return int(s.renders.loads.Load()) }

// renderKey fingerprints what rendering e at sha depends on: the commit and
// the files read from it, the configuration (stack, variables, policy),
// the age identities and version key as they are on disk now, and the
// engine's API version. ok is false when a key file can't be looked at:
// the render then reports why.
func (s *Syncer) renderKey(e *environments.Environment, sha, apiVersion string) (key string, ok bool) {
	type stamp struct {
		Path       string
		Size, Time int64
		Mode       os.FileMode
	}
	stat := func(path string) (stamp, bool) {
		fi, err := os.Stat(path)
		if err != nil {
			return stamp{}, false
		}
		return stamp{Path: path, Size: fi.Size(), Time: fi.ModTime().UnixNano(), Mode: fi.Mode()}, true
	}
	var keys []stamp
	for _, p := range e.Identities {
		st, ok := stat(p)
		if !ok {
			return "", false
		}
		keys = append(keys, st)
	}
	if len(e.Identities) == 0 && s.VersionKeyFile != "" {
		// The version key is read only when there are no identities.
		st, ok := stat(s.VersionKeyFile)
		if !ok {
			return "", false
		}
		keys = append(keys, st)
	}
	b, err := json.Marshal(struct {
		Repo, SHA, Path, Stack, APIVersion string
		Files, EnvFiles                    []string
		Variables                          map[string]string
		Keys                               []stamp
		Policy                             stack.Policy
	}{e.Repo.URL, sha, e.Path, e.Stack, apiVersion, e.Files, e.EnvFiles, e.Variables, keys, e.Policy})
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}
