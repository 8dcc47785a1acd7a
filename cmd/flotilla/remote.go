package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	gosync "sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

// serverFlag is --server and --token-file: with a server, status, history,
// sync, rollback and resume ask a running operator instead of loading the
// configuration and talking to Docker and Git themselves.
type serverFlag struct {
	url       string
	tokenFile string
}

func (s *serverFlag) register(f *pflag.FlagSet) {
	f.StringVar(&s.url, "server", os.Getenv("FLOTILLA_SERVER"),
		"ask the operator running at this URL instead of working locally (env FLOTILLA_SERVER)")
	f.StringVar(&s.tokenFile, "token-file", os.Getenv("FLOTILLA_TOKEN_FILE"),
		"file holding the operator's API token, for sync, rollback and resume (env FLOTILLA_TOKEN_FILE)")
}

// remote reports whether the command talks to a server. An explicit
// --config with one is refused rather than silently ignored.
func (s *serverFlag) remote(cmd *cobra.Command) (bool, error) {
	if s.url == "" {
		return false, nil
	}
	if cmd.Flags().Changed("config") {
		return false, errors.New(`--config runs locally and --server asks a running operator: give one (--server "" works locally despite FLOTILLA_SERVER)`)
	}
	return true, nil
}

// client builds the API client. The token is read only when given: reads
// need none, and a write without one gets the server's 401, explained.
func (s *serverFlag) client() (*server.Client, error) {
	base := s.url
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an operator's URL like http://127.0.0.1:8080", s.url)
	}
	c := &server.Client{URL: strings.TrimSuffix(u.String(), "/")}
	// From here s.url is what messages show: never a password in the URL.
	s.url = strings.TrimSuffix(u.Redacted(), "/")
	if s.tokenFile != "" {
		// The server's own reader: the same trimming of a trailing newline.
		tok, err := (&environments.Server{TokenFile: s.tokenFile}).Token()
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		c.Token = string(tok.Bytes())
	}
	return c, nil
}

// explain turns the client's errors into what a person can act on. The
// token itself is never part of it.
func (s *serverFlag) explain(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if apiErr, ok := errors.AsType[*server.APIError](err); ok {
		answer := fmt.Sprintf("%d %s", apiErr.Status, http.StatusText(apiErr.Status))
		switch apiErr.Status {
		case http.StatusUnauthorized:
			if s.tokenFile == "" {
				return fmt.Errorf("the operator at %s wants its API token for this (%s): pass --token-file FILE or set FLOTILLA_TOKEN_FILE", s.url, answer)
			}
			return fmt.Errorf("the operator at %s refused the token in %s as wrong (%s): it must match the operator's server.tokenFile", s.url, s.tokenFile, answer)
		case http.StatusNotFound:
			return fmt.Errorf("the operator at %s: %s (%s)", s.url, apiErr.Message, answer)
		case http.StatusConflict:
			return fmt.Errorf("the operator at %s refused: %s (%s)", s.url, apiErr.Message, answer)
		}
		return fmt.Errorf("the operator at %s answered %s: %s", s.url, answer, apiErr.Message)
	}
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("cannot reach the operator at %s: %w", s.url, urlErr.Err)
	}
	return fmt.Errorf("the operator at %s: %w", s.url, err)
}

// The commands' remote halves. Each renders with the local half's code,
// through server's conversions back to sync's types.

func (s *serverFlag) status(ctx context.Context, g *globals, names []string, output string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := c.Environments(ctx)
		if err != nil {
			return s.explain(err)
		}
		for _, e := range list {
			names = append(names, e.Name)
		}
	}
	all := make([]*server.EnvironmentStatus, len(names))
	errs := make([]error, len(names))
	var wg gosync.WaitGroup
	sem := make(chan struct{}, 4) // the server bounds its own work; this bounds our connections
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := c.Status(ctx, name)
			if err != nil {
				err = s.explain(err)
				if len(names) > 1 {
					err = fmt.Errorf("%s: %w", name, err)
				}
			}
			all[i], errs[i] = st, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(g.stdout, all)
	}
	for i, st := range all {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		writeStatus(g.stdout, st.Sync())
	}
	return nil
}

func (s *serverFlag) history(ctx context.Context, g *globals, env string, n int, output string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	records, err := c.History(ctx, env)
	if err != nil {
		return s.explain(err)
	}
	records = newestFirst(records, n)
	if output == "json" {
		return writeJSON(g.stdout, records)
	}
	out := make([]sync.Record, len(records))
	for i, r := range records {
		out[i] = r.Sync()
	}
	return writeHistory(g.stdout, out)
}

func (s *serverFlag) sync(ctx context.Context, g *globals, env string, force bool) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	if _, err := c.Sync(ctx, env, force); err != nil {
		return s.explain(err)
	}
	how := ""
	if force {
		how = " (forced)"
	}
	fmt.Fprintf(g.stdout, "Sync of %s queued%s; watch it with 'flotilla status --server %s %s'.\n", env, how, s.url, env)
	return nil
}

func (s *serverFlag) rollback(ctx context.Context, g *globals, env, to string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	wire, err := c.Rollback(ctx, env, to)
	if errors.Is(err, context.Canceled) {
		// The operator does not cut a deploy short when its caller leaves.
		return fmt.Errorf("stopped waiting; the operator still carries the rollback of %s through, 'flotilla status --server %s %s' shows how it ends: %w", env, s.url, env, err)
	}
	if err != nil {
		// A rollback that failed half-way still says what it did.
		if apiErr, ok := errors.AsType[*server.APIError](err); ok && apiErr.Report != nil {
			if rep, cerr := apiErr.Report.Sync(); cerr == nil {
				printReport(g.stdout, rep, isTerminal(g.stdout))
			}
		}
		return s.explain(err)
	}
	rep, err := wire.Sync()
	if err != nil {
		return s.explain(err)
	}
	printReport(g.stdout, rep, isTerminal(g.stdout))
	fmt.Fprintf(g.stdout, "Pinned %s at %s; 'flotilla resume %s' lets automatic syncs continue.\n", env, rep.Commit.Short(), env)
	return nil
}

func (s *serverFlag) resume(ctx context.Context, g *globals, env string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.Resume(ctx, env); err != nil {
		return s.explain(err)
	}
	fmt.Fprintf(g.stdout, "Resumed %s.\n", env)
	return nil
}
