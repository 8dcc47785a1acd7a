package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/stack"
)

// TestSchemaAgreesWithDocker checks, per stack file version, that Load
// accepts exactly the keys `docker stack config` (the CLI's loader and
// schema, no engine needed) accepts.
func TestSchemaAgreesWithDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the docker CLI: skipped with -short")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("this test needs the docker CLI: %v", err)
	}
	snippets := map[string]string{
		"pids":                   "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits:\n          pids: 5\n",
		"init":                   "services:\n  a:\n    image: x\n    init: true\n",
		"rollback_config":        "services:\n  a:\n    image: x\n    deploy:\n      rollback_config:\n        parallelism: 1\n",
		"long ports":             "services:\n  a:\n    image: x\n    ports:\n      - target: 80\n        published: 8080\n",
		"tmpfs size":             "services:\n  a:\n    image: x\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs:\n          size: 1000\n",
		"top extension":          "x-a: 1\nservices:\n  a:\n    image: x\n",
		"service extension":      "services:\n  a:\n    image: x\n    x-a: 1\n",
		"network attachment opt": "services:\n  a:\n    image: x\n    networks:\n      n:\n        driver_opts:\n          k: v\nnetworks:\n  n:\n",
		"secret name":            "services:\n  a:\n    image: x\nsecrets:\n  s:\n    file: ./s.txt\n    name: other\n",
		"template_driver":        "services:\n  a:\n    image: x\nconfigs:\n  c:\n    file: ./s.txt\n    template_driver: golang\n",
		"start_period":           "services:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, x]\n      start_period: 1s\n",
		"unknown key":            "services:\n  a:\n    image: x\n    pull_policy: always\n",
		"group_add":              "services:\n  a:\n    image: x\n    group_add: [mail]\n",
	}
	for _, version := range []string{"", "3", "3.1", "3.2", "3.4", "3.6", "3.7", "3.8", "3.9", "3.13", "3.14", "2.4"} {
		for name, body := range snippets {
			t.Run(version+"/"+name, func(t *testing.T) {
				t.Parallel()
				yml := body
				if version != "" {
					yml = "version: \"" + version + "\"\n" + body
				}
				dir := t.TempDir()
				for file, content := range map[string]string{"stack.yml": yml, "s.txt": "x"} {
					if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				cmd := exec.Command(docker, "stack", "config", "-c", "stack.yml")
				cmd.Dir = dir
				out, dockerErr := cmd.CombinedOutput()
				_, err := stack.Load(t.Context(), os.DirFS(dir), stack.Options{Files: []string{"stack.yml"}, Stack: "s", APIVersion: "1.46"})
				if (dockerErr == nil) != (err == nil) {
					t.Errorf("docker accepts: %v (%s); Flotilla: %v", dockerErr == nil, strings.TrimSpace(string(out)), err)
				}
			})
		}
	}
}
