package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// flotillaEnv runs the flotilla binary in dir with the process environment
// minus the DOCKER_* variables, plus env; stdin, when not empty, is its
// standard input. It returns stdout, stderr and the exit status.
func flotillaEnv(t *testing.T, dir string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), buildFlotilla(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running flotilla %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const registryStackFile = `
services:
  web:
    image: ${REGISTRY}/app:${TAG}
    deploy:
      restart_policy: {condition: any, delay: 1s}
`

// TestDeployWithRegistryAuth: `flotilla deploy` as in a CI job, with the
// variables in the environment and the docker configuration of a
// `docker login`: without --with-registry-auth the node can't pull and the
// deploy fails, naming the image and the registry; with it the service
// pins the pushed digest and a diff afterwards is empty.
func TestDeployWithRegistryAuth(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	digest := reg.Push(t, "app:v2")
	c := swarmtest.Client(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"stack.yml": registryStackFile})
	env := []string{"REGISTRY=" + reg.Host, "TAG=v2", "DOCKER_CONFIG=" + reg.DockerConfig(t)}
	ref := reg.Host + "/app:v2"

	stdout, stderr, code := flotillaEnv(t, dir, env, "", "deploy", "-c", "stack.yml", "--timeout", "2m", name)
	if code != 1 || !strings.Contains(stderr, "image "+ref+" could not be pulled from registry "+reg.Host) ||
		!strings.Contains(stderr, "--with-registry-auth") || !strings.Contains(stdout, "Rolled back: ") {
		t.Fatalf("deploy without --with-registry-auth: status %d, want 1 naming the image and the registry\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if objs := stackObjects(t, c, name); len(objs) != 0 {
		t.Errorf("after the failed deploy the stack holds %v, want nothing", objs)
	}

	stdout, stderr, code = flotillaEnv(t, dir, env, "", "deploy", "-c", "stack.yml", "--with-registry-auth", "--timeout", "2m", name)
	if code != 0 {
		t.Fatalf("deploy --with-registry-auth: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	svc, _, err := c.ServiceInspectWithRaw(t.Context(), name+"_web", swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Spec.TaskTemplate.ContainerSpec.Image; got != ref+"@"+digest {
		t.Errorf("service image %s, want %s@%s", got, ref, digest)
	}
	if got := svc.Spec.Labels[stack.LabelImage]; got != ref {
		t.Errorf("label %s = %s, want %s", stack.LabelImage, got, ref)
	}
	// The stack file from standard input, the same variables: no changes.
	stdout, stderr, code = flotillaEnv(t, dir, env, registryStackFile, "diff", "-c", "-", "--with-registry-auth", "--exit-code", name)
	if code != 0 {
		t.Errorf("diff after the deploy: status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestAdoptionConvergesInOneDeploy: after `docker stack deploy` of a stack
// with file-based secrets and configs, one `flotilla deploy` converges.
func TestAdoptionConvergesInOneDeploy(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	swarmtest.DockerStackDeploy(t, "", name, nil, shopStack)

	if out, code := runFlotilla(t, "deploy", "-c", shopStack, "--no-color", name); code != 0 {
		t.Fatalf("deploy: status %d\n%s", code, out)
	}
	if out, code := runFlotilla(t, "diff", "-c", shopStack, "--exit-code", "--no-color", name); code != 0 {
		t.Errorf("diff --exit-code after one deploy: status %d, want 0\n%s", code, out)
	}
}

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
