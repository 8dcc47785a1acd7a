package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
)

func newDeployCmd(g *globals) *cobra.Command {
	var (
		sf        stackFlags
		pf        policyFlags
		prune     bool
		detach    bool
		dryRun    bool
		onFailure string
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use: "deploy -c FILE [-c FILE…] [--var K=V] [--env-file F] [--prune] [--detach] " +
			"[--resolve-image always|changed|never] [--with-registry-auth] [--on-failure rollback|pause] [--timeout D] [--dry-run] " +
			"[--policy none|default|env:NAME [--config F]] STACK",
		Short: "Deploy a stack like `docker stack deploy`, with a plan first, a convergence wait and a stack-wide rollback",
		Long: `Render the stack files, compare them with the swarm and print the plan, then
apply it: networks, secrets and configs, then services with rolling updates.
Flotilla waits until every changed service has converged (its tasks running on the
new spec, healthy, and stable for the update monitor period). When a service fails,
every service this deploy changed goes back to its previous spec and what it created
is removed (--on-failure rollback, the default), or everything is left as it is for
a person to look at (--on-failure pause). The exit status is non-zero on failure.

Whoever runs deploy already has the engine's API, so no policy applies unless
--policy asks: default is the operator's built-in policy (no bind mount of the
Docker socket, /, /etc…; no cap_add; no host network; no external objects),
env:NAME the policy of environment NAME in the --config file. A stack the
policy refuses is reported with every violation and nothing is written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sf.stdin = cmd.InOrStdin()
			of, err := apply.ParseOnFailure(onFailure)
			if err != nil {
				return err
			}
			policy, err := pf.policy()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := sf.plan(ctx, g, args[0], policy)
			if err != nil {
				return err
			}
			defer p.d.Close()
			plan := p.plan
			plan.Prune = prune
			if err := plan.WriteText(g.stdout, diff.TextOptions{Color: g.color(g.stdout)}); err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
			if policy != nil {
				fmt.Fprintf(g.stdout, "Policy: %s\n", policy)
			}
			if dryRun || !plan.HasChanges() {
				return nil
			}
			w, err := g.lockStack(ctx, p.d, args[0], p.auth)
			if err != nil {
				return err
			}
			defer w.unlock()
			if w.recovered {
				// The stack changed under the plan: plan again.
				mode, _ := cluster.ParseResolveImage(sf.resolveImage)
				if p, err = sf.planWith(w.ctx, g, p.d, args[0], policy, mode, p.auth); err != nil {
					return err
				}
				plan = p.plan
				plan.Prune = prune
				if !plan.HasChanges() {
					return nil
				}
				if err := plan.WriteText(g.stdout, diff.TextOptions{Color: g.color(g.stdout)}); err != nil {
					return fmt.Errorf("writing plan: %w", err)
				}
			}
			j, err := w.journal(p.d, plan)
			if err != nil {
				return err
			}
			prog := newProgress(g.stdout)
			g.logOut = prog.logTo(g.stderr)
			res, err := apply.Run(w.ctx, p.d, plan, apply.Options{
				OnFailure: of, Prune: prune, Detach: detach, RegistryAuth: p.auth,
				ProgressDeadline: timeout, Progress: prog.update, Log: g.logger(), Journal: j,
				EngineWarning: func(service, warning string) {
					prog.warning(g.stderr, "service "+service+": "+warning, "")
				},
			})
			w.done(j, err)
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
	pf.register(cmd.Flags())
	sf.registerPlan(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&prune, "prune", false, "remove services, networks, secrets and configs the stack files no longer name")
	f.BoolVarP(&detach, "detach", "d", false, "send the changes and exit without waiting for convergence")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	f.StringVar(&onFailure, "on-failure", string(apply.Rollback), "when a service fails: rollback or pause")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "progress deadline: how long to wait for the services to converge")
	return cmd
}
