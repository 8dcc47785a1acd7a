package gittest

import (
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func newPushedRepo(t *testing.T) (*Repo, string) {
	r := NewRepo(t)
	sha := r.Commit(map[string]string{"stack.yml": "services: {}\n", "link": Link("stack.yml")}, "first")
	r.Push("main")
	return r, sha
}

// lsRemote runs the git CLI against url and returns the tip of main.
func lsRemote(t *testing.T, url string, env ...string) (string, error) {
	cmd := gitCmd(t.TempDir(), env, "ls-remote", url, "refs/heads/main")
	out, err := cmd.CombinedOutput()
	sha, _, _ := strings.Cut(string(out), "\t")
	if err != nil {
		return string(out), err
	}
	return sha, nil
}

func TestRepoCommitsAndBranches(t *testing.T) {
	t.Parallel()
	r, first := newPushedRepo(t)
	if got := Git(t, r.Bare, "rev-parse", "main"); got != first {
		t.Fatalf("bare main = %s, want %s", got, first)
	}
	if got := Git(t, r.Bare, "cat-file", "-p", "main:link"); got != "stack.yml" {
		t.Errorf("link blob = %q, want the link target", got)
	}
	if mode := Git(t, r.Bare, "ls-tree", "main", "link"); !strings.HasPrefix(mode, "120000") {
		t.Errorf("link entry = %q, want mode 120000", mode)
	}
	r.Switch("dev")
	second := r.Commit(map[string]string{"dev.yml": "x"}, "second")
	r.Push("dev")
	r.Reset(first)
	r.ForcePush("dev")
	if got := Git(t, r.Bare, "rev-parse", "dev"); got != first || second == first {
		t.Errorf("after force-push dev = %s, want %s", got, first)
	}
	r.DeleteBranch("dev")
	if out, err := gitCmd(r.Bare, nil, "rev-parse", "--verify", "--quiet", "refs/heads/dev").Output(); err == nil {
		t.Errorf("dev still exists at %s", out)
	}
}

func TestServeHTTP(t *testing.T) {
	t.Parallel()
	r, sha := newPushedRepo(t)
	srv := ServeHTTP(t, r.Bare, "s3cret")
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("anyone", "s3cret")
	if got, err := lsRemote(t, u.String()); err != nil || got != sha {
		t.Errorf("ls-remote with token = %q, %v; want %s", got, err, sha)
	}
	wrong := *u
	wrong.User = url.UserPassword("anyone", "wrong")
	if out, err := lsRemote(t, wrong.String()); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("ls-remote with a wrong token = %q, %v; want an authentication failure", out, err)
	}
	if srv.Listings() != 1 || srv.Fetches() != 0 {
		t.Errorf("counted %d listings and %d fetches, want 1 and 0", srv.Listings(), srv.Fetches())
	}
	Git(t, t.TempDir(), "clone", "--quiet", "--bare", u.String(), "clone.git")
	if srv.Fetches() != 1 {
		t.Errorf("counted %d fetches after a clone, want 1", srv.Fetches())
	}
}

func TestServeSSH(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("this test needs the ssh client: %v", err)
	}
	r, sha := newPushedRepo(t)
	srv := ServeSSH(t, r.Bare)
	sshCmd := func(knownHosts string) string {
		return "GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i " + srv.KeyFile +
			" -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + knownHosts
	}
	if got, err := lsRemote(t, srv.URL, sshCmd(srv.KnownHostsFile)); err != nil || got != sha {
		t.Errorf("ls-remote over ssh = %q, %v; want %s", got, err, sha)
	}
	if out, err := lsRemote(t, srv.URL, sshCmd(srv.WrongKnownHosts(t))); err == nil || !strings.Contains(out, "HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("ls-remote with a wrong host key = %q, %v; want a host key failure", out, err)
	}
	if !strings.HasSuffix(srv.URL, filepath.ToSlash(r.Bare)) {
		t.Errorf("URL %s does not end in the bare repository's path", srv.URL)
	}
}
