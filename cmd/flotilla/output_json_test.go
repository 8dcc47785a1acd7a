package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// `flotilla version -o json` is for programs: versions of Flotilla, Go and
// the engine, with the negotiated API version.
func TestVersionJSON(t *testing.T) {
	t.Parallel()
	out, err := runAll(t, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v.Flotilla == "" || v.Go == "" || v.Engine == nil || v.Engine.Negotiated == "" {
		t.Errorf("version -o json = %+v", v)
	}
}

// deploy -o json prints one JSON object (the plan and what was done) and
// nothing else on stdout; -q prints nothing at all.
func TestDeployJSONAndQuiet(t *testing.T) {
	t.Parallel()
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	file := filepath.Join(t.TempDir(), "stack.yml")
	if err := os.WriteFile(file, []byte("services:\n  web: {image: flotilla-test/app:v1, deploy: {update_config: {monitor: 1s}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := newRootCmd(&stdout, &stderr)
	cmd.SetArgs([]string{"deploy", "-o", "json", "--resolve-image", "never", "-c", file, name})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("deploy -o json: %v\n%s", err, stderr.String())
	}
	var got deployJSON
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("deploy -o json printed more than JSON: %v\n%s", err, stdout.String())
	}
	if got.Stack != name || got.Outcome != "deployed" || len(got.Created) != 2 || !strings.Contains(string(got.Plan), `"format_version"`) {
		t.Errorf("deploy -o json = %+v", got)
	}
	stdout.Reset()
	cmd = newRootCmd(&stdout, &stderr)
	cmd.SetArgs([]string{"deploy", "-q", "--resolve-image", "never", "-c", file, name})
	if err := cmd.ExecuteContext(t.Context()); err != nil || stdout.Len() != 0 {
		t.Errorf("deploy -q: %v, printed %q", err, stdout.String())
	}
}

// validate -o json: the configuration and every environment's render.
func TestValidateJSON(t *testing.T) {
	t.Parallel()
	g := newGitopsEnv(t)
	g.push("good", false)
	out, err := runAll(t, "validate", "--config", g.config, "-o", "json")
	if err != nil {
		t.Fatalf("validate -o json: %v\n%s", err, out)
	}
	var v validation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("validate -o json: %v\n%s", err, out)
	}
	if len(v.Environments) != 1 || v.Environments[0].Name != "dev" || v.Environments[0].Services != 1 || v.Environments[0].Secrets != 1 {
		t.Errorf("validate -o json = %+v", v)
	}
}
