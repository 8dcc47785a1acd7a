package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// globals holds the flags every command shares and the streams it writes to.
type globals struct {
	logLevel  string
	logFormat string
	host      string
	noColor   bool
	context   string
	// command is the command line's command ("flotilla sync"), naming this
	// process in the leases it takes.
	command string
	stdout  io.Writer
	stderr  io.Writer
	// logOut is where logs go when not stderr: through the live progress
	// lines on a terminal (see progress.logTo).
	logOut io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "flotilla",
		Short:         "GitOps deployments for Docker Swarm",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			g.command = cmd.CommandPath()
			if _, err := parseLevel(g.logLevel); err != nil {
				return err
			}
			if g.logFormat != "text" && g.logFormat != "json" {
				return fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVar(&g.noColor, "no-color", false, "never colour the output (it is coloured only on a terminal, and not when NO_COLOR is set)")
	pf.StringVarP(&g.host, "host", "H", "", "Docker engine to talk to: unix://, tcp:// or ssh://user@host (default: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)")
	pf.StringVar(&g.context, "context", "", "docker context to use (default: DOCKER_CONTEXT, else the one `docker context use` chose)")

	root.AddCommand(
		newVersionCmd(g),
		newDeployCmd(g),
		newRmCmd(g),
		newValidateCmd(g),
		newSyncCmd(g),
		newStatusCmd(g),
		newHistoryCmd(g),
		newRollbackCmd(g),
		newResumeCmd(g),
		newRunCmd(g),
		newSecretsCmd(g),
		newRenderCmd(g),
		newDiffCmd(g),
		newHealthcheckCmd(g),
	)
	return root
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// logger builds the process logger from the global flags; it writes to stderr
// so that plans and JSON on stdout stay machine-readable.
func (g *globals) logger() *slog.Logger {
	level, _ := parseLevel(g.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	w := g.stderr
	if g.logOut != nil {
		w = g.logOut
	}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// docker connects to the engine the docker CLI would use with the same
// flags and environment: --context, -H, DOCKER_HOST, DOCKER_CONTEXT, the
// current context of the docker configuration.
func (g *globals) docker(ctx context.Context) (*cluster.Docker, error) {
	o, err := cluster.Endpoint(g.context, g.host, os.Getenv)
	if err != nil {
		return nil, err
	}
	return cluster.Connect(ctx, o)
}
