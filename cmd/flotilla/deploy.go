package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
)

func newDeployCmd(g *globals) *cobra.Command {
	var (
		sf           stackFlags
		prune        bool
		detach       bool
		dryRun       bool
		resolveImage string
		onFailure    string
		timeout      time.Duration
	)
	cmd := &cobra.Command{
		Use: "deploy -c FILE [-c FILE…] [--var K=V] [--env-file F] [--prune] [--detach] " +
			"[--resolve-image always|changed|never] [--on-failure rollback|pause] [--timeout D] [--dry-run] STACK",
		Short: "Deploy a stack like `docker stack deploy`, with a plan first, a convergence wait and a stack-wide rollback",
		Long: `Render the stack files, compare them with the swarm and print the plan, then
apply it: networks, secrets and configs, then services with rolling updates.
Flotilla waits until every changed service has converged (its tasks running on the
new spec, healthy, and stable for the update monitor period). When a service fails,
every service this deploy changed goes back to its previous spec and what it created
is removed (--on-failure rollback, the default), or everything is left as it is for
a person to look at (--on-failure pause). The exit status is non-zero on failure.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			of, err := apply.ParseOnFailure(onFailure)
			if err != nil {
				return err
			}
			ri, err := apply.ParseResolveImage(resolveImage)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			d, plan, err := sf.plan(ctx, g, args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			plan.Prune = prune
			if err := plan.WriteText(g.stdout, diff.TextOptions{Color: g.color(g.stdout)}); err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
			if dryRun || !plan.HasChanges() {
				return nil
			}
			prog := newProgress(g.stdout)
			g.logOut = prog.logTo(g.stderr)
			res, err := apply.Run(ctx, d, plan, apply.Options{
				OnFailure: of, Prune: prune, Detach: detach, ResolveImage: ri,
				ProgressDeadline: timeout, Progress: prog.update, Log: g.logger(),
				EngineWarning: func(service, warning string) {
					prog.warning(g.stderr, "service "+service+": "+warning, engineHint(ri))
				},
			})
			if err != nil {
				var fe *apply.FailedError
				if errors.As(err, &fe) && len(fe.RolledBack) > 0 {
					fmt.Fprintf(g.stdout, "\nRolled back: %s\n", strings.Join(fe.RolledBack, ", "))
				}
				return err
			}
			verb := "Deployed"
			if detach {
				verb = "Sent"
			}
			fmt.Fprintf(g.stdout, "\n%s stack %s: %d created, %d updated, %d removed.\n",
				verb, args[0], len(res.Created), len(res.Updated), len(res.Removed))
			return nil
		},
	}
	sf.register(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&prune, "prune", false, "remove services, networks, secrets and configs the stack files no longer name")
	f.BoolVarP(&detach, "detach", "d", false, "send the changes and exit without waiting for convergence")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	f.StringVar(&resolveImage, "resolve-image", string(apply.ResolveChanged),
		"query the registry for image digests: always, changed (when the image reference changed) or never")
	f.StringVar(&onFailure, "on-failure", string(apply.Rollback), "when a service fails: rollback or pause")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "progress deadline: how long to wait for the services to converge")
	return cmd
}

// engineHint says what to do about an engine warning. The engine warns
// about a service it accepted only when it was asked to resolve the image's
// digest at a registry and could not.
func engineHint(ri apply.ResolveImage) string {
	if ri == apply.ResolveNever {
		return ""
	}
	return "the engine asked a registry for the image's digest and could not get it; " +
		"for an image that exists only on the nodes, --resolve-image never skips the query"
}
