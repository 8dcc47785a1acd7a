package main

import (
	"context"
	"fmt"

	"github.com/flotilla-gitops/flotilla/sync"
)

// purgeHistory removes an environment's history and pin, from the swarm
// its configuration names: `flotilla history --purge ENV`. The operator's
// API has no such call; this is a deliberate act at the cluster.
func purgeHistory(ctx context.Context, g *globals, cf *configFlag, env string) error {
	s, err := cf.syncer(g)
	if err != nil {
		return err
	}
	defer s.Close()
	e, err := s.Config().Environment(env)
	if err != nil {
		return err
	}
	d, err := s.Docker(ctx, e.Cluster)
	if err != nil {
		return err
	}
	n, err := sync.NewHistory(d, 0).Purge(ctx, e.Stack)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Removed %d history records of %s (stack %s), and its pin if it had one.\n", n, env, e.Stack)
	return nil
}
