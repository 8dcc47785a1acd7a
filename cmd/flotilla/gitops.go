package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

// configFlag is the --config flag of the GitOps commands.
type configFlag struct{ path string }

func (c *configFlag) register(f *pflag.FlagSet) {
	def := os.Getenv("FLOTILLA_CONFIG")
	if def == "" {
		def = "flotilla.yml"
	}
	f.StringVar(&c.path, "config", def, "operator configuration file (env FLOTILLA_CONFIG)")
}

// syncer loads the configuration (every problem reported with its line)
// and makes a Syncer over it.
func (c *configFlag) syncer(g *globals) (*sync.Syncer, error) {
	cfg, err := environments.Load(c.path)
	if err != nil {
		return nil, err
	}
	s := sync.New(cfg, g.logger())
	s.Holder = cluster.NewHolder(g.command)
	return s, nil
}

// gitopsFlags choose where a GitOps command acts: --config (locally) or
// --server (a running operator).
type gitopsFlags struct {
	cf configFlag
	sf serverFlag
}

func (f *gitopsFlags) register(fs *pflag.FlagSet) {
	f.cf.register(fs)
	f.sf.register(fs)
}

// open returns the backend the flags name; the caller closes it.
func (f *gitopsFlags) open(cmd *cobra.Command, g *globals) (backend, error) {
	remote, err := f.sf.remote(cmd)
	if err != nil {
		return nil, err
	}
	return openBackend(g, &f.cf, &f.sf, remote)
}

func newSyncCmd(g *globals) *cobra.Command {
	var (
		gf     gitopsFlags
		out    outputFlag
		dryRun bool
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "sync ENV [--config F | --server URL] [--dry-run] [--force] [-o text|json]",
		Short: "Run one pass for an environment: fetch its branch, render, diff, apply, record",
		Long: `Run one reconcile pass for ENV and print the plan and the result. An explicit
sync lifts a pin left by 'flotilla rollback'. A commit whose deploy failed is
quarantined and not applied again; --force applies it anyway.

With --server, the running operator queues the pass and the command returns
at once; 'flotilla status --server URL ENV' shows how it went.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			o := sync.Options{Trigger: sync.TriggerManual, DryRun: dryRun, Force: force}
			if !out.json() {
				prog := newProgress(g.stdout)
				o.Progress, g.logOut = prog.update, prog.logTo(g.stderr)
				o.EngineWarning = func(service, warning string) { prog.warning(g.stderr, "service "+service+": "+warning, "") }
			}
			b, err := gf.open(cmd, g)
			if err != nil {
				return err
			}
			defer b.Close()
			res, err := b.Sync(cmd.Context(), args[0], o)
			switch {
			case out.json() && res.Queued != nil:
				return errors.Join(err, writeJSON(g.stdout, res.Queued))
			case out.json() && res.Report != nil:
				return errors.Join(err, writeJSON(g.stdout, res.Report))
			case res.Queued != nil:
				how := ""
				if force {
					how = " (forced)"
				}
				fmt.Fprintf(g.stdout, "Sync of %s queued%s; watch it with 'flotilla status --server %s %s'.\n", args[0], how, gf.sf.url, args[0])
			case res.Report != nil:
				printReport(g.stdout, res.Report, g.color(g.stdout))
			}
			return err
		},
	}
	gf.register(cmd.Flags())
	out.register(cmd.Flags(), "report")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	cmd.Flags().BoolVar(&force, "force", false, "apply the branch tip even if its deploy failed before")
	return cmd
}

// printReport prints a pass's report for people.
func printReport(w io.Writer, wire *server.Report, color bool) {
	if wire == nil {
		return
	}
	rep, err := wire.Sync()
	if err != nil {
		fmt.Fprintf(w, "(the report's plan could not be read: %v)\n", err)
		return
	}
	if rep.Commit.SHA != "" {
		fmt.Fprintf(w, "Environment %s at %s \"%s\" (%s)\n", rep.Environment, rep.Commit.Short(), printable(rep.Commit.Subject), printable(rep.Commit.Author()))
	}
	if rep.Skip != sync.SkipNone && !rep.Plan.HasChanges() && rep.Plan.Stack == "" {
		fmt.Fprintf(w, "Nothing applied: %s\n", rep.SkipMessage)
		return
	}
	if rep.Plan.Stack != "" {
		rep.Plan.WriteText(w, diff.TextOptions{Color: color})
	}
	if rep.Drift {
		fmt.Fprintln(w, "The live stack drifted from the deployed commit.")
	}
	if r := rep.Record; r != nil {
		fmt.Fprintf(w, "\nResult: %s", r.Outcome)
		if r.Error != "" {
			fmt.Fprintf(w, ": %s", r.Error)
		}
		fmt.Fprintln(w)
	}
}

func newHistoryCmd(g *globals) *cobra.Command {
	var (
		gf    gitopsFlags
		out   outputFlag
		n     int
		purge bool
	)
	cmd := &cobra.Command{
		Use:   "history ENV [--config F | --server URL] [-n N] [-o text|json] [--purge]",
		Short: "Show an environment's deploy history, newest first",
		Long: `Show an environment's deploy history, newest first. The history lives on the
swarm and outlives the stack ('flotilla rm' keeps it); --purge removes it and
the environment's pin, with its memory of failed commits (--config only).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if purge {
				if remote, err := gf.sf.remote(cmd); err != nil || remote {
					return errors.Join(err, errors.New("--purge works with --config only: the operator's API does not remove history"))
				}
				return purgeHistory(cmd.Context(), g, &gf.cf, args[0])
			}
			b, err := gf.open(cmd, g)
			if err != nil {
				return err
			}
			defer b.Close()
			records, err := b.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			records = newestFirst(records, n)
			if out.json() {
				return writeJSON(g.stdout, records)
			}
			return writeHistory(g.stdout, records)
		},
	}
	gf.register(cmd.Flags())
	out.register(cmd.Flags(), "history")
	cmd.Flags().IntVarP(&n, "number", "n", 20, "show at most N records (0: all)")
	cmd.Flags().BoolVar(&purge, "purge", false, "remove the environment's history and pin instead of showing them")
	return cmd
}

// newestFirst reverses records (oldest first from the history) and keeps at
// most n, all when n <= 0.
func newestFirst[R any](records []R, n int) []R {
	out := make([]R, 0, len(records))
	for i := len(records) - 1; i >= 0 && (n <= 0 || len(out) < n); i-- {
		out = append(out, records[i])
	}
	return out
}

// writeHistory prints records as a table; a failed pass says why in the
// last column, and what a pass that failed early never had shows as "-".
func writeHistory(w io.Writer, records []server.Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tFINISHED\tCOMMIT\tAUTHOR\tSUBJECT\tTRIGGER\tRESULT\tPLAN\tERROR")
	for _, r := range records {
		finished := "-"
		if !r.Finished.IsZero() {
			finished = r.Finished.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, finished, orDash(r.Commit.Short()),
			orDash(printable(r.Commit.Author)), orDash(clip(printable(r.Commit.Subject), 40)), r.Trigger, r.Outcome, orDash(r.Plan),
			clip(printable(oneLine(r.Error)), 100))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table cell on its row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip shortens s to n characters (not bytes: commit subjects are UTF-8).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newRollbackCmd(g *globals) *cobra.Command {
	var (
		gf  gitopsFlags
		out outputFlag
		to  string
	)
	cmd := &cobra.Command{
		Use:   "rollback ENV [--config F | --server URL] [--to SHA] [-o text|json]",
		Short: "Deploy an earlier commit that deployed successfully, and pin the environment there",
		Long: `Render an earlier commit of ENV that deployed successfully (by default the last
good one before the current), apply it, record it, and pin ENV there: automatic
syncs pause until 'flotilla resume ENV' or an explicit 'flotilla sync ENV'. A
commit that never deployed successfully is refused. With --server, the running
operator rolls back and the command waits until the deploy has converged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			b, err := gf.open(cmd, g)
			if err != nil {
				return err
			}
			defer b.Close()
			rep, err := b.Rollback(cmd.Context(), args[0], to)
			if out.json() {
				if rep != nil {
					return errors.Join(err, writeJSON(g.stdout, rep))
				}
				return err
			}
			printReport(g.stdout, rep, g.color(g.stdout))
			if err == nil {
				fmt.Fprintf(g.stdout, "Pinned %s at %s; 'flotilla resume %s' lets automatic syncs continue.\n", args[0], rep.Commit.Short(), args[0])
			}
			return err
		},
	}
	gf.register(cmd.Flags())
	out.register(cmd.Flags(), "report")
	cmd.Flags().StringVar(&to, "to", "", "commit to roll back to (default: the last good one before the current)")
	return cmd
}

func newResumeCmd(g *globals) *cobra.Command {
	var gf gitopsFlags
	cmd := &cobra.Command{
		Use:   "resume ENV [--config F | --server URL]",
		Short: "Lift an environment's pin, so automatic syncs continue from its branch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := gf.open(cmd, g)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.Resume(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Resumed %s.\n", args[0])
			return nil
		},
	}
	gf.register(cmd.Flags())
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var (
		gf  gitopsFlags
		out outputFlag
	)
	cmd := &cobra.Command{
		Use:   "status [ENV] [--config F | --server URL] [-o text|json]",
		Short: "Show each environment's deployed commit, whether Git moved on, drift, pin and last result",
		Long: `Show each environment's deployed commit, whether Git moved on, drift, pin and
last result. The exit status is 1 when an environment is in error: its status
could not be found out in full, or the operator's last automatic pass failed
to run (lastError); a deploy that failed and rolled back is a result, not an
error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			b, err := gf.open(cmd, g)
			if err != nil {
				return err
			}
			defer b.Close()
			names := args
			if len(names) == 0 {
				if names, err = b.Environments(cmd.Context()); err != nil {
					return err
				}
			}
			all, err := statuses(cmd.Context(), b, names)
			if err != nil {
				return err
			}
			if out.json() {
				if err := writeJSON(g.stdout, all); err != nil {
					return err
				}
				return inError(all)
			}
			for i, st := range all {
				if i > 0 {
					fmt.Fprintln(g.stdout)
				}
				writeStatus(g.stdout, st.Sync())
			}
			return inError(all)
		},
	}
	gf.register(cmd.Flags())
	out.register(cmd.Flags(), "status")
	return cmd
}

// statuses asks for several environments' status at once, a few at a time.
func statuses(ctx context.Context, b backend, names []string) ([]*server.EnvironmentStatus, error) {
	all := make([]*server.EnvironmentStatus, len(names))
	errs := make([]error, len(names))
	var wg gosync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := b.Status(ctx, name)
			if err != nil && len(names) > 1 {
				err = fmt.Errorf("%s: %w", name, err)
			}
			all[i], errs[i] = st, err
		})
	}
	wg.Wait()
	return all, errors.Join(errs...)
}

// inError fails the status command when an environment is in error, naming
// them, so that a script or a monitor notices without parsing the output.
func inError(all []*server.EnvironmentStatus) error {
	var bad []string
	for _, st := range all {
		if st != nil && (len(st.Errors) > 0 || st.LastError != "") {
			bad = append(bad, st.Environment)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("in error: %s", strings.Join(bad, ", "))
}

func writeStatus(w io.Writer, st *sync.Status) {
	fmt.Fprintf(w, "%s (stack %s, %s)\n", st.Environment, st.Stack, strings.TrimPrefix(st.Ref, "refs/heads/"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if d := st.Deployed; d != nil {
		fmt.Fprintf(tw, "  deployed:\t%s \"%s\" by %s, %s\n", d.Commit.Short(), printable(d.Commit.Subject), printable(d.Commit.Author()), d.Commit.Date.UTC().Format(time.DateTime))
	} else {
		fmt.Fprintf(tw, "  deployed:\tnothing yet\n")
	}
	if st.Tip != nil {
		moved := "no"
		if st.GitMoved {
			moved = fmt.Sprintf("yes, tip %s \"%s\"", st.Tip.Short(), printable(st.Tip.Subject))
			if st.TipQuarantined {
				moved += " (quarantined: its deploy failed)"
			}
		}
		fmt.Fprintf(tw, "  git moved on:\t%s\n", moved)
	}
	switch {
	case len(st.Drift) > 0:
		var names []string
		for _, c := range st.Drift {
			names = append(names, fmt.Sprintf("%s %s", c.Action, c.Name))
		}
		fmt.Fprintf(tw, "  drift:\t%s\n", strings.Join(names, ", "))
	case st.Deployed != nil:
		fmt.Fprintf(tw, "  drift:\tnone\n")
	}
	if h := st.Health; h != nil {
		line := string(h.State)
		if h.Reason != "" {
			line += ": " + clip(printable(h.Reason), 200)
		}
		fmt.Fprintf(tw, "  health:\t%s\n", line)
	}
	if st.Pin != nil {
		fmt.Fprintf(tw, "  pinned:\tat %s since %s (%s)\n", st.Pin.SHA[:min(7, len(st.Pin.SHA))], st.Pin.Since.UTC().Format(time.DateTime), st.Pin.Reason)
	}
	if l := st.Last; l != nil {
		res := string(l.Outcome)
		if l.Error != "" {
			res += ": " + clip(l.Error, 200)
		}
		fmt.Fprintf(tw, "  last result:\t%s at %s (%s, %s)\n", res, l.Finished.UTC().Format(time.DateTime), l.Commit.Short(), l.Trigger)
	}
	// What only a running operator knows; a local status leaves it empty.
	if st.Running {
		fmt.Fprintf(tw, "  running:\ta pass is under way\n")
	}
	if st.Window != "" {
		fmt.Fprintf(tw, "  waiting:\t%s\n", st.Window)
	}
	if st.LastError != "" {
		retry := ""
		if !st.NextRetry.IsZero() {
			retry = fmt.Sprintf(" (retry at %s)", st.NextRetry.UTC().Format(time.DateTime))
		}
		fmt.Fprintf(tw, "  last attempt:\t%s%s\n", clip(st.LastError, 200), retry)
	}
	for _, e := range st.Errors {
		fmt.Fprintf(tw, "  error:\t%s\n", e)
	}
	tw.Flush()
}

// validation is `flotilla validate -o json`.
type validation struct {
	Config       string          `json:"config"`
	Environments []envValidation `json:"environments"`
	Error        string          `json:"error,omitempty"`
}

type envValidation struct {
	Name     string `json:"name"`
	Commit   string `json:"commit,omitempty"`
	Services int    `json:"services"`
	Networks int    `json:"networks"`
	Secrets  int    `json:"secrets"`
	Configs  int    `json:"configs"`
	Error    string `json:"error,omitempty"`
}

func newValidateCmd(g *globals) *cobra.Command {
	var (
		cf  configFlag
		out outputFlag
	)
	cmd := &cobra.Command{
		Use:   "validate [--config F] [-o text|json]",
		Short: "Check the configuration file, then render every environment at its branch tip",
		Long: `Check the configuration file (every problem with its line), the environments it
declares in Git (include:, discover:) and that every identity loads — what the
operator refuses at start and on SIGHUP — then render every environment at its
branch tip. The exit status is non-zero when anything fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			v, err := validate(cmd.Context(), g, &cf)
			if out.json() {
				return errors.Join(err, writeJSON(g.stdout, v))
			}
			if v.Error == "" {
				fmt.Fprintf(g.stdout, "%s: configuration valid\n", cf.path)
			}
			for _, e := range v.Environments {
				if e.Error != "" {
					fmt.Fprintf(g.stdout, "%s: %s\n", e.Name, e.Error)
					continue
				}
				fmt.Fprintf(g.stdout, "%s: %s renders: %d services, %d networks, %d secrets, %d configs\n", e.Name, e.Commit[:min(7, len(e.Commit))],
					e.Services, e.Networks, e.Secrets, e.Configs)
			}
			return err
		},
	}
	cf.register(cmd.Flags())
	out.register(cmd.Flags(), "result")
	return cmd
}

func validate(ctx context.Context, g *globals, cf *configFlag) (validation, error) {
	v := validation{Config: cf.path, Environments: []envValidation{}}
	fail := func(err error) (validation, error) {
		v.Error = err.Error()
		return v, err
	}
	base, err := environments.Load(cf.path)
	if err != nil {
		return fail(err)
	}
	boot := sync.New(base, g.logger())
	defer boot.Close()
	cfg, _, err := boot.Expand(ctx, base)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", cf.path, err))
	}
	s := sync.New(cfg, g.logger())
	defer s.Close()
	if err := sync.CheckKeys(cfg, s.VersionKeyFile); err != nil {
		return fail(fmt.Errorf("%s: %w", cf.path, err))
	}
	var failed []string
	for _, env := range cfg.EnvironmentNames() {
		rev, desired, err := s.Render(ctx, env)
		if err != nil {
			failed = append(failed, env)
			v.Environments = append(v.Environments, envValidation{Name: env, Error: err.Error()})
			continue
		}
		v.Environments = append(v.Environments, envValidation{Name: env, Commit: rev.SHA, Services: len(desired.Services),
			Networks: len(desired.Networks), Secrets: len(desired.Secrets), Configs: len(desired.Configs)})
	}
	if len(failed) > 0 {
		return v, fmt.Errorf("%d environments do not render: %s", len(failed), strings.Join(failed, ", "))
	}
	return v, nil
}
