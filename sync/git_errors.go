package sync

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// RefNotFoundError says the remote has no such branch or ref: it was deleted
// or never pushed. The environment should keep running as it is; never
// prune a stack because its branch vanished.
type RefNotFoundError struct {
	URL, Ref string
}

func (e *RefNotFoundError) Error() string {
	if b, ok := strings.CutPrefix(e.Ref, "refs/heads/"); ok {
		return fmt.Sprintf("branch %q not found in %s", b, e.URL)
	}
	return fmt.Sprintf("ref %q not found in %s", e.Ref, e.URL)
}

// EmptyRepositoryError says the remote repository has no commits at all.
type EmptyRepositoryError struct {
	URL string
}

func (e *EmptyRepositoryError) Error() string {
	return fmt.Sprintf("repository %s is empty: push a commit first", e.URL)
}

// AuthError says the remote refused our credentials, or wanted some. It never
// carries a credential.
type AuthError struct {
	URL string
	Err error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authenticating to %s: %v", e.URL, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// HostKeyError says an SSH server's host key is not the one known_hosts pins
// (or is not there at all). Nothing was sent to the server.
type HostKeyError struct {
	URL, Host, KnownHostsFile string
	// Changed is true when known_hosts has another key for the host, false
	// when it has none.
	Changed bool
	Err     error
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("connecting to %s: the host key of %s does not match %s (the server was reinstalled, or someone is intercepting the connection)", e.URL, e.Host, e.KnownHostsFile)
	}
	return fmt.Sprintf("connecting to %s: host %s is not in %s (add it with ssh-keyscan)", e.URL, e.Host, e.KnownHostsFile)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// classify turns a transport error into one of the typed errors above, or
// wraps it with what was being done.
func (r *Repo) classify(doing string, err error, knownHosts string) error {
	var keyErr *knownhosts.KeyError
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &EmptyRepositoryError{URL: r.name()}
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, errKeyRefused):
		return &AuthError{URL: r.name(), Err: err}
	case errors.As(err, &keyErr):
		host := ""
		if ep, perr := transport.NewEndpoint(r.URL); perr == nil {
			host = fmt.Sprintf("%s:%d", ep.Host, sshPort(ep))
		}
		return &HostKeyError{URL: r.name(), Host: host, KnownHostsFile: knownHosts, Changed: len(keyErr.Want) > 0, Err: err}
	}
	return fmt.Errorf("%s %s: %w", doing, r.name(), err)
}

// redactURL drops credentials from a URL before it goes into an error or a
// log line. An SSH user name is kept; over HTTP it may be a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || !strings.Contains(raw, "://") {
		return raw
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		u.User = nil
	} else {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// scrubbed hides a secret that a library may have put in an error message;
// errors.Is and errors.As still see the original.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

func scrub(err error, secrets ...[]byte) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) > 0 && strings.Contains(msg, string(s)) {
			msg = strings.ReplaceAll(msg, string(s), "REDACTED")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}
