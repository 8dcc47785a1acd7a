package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

func newRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm STACK [STACK…]",
		Short: "Remove everything a stack owns — services, networks, versioned secrets and configs — and wait until it is gone",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := g.docker(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			var errs []error
			for _, name := range args {
				live, err := d.ReadStack(ctx, name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				// The plan from nothing to what is there deletes exactly what
				// the stack owns; objects in its scope without its labels
				// are left alone (and reported as warnings).
				plan := diff.Compute(&stack.Desired{Stack: name}, live)
				plan.Prune = true
				for _, w := range plan.Warnings {
					fmt.Fprintf(g.stderr, "warning: %s\n", w)
				}
				if !plan.HasChanges() {
					fmt.Fprintf(g.stdout, "Nothing found in stack %s.\n", name)
					continue
				}
				res, err := apply.Run(ctx, d, plan, apply.Options{Prune: true, Log: g.logger()})
				if err != nil {
					errs = append(errs, fmt.Errorf("removing stack %s: %w", name, err))
					continue
				}
				for _, o := range res.Removed {
					fmt.Fprintf(g.stdout, "Removed %s\n", o)
				}
			}
			return errors.Join(errs...)
		},
	}
}
