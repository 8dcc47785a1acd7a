package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// writeContext creates a docker context as `docker context create` does.
func writeContext(t *testing.T, configDir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	writeFiles(t, configDir, map[string]string{
		filepath.Join("contexts", "meta", hex.EncodeToString(sum[:]), "meta.json"): fmt.Sprintf(
			`{"Name":%q,"Metadata":{},"Endpoints":{"docker":{"Host":%q,"SkipTLSVerify":false}}}`, name, host),
	})
}

const localStackFile = `
services:
  web:
    image: flotilla-test/app:v1
`

// TestEndpointsLikeTheDockerCLI: contexts chosen by --context,
// DOCKER_CONTEXT or `docker context use`, and an ssh:// host, reach the
// engine; a context that points nowhere is an error naming it, never the
// local socket.
func TestEndpointsLikeTheDockerCLI(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"stack.yml": localStackFile})
	cfg := t.TempDir()
	writeContext(t, cfg, "other", "unix:///var/run/docker.sock")
	writeContext(t, cfg, "nowhere", "unix://"+filepath.Join(cfg, "nothing.sock"))
	writeFiles(t, cfg, map[string]string{"config.json": `{"currentContext": "nowhere"}`})
	plan := "Plan: 2 to create, 0 to update, 0 to delete."

	for _, tt := range []struct {
		what string
		env  []string
		args []string
	}{
		{"--context", nil, []string{"--context", "other"}},
		{"DOCKER_CONTEXT", []string{"DOCKER_CONTEXT=other"}, nil},
		{"-H beats the current context", nil, []string{"-H", "unix:///var/run/docker.sock"}},
	} {
		args := append(tt.args, "diff", "-c", "stack.yml", "--no-color", name)
		stdout, stderr, code := flotillaEnv(t, dir, append(tt.env, "DOCKER_CONFIG="+cfg), "", args...)
		if code != 0 || !strings.Contains(stdout, plan) {
			t.Errorf("%s: status %d, want the plan\nstdout:\n%s\nstderr:\n%s", tt.what, code, stdout, stderr)
		}
	}
	for _, tt := range []struct {
		what string
		env  []string
		args []string
		want string
	}{
		{"the current context points nowhere", nil, nil, `docker context "nowhere"`},
		{"DOCKER_CONTEXT points nowhere", []string{"DOCKER_CONTEXT=nowhere"}, nil, "nothing.sock"},
		{"an unknown context", nil, []string{"--context", "typo"}, `docker context "typo" does not exist`},
		{"--context and -H", nil, []string{"--context", "other", "-H", "unix:///var/run/docker.sock"}, "--host or --context"},
	} {
		args := append(tt.args, "diff", "-c", "stack.yml", name)
		stdout, stderr, code := flotillaEnv(t, dir, append(tt.env, "DOCKER_CONFIG="+cfg), "", args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%s: status %d, want 1 and an error with %q\nstdout:\n%s\nstderr:\n%s", tt.what, code, tt.want, stdout, stderr)
		}
	}

	// ssh://, through the tests' sshd: ssh finds its key and known_hosts
	// in its configuration, here given by a wrapper first on the PATH.
	srv := gittest.ServeSSH(t, t.TempDir())
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, bin, map[string]string{"ssh": fmt.Sprintf("#!/bin/sh\nexec %s -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes \"$@\"\n",
		sshPath, srv.KeyFile, srv.KnownHostsFile)})
	if err := os.Chmod(filepath.Join(bin, "ssh"), 0o755); err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("ssh://%s@%s", u.Username, srv.Addr)
	sshEnv := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "DOCKER_CONFIG=" + cfg}
	writeContext(t, cfg, "remote", host)
	for _, tt := range []struct {
		what string
		env  []string
		args []string
	}{
		{"-H ssh://", nil, []string{"-H", host}},
		{"DOCKER_HOST=ssh://", []string{"DOCKER_HOST=" + host}, nil},
		{"a context on ssh://", nil, []string{"--context", "remote"}},
	} {
		args := append(tt.args, "diff", "-c", "stack.yml", "--no-color", name)
		stdout, stderr, code := flotillaEnv(t, dir, append(sshEnv, tt.env...), "", args...)
		if code != 0 || !strings.Contains(stdout, plan) {
			t.Errorf("%s: status %d, want the plan\nstdout:\n%s\nstderr:\n%s", tt.what, code, stdout, stderr)
		}
	}
	// And a deploy through it.
	stdout, stderr, code := flotillaEnv(t, dir, sshEnv, "", "-H", host, "deploy", "-c", "stack.yml", "--resolve-image", "never", name)
	if code != 0 || !strings.Contains(stdout, "Deployed stack "+name) {
		t.Errorf("deploy over ssh: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
