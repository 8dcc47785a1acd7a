package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
	"github.com/flotilla-gitops/flotilla/sync"
)

func newRmCmd(g *globals) *cobra.Command {
	var purgeHistory bool
	cmd := &cobra.Command{
		Use:   "rm [--purge-history] STACK [STACK…]",
		Short: "Remove everything a stack owns — services, networks, versioned secrets and configs — and wait until it is gone",
		Long: `Remove everything a stack owns and wait until it is gone. The stack's deploy
history and pin stay on the swarm (a stack deployed again under the same name
finds them, quarantined commits included); --purge-history removes them too.`,
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
				if err := removeStack(ctx, g, d, name); err != nil {
					errs = append(errs, err)
					continue
				}
				if err := stackHistory(ctx, g.stdout, d, name, purgeHistory); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&purgeHistory, "purge-history", false, "also remove the stack's deploy history and pin")
	return cmd
}

func removeStack(ctx context.Context, g *globals, d *cluster.Docker, name string) error {
	live, err := d.ReadStack(ctx, name)
	if err != nil {
		return err
	}
	// The plan from nothing to what is there deletes exactly what the
	// stack owns; objects in its scope without its labels are left alone
	// (and reported as warnings).
	plan := diff.Compute(&stack.Desired{Stack: name}, live)
	plan.Prune = true
	for _, w := range plan.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	if !plan.HasChanges() {
		fmt.Fprintf(g.stdout, "Nothing found in stack %s.\n", name)
		return nil
	}
	res, err := apply.Run(ctx, d, plan, apply.Options{Prune: true, Log: g.logger()})
	if err != nil {
		return fmt.Errorf("removing stack %s: %w", name, err)
	}
	for _, o := range res.Removed {
		fmt.Fprintf(g.stdout, "Removed %s\n", o)
	}
	return nil
}

// stackHistory purges a removed stack's history, or says that it stays.
func stackHistory(ctx context.Context, w io.Writer, d *cluster.Docker, name string, purge bool) error {
	h := sync.NewHistory(d, 0)
	if purge {
		n, err := h.Purge(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Removed %d history records of stack %s.\n", n, name)
		return nil
	}
	records, err := h.List(ctx, name)
	if err != nil {
		return err
	}
	if len(records) > 0 {
		fmt.Fprintf(w, "Kept the %d history records of stack %s; --purge-history removes them.\n", len(records), name)
	}
	return nil
}
