package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/sync"
)

// configSource is the operator's configuration: its file, plus the
// environments the file's include: and discover: entries declare in Git.
// What it refuses — a file or a commit that does not validate, keys that do
// not load — leaves the last good configuration in force.
type configSource struct {
	path      string
	log       *slog.Logger
	newSyncer func(*environments.Config) *sync.Syncer

	mu   gosync.Mutex
	base *environments.Config
	boot *sync.Syncer // reads the bootstrap repositories through its Git cache
	last sync.Bootstrap
	// refused is the last bootstrap refused, recorded once.
	refused sync.Bootstrap
}

// load reads the file and expands it: at start and on SIGHUP.
func (c *configSource) load(ctx context.Context) (*environments.Config, error) {
	base, err := environments.Load(c.path)
	if err != nil {
		return nil, err
	}
	// The bootstrap reads Git through a cache of its own: never the same
	// on-disk repository as a pass at the same time.
	bootCfg := *base
	bootCfg.CacheDir = filepath.Join(base.CacheDir, "bootstrap")
	boot := c.newSyncer(&bootCfg)
	cfg, b, err := c.expand(ctx, boot, base)
	if _, retry := errors.AsType[*sync.RetryError](err); retry && c.base == nil {
		// Git out of reach at start: run the file's own environments; the
		// watch adds the others once it answers.
		c.log.Warn("reading the environments declared in Git; starting without them", "err", err)
		cfg, b, err = base, sync.Bootstrap{}, nil
	}
	if err != nil {
		boot.Close()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.boot != nil {
		c.boot.Close()
	}
	c.base, c.boot, c.last = base, boot, b
	return cfg, nil
}

func (c *configSource) expand(ctx context.Context, boot *sync.Syncer, base *environments.Config) (*environments.Config, sync.Bootstrap, error) {
	cfg, b, err := boot.Expand(ctx, base)
	if err == nil {
		// What `flotilla validate` refuses, the operator refuses.
		err = sync.CheckKeys(cfg, os.Getenv(secrets.EnvVersionKeyFile))
	}
	return cfg, b, err
}

// watch looks at the bootstrap repositories every interval and reloads the
// operator when a commit there changes the environments: added, changed
// or removed without a restart. A refused commit is logged, recorded in the
// local cluster's history and reported once; the last good set stays.
// Removing an environment never removes its stack unless it says prune.
func (c *configSource) watch(ctx context.Context, op *sync.Operator, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		base, boot, last, refused := c.base, c.boot, c.last, c.refused
		c.mu.Unlock()
		if len(base.Includes) == 0 && len(base.Discover) == 0 {
			continue
		}
		cfg, b, err := c.expand(ctx, boot, base)
		if _, retry := errors.AsType[*sync.RetryError](err); retry {
			c.log.Warn("reading the environments declared in Git; keeping the ones in force", "err", err)
			continue
		}
		if err != nil {
			if !b.Same(refused) {
				c.log.Error("environments declared in Git refused; keeping the last good set", "commits", b.Commits, "err", err)
				if rerr := boot.RecordRefusedConfig(ctx, b, err); rerr != nil {
					c.log.Warn("recording the refused configuration", "err", rerr)
				}
				c.mu.Lock()
				c.refused = b
				c.mu.Unlock()
			}
			continue
		}
		if b.Same(last) {
			continue
		}
		if err := op.Reload(c.newSyncer(cfg)); err != nil {
			c.log.Error("reloading the environments declared in Git", "err", err)
			continue
		}
		c.mu.Lock()
		c.last = b
		c.mu.Unlock()
		c.log.Info("environments declared in Git reloaded", "commits", b.Commits, "environments", len(cfg.Environments))
	}
}

// close releases the bootstrap's connections.
func (c *configSource) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.boot != nil {
		c.boot.Close()
	}
}
