package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/sync"
)

func newRmCmd(g *globals) *cobra.Command {
	var purgeHistory bool
	cmd := &cobra.Command{
		Use:   "rm [--purge-history] STACK [STACK…]",
		Short: "Remove everything a stack owns — services, networks, versioned secrets and configs — and wait until it is gone",
		Long: `Remove everything a stack owns and wait until it is gone, then its pin and any
deploy journal left open, so that a new environment deploying a stack of that
name starts clean. The stack's deploy history stays on the swarm, for the
audit (a stack deployed again under the same name finds it, quarantined
commits included); --purge-history removes it too.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := g.docker(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			var errs []error
			for _, name := range args {
				w, err := g.lockStack(ctx, d, name, nil)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				err = removeStack(w.ctx, g, d, name, purgeHistory)
				w.unlock()
				if err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&purgeHistory, "purge-history", false, "also remove the stack's deploy history")
	return cmd
}

// removeStack removes what stack owns, then its pin and any open journal,
// and its history when purgeHistory says so.
func removeStack(ctx context.Context, g *globals, d *cluster.Docker, name string, purgeHistory bool) error {
	plan, res, err := sync.RemoveStack(ctx, d, name, g.logger())
	for _, w := range plan.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	if res != nil {
		for _, o := range res.Removed {
			fmt.Fprintf(g.stdout, "Removed %s\n", o)
		}
	} else if err == nil {
		fmt.Fprintf(g.stdout, "Nothing found in stack %s.\n", name)
	}
	if err != nil {
		return err
	}
	h := sync.NewHistory(d, 0)
	if purgeHistory {
		n, err := h.Purge(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "Removed %d history records of stack %s.\n", n, name)
		return nil
	}
	records, err := h.List(ctx, name)
	if err != nil {
		return err
	}
	if len(records) > 0 {
		fmt.Fprintf(g.stdout, "Kept the %d history records of stack %s; --purge-history removes them.\n", len(records), name)
	}
	return nil
}
