package sync

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestGitHTTPToken(t *testing.T) {
	t.Parallel()
	const token = "glpat-s3cret-t0ken"
	remote, sha := newRemote(t)
	srv := gittest.ServeHTTP(t, remote.Bare, token)

	for name, auth := range map[string]environments.Auth{
		"token":             {TokenFile: writeSecret(t, token)},
		"token and user":    {Username: "oauth2", TokenFile: writeSecret(t, token)},
		"user and password": {Username: "deploy", PasswordFile: writeSecret(t, token)},
	} {
		repo := NewRepo(srv.URL, auth, t.TempDir())
		if rev, err := repo.Fetch(t.Context(), "main"); err != nil || rev.SHA != sha {
			t.Errorf("%s: Fetch = %v, %v; want %s", name, rev.SHA, err, sha)
		}
	}

	for name, auth := range map[string]environments.Auth{
		"wrong token": {TokenFile: writeSecret(t, "wrong-"+token)},
		"no token":    {},
	} {
		repo := NewRepo(srv.URL, auth, t.TempDir())
		_, err := repo.Fetch(t.Context(), "main")
		var authErr *AuthError
		if !errors.As(err, &authErr) || authErr.URL != srv.URL {
			t.Errorf("%s: Fetch = %v, want an *AuthError naming %s", name, err, srv.URL)
			continue
		}
		if msg := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(msg, token) {
			t.Errorf("%s: the token appears in the error: %s", name, msg)
		}
	}
}

func TestGitTokenFileMissing(t *testing.T) {
	t.Parallel()
	repo := NewRepo("https://git.example.com/shop.git", environments.Auth{TokenFile: "/nonexistent/token"}, t.TempDir())
	_, err := repo.Fetch(t.Context(), "main")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/token") || repo.Listings() != 0 {
		t.Errorf("Fetch with a missing token file: %v after %d listings", err, repo.Listings())
	}
}

func TestGitSSH(t *testing.T) {
	t.Parallel()
	remote, sha := newRemote(t)
	srv := gittest.ServeSSH(t, remote.Bare)

	repo := NewRepo(srv.URL, environments.Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}, t.TempDir())
	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil || rev.SHA != sha {
		t.Fatalf("Fetch over SSH = %v, %v; want %s", rev.SHA, err, sha)
	}
	if got := readFile(t, repo, sha, "envs/prod", "stack.yml"); !strings.Contains(got, "replicas: 3") {
		t.Errorf("stack.yml over SSH = %q", got)
	}

	wrong := NewRepo(srv.URL, environments.Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.WrongKnownHosts(t)}, t.TempDir())
	_, err = wrong.Fetch(t.Context(), "main")
	var hk *HostKeyError
	if !errors.As(err, &hk) || !hk.Changed || hk.Host != srv.Addr {
		t.Fatalf("Fetch with a wrong host key = %v, want a *HostKeyError for %s", err, srv.Addr)
	}
	if !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error = %q", err)
	}

	// A known_hosts file without the host fails too: never trust on first use.
	unknown := NewRepo(srv.URL, environments.Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: writeSecret(t, "")}, t.TempDir())
	_, err = unknown.Fetch(t.Context(), "main")
	if !errors.As(err, &hk) || hk.Changed || !strings.Contains(err.Error(), "is not in") {
		t.Errorf("Fetch with the host missing from known_hosts = %v, want a *HostKeyError", err)
	}

	// Another client key is refused by the server.
	otherKey := gittest.ServeSSH(t, remote.Bare).KeyFile
	refused := NewRepo(srv.URL, environments.Auth{SSHKeyFile: otherKey, KnownHostsFile: srv.KnownHostsFile}, t.TempDir())
	_, err = refused.Fetch(t.Context(), "main")
	var authErr *AuthError
	if !errors.As(err, &authErr) {
		t.Errorf("Fetch with an unknown client key = %v, want an *AuthError", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:tok@git.example.com/a.git": "https://git.example.com/a.git",
		"https://tok@git.example.com/a.git":      "https://git.example.com/a.git",
		"ssh://git:pw@git.example.com/a.git":     "ssh://git@git.example.com/a.git",
		"git@git.example.com:acme/a.git":         "git@git.example.com:acme/a.git",
		"file:///srv/a.git":                      "file:///srv/a.git",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
