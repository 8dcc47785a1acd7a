package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/diff"
)

func newDiffCmd(g *globals) *cobra.Command {
	var (
		sf       stackFlags
		output   string
		noColor  bool
		exitCode bool
	)
	cmd := &cobra.Command{
		Use:   "diff -c FILE [-c FILE…] [--var K=V] [--env-file F] [--resolve-image M] [--with-registry-auth] [--output text|json] [--no-color] [--exit-code] STACK",
		Short: "Show what deploying the stack files would change on the swarm, field by field",
		Long: `Compare the stack files with what runs on the swarm and print the plan: what
would be created, updated in place or with a rolling restart, replaced or deleted.
Nothing is changed. With --exit-code the status is 0 when there are no changes,
2 when there are, and 1 on error (like terraform plan -detailed-exitcode).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sf.stdin = cmd.InOrStdin()
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			p, err := sf.plan(cmd.Context(), g, args[0])
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
			if output == "json" {
				err = plan.WriteJSON(g.stdout)
			} else {
				color := !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(g.stdout)
				err = plan.WriteText(g.stdout, diff.TextOptions{Color: color})
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
	sf.registerPlan(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "plan format: text or json (schema: docs/plan-json.md)")
	f.BoolVar(&noColor, "no-color", false, "never colour the plan (it is coloured only on a terminal, and not when NO_COLOR is set)")
	f.BoolVar(&exitCode, "exit-code", false, "exit 2 when there are changes, 0 when none, 1 on error")
	return cmd
}
