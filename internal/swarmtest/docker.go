package swarmtest

import (
	"os"
	"os/exec"
	"testing"
)

// DockerStackDeploy runs the reference: `docker stack deploy
// --resolve-image never --detach=true -c FILE… name` in dir, with vars added
// to the environment for the files' interpolation. It returns what the CLI
// printed (its warnings about ignored keys are there) and fails the test when
// the CLI does.
func DockerStackDeploy(t testing.TB, dir, name string, vars map[string]string, files ...string) string {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("comparing with docker stack deploy needs the docker CLI: %v", err)
	}
	args := []string{"stack", "deploy", "--resolve-image", "never", "--detach=true"}
	for _, f := range files {
		args = append(args, "-c", f)
	}
	cmd := exec.CommandContext(t.Context(), docker, append(args, name)...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker stack deploy of %v as %s: %v\n%s", files, name, err, out)
	}
	return string(out)
}
