package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/diff"
)

func newDiffCmd(g *globals) *cobra.Command {
	var (
		sf       stackFlags
		out      outputFlag
		pf       policyFlags
		exitCode bool
		prune    bool
	)
	cmd := &cobra.Command{
		Use:   "diff -c FILE [-c FILE…] [--var K=V] [--env-file F] [--prune] [--resolve-image M] [--with-registry-auth] [--output text|json] [--no-color] [--exit-code] [--policy none|default|env:NAME [--config F]] STACK",
		Short: "Show what deploying the stack files would change on the swarm, field by field",
		Long: `Compare the stack files with what runs on the swarm and print the plan: what
would be created, updated in place or with a rolling restart, replaced or deleted.
Objects the stack files no longer name are shown but count as deleted only with
--prune, as 'deploy' removes them only then. Nothing is changed. With --exit-code the status is 0 when there are no changes,
2 when there are, and 1 on error (like terraform plan -detailed-exitcode).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sf.stdin = cmd.InOrStdin()
			if err := out.check(); err != nil {
				return err
			}
			policy, err := pf.policy()
			var p *planned
			if err == nil {
				p, err = sf.plan(cmd.Context(), g, args[0], policy)
			}
			if err != nil {
				// Status 2 means "changes" here: every error is 1.
				var ee *exitError
				if errors.As(err, &ee) && ee.err != nil {
					return ee.err
				}
				return err
			}
			defer p.d.Close()
			plan := p.plan
			plan.Prune = prune
			if out.json() {
				err = plan.WriteJSON(g.stdout)
			} else {
				err = plan.WriteText(g.stdout, diff.TextOptions{Color: g.color(g.stdout)})
				if err == nil && policy != nil {
					_, err = fmt.Fprintf(g.stdout, "Policy: %s\n", policy)
				}
			}
			if err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
			if exitCode && plan.HasChanges() {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	pf.register(cmd.Flags())
	sf.registerPlan(cmd.Flags())
	f := cmd.Flags()
	out.register(f, "plan (json: docs/plan-json.md)")
	f.BoolVar(&exitCode, "exit-code", false, "exit 2 when there are changes, 0 when none, 1 on error")
	f.BoolVar(&prune, "prune", false, "plan as 'deploy --prune' does: count what the stack files no longer name as deleted")
	return cmd
}
