package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
	"github.com/flotilla-gitops/flotilla/sync"
)

func newRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm STACK [STACK…]",
		Short: "Remove everything a stack owns — services, networks, versioned secrets and configs — and wait until it is gone",
		Long: `Remove everything a stack owns and wait until it is gone, then its pin and any
deploy journal left open, so that a new environment deploying a stack of that
name starts clean. The stack's history stays, for the audit.`,
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
				err = removeStack(w.ctx, g, d, name)
				w.unlock()
				if err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
}

// removeStack removes what stack owns, then its pin and any open journal.
func removeStack(ctx context.Context, g *globals, d *cluster.Docker, name string) error {
	live, err := d.ReadStack(ctx, name)
	if err != nil {
		return err
	}
	// The plan from nothing to what is there deletes exactly what the stack
	// owns; objects in its scope without its labels are left alone (and
	// reported as warnings).
	plan := diff.Compute(&stack.Desired{Stack: name}, live)
	for _, w := range plan.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	if plan.HasChanges() {
		res, err := apply.Run(ctx, d, plan, apply.Options{Prune: true, Log: g.logger()})
		if err != nil {
			return fmt.Errorf("removing stack %s: %w", name, err)
		}
		for _, o := range res.Removed {
			fmt.Fprintf(g.stdout, "Removed %s\n", o)
		}
	} else {
		fmt.Fprintf(g.stdout, "Nothing found in stack %s.\n", name)
	}
	if err := sync.NewHistory(d, 0).ClearPin(ctx, name); err != nil {
		return err
	}
	return apply.RemoveJournal(ctx, d, name)
}
