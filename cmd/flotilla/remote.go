package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/server"
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
