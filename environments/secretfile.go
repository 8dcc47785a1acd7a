package environments

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// maxSecretFile caps a token, password or URL file: a path to something
// else (a device, a log) must not be read forever.
const maxSecretFile = 64 << 10

// readSecret reads a secret from a file at the time it is needed, so a
// rotated token is picked up without a restart, and trims the trailing
// newline editors and `echo` add.
func readSecret(what, file string) (secrets.Value, error) {
	if file == "" {
		return secrets.Value{}, fmt.Errorf("reading %s: no file configured", what)
	}
	f, err := os.Open(file)
	if err != nil {
		return secrets.Value{}, fmt.Errorf("reading %s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return secrets.Value{}, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(b) > maxSecretFile {
		clear(b)
		return secrets.Value{}, fmt.Errorf("reading %s: %s is over %d bytes: not a token or URL", what, file, maxSecretFile)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return secrets.Value{}, fmt.Errorf("reading %s: %s is empty", what, file)
	}
	return secrets.NewValue(b), nil
}

// Token reads the repository token from TokenFile.
func (a Auth) Token() (secrets.Value, error) { return readSecret("repo token", a.TokenFile) }

// Password reads the repository password from PasswordFile.
func (a Auth) Password() (secrets.Value, error) { return readSecret("repo password", a.PasswordFile) }

// Token reads the API bearer token from TokenFile.
func (s *Server) Token() (secrets.Value, error) { return readSecret("server token", s.TokenFile) }

// Secret reads the webhook's shared secret from SecretFile.
func (h *Webhook) Secret() (secrets.Value, error) { return readSecret("webhook secret", h.SecretFile) }

// Target reads the notification's URL: URL itself, or the content of URLFile.
func (n *Notification) Target() (secrets.Value, error) {
	if n.URL != "" {
		return secrets.NewValue([]byte(n.URL)), nil
	}
	return readSecret("notification url", n.URLFile)
}

// ReadToken reads the read-only API token from ReadTokenFile.
func (s *Server) ReadToken() (secrets.Value, error) {
	return readSecret("server read token", s.ReadTokenFile)
}

// Secret reads the registry's password or token, from PasswordFile or
// TokenFile, now: a rotated file is used from the next deploy on.
func (r *Registry) Secret() (secrets.Value, error) {
	if r.TokenFile != "" {
		return readSecret("registry "+r.Host+" token", r.TokenFile)
	}
	return readSecret("registry "+r.Host+" password", r.PasswordFile)
}
