package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
)

func newDeployCmd(g *globals) *cobra.Command {
	var (
		out       outputFlag
		quiet     bool
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
			if err := out.check(); err != nil {
				return err
			}
			// The plan, progress and result go to people; -q and -o json
			// keep them off stdout (errors still go to stderr).
			shown := g.stdout
			if quiet || out.json() {
				shown = io.Discard
			}
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
			if err := plan.WriteText(shown, diff.TextOptions{Color: g.color(shown)}); err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
			if policy != nil {
				fmt.Fprintf(shown, "Policy: %s\n", policy)
			}
			result := func(res *apply.Result, err error) error {
				if out.json() {
					if jerr := writeDeployJSON(g.stdout, args[0], plan, res, err); jerr != nil {
						return errors.Join(err, jerr)
					}
				}
				return err
			}
			if dryRun || !plan.HasChanges() {
				return result(nil, nil)
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
					return result(nil, nil)
				}
				if err := plan.WriteText(shown, diff.TextOptions{Color: g.color(shown)}); err != nil {
					return fmt.Errorf("writing plan: %w", err)
				}
			}
			j, err := w.journal(p.d, plan)
			if err != nil {
				return err
			}
			prog := newProgress(shown)
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
					fmt.Fprintf(shown, "\nRolled back: %s\n", strings.Join(fe.RolledBack, ", "))
				}
				return result(res, err)
			}
			verb := "Deployed"
			if detach {
				verb = "Sent"
			}
			fmt.Fprintf(shown, "\n%s stack %s: %d created, %d updated, %d removed.\n",
				verb, args[0], len(res.Created), len(res.Updated), len(res.Removed))
			return result(res, nil)
		},
	}
	sf.register(cmd.Flags())
	pf.register(cmd.Flags())
	sf.registerPlan(cmd.Flags())
	f := cmd.Flags()
	out.register(f, "result (json: the plan of docs/plan-json.md and what was done)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	f.BoolVar(&prune, "prune", false, "remove services, networks, secrets and configs the stack files no longer name")
	f.BoolVarP(&detach, "detach", "d", false, "send the changes and exit without waiting for convergence")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	f.StringVar(&onFailure, "on-failure", string(apply.Rollback), "when a service fails: rollback or pause")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "progress deadline: how long to wait for the services to converge")
	return cmd
}

// deployJSON is `flotilla deploy -o json`: the plan and what was done.
type deployJSON struct {
	Stack      string          `json:"stack"`
	Plan       json.RawMessage `json:"plan"`
	Created    []string        `json:"created,omitempty"`
	Updated    []string        `json:"updated,omitempty"`
	Removed    []string        `json:"removed,omitempty"`
	RolledBack []string        `json:"rolledBack,omitempty"`
	// Outcome is deployed, unchanged (nothing to do, or --dry-run),
	// or one of apply's failures (rolled-back, rollback-failed, paused,
	// interrupted); Error says why.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

func writeDeployJSON(w io.Writer, stack string, plan diff.Plan, res *apply.Result, err error) error {
	var pj bytes.Buffer
	if perr := plan.WriteJSON(&pj); perr != nil {
		return perr
	}
	out := deployJSON{Stack: stack, Plan: bytes.TrimSpace(pj.Bytes()), Outcome: "unchanged"}
	if res != nil {
		out.Outcome = "deployed"
		out.Created, out.Updated, out.Removed, out.RolledBack = res.Created, res.Updated, res.Removed, res.RolledBack
	}
	if err != nil {
		out.Outcome, out.Error = "failed", err.Error()
		if fe, ok := errors.AsType[*apply.FailedError](err); ok {
			out.Outcome = string(fe.Kind)
		}
	}
	return writeJSON(w, out)
}
