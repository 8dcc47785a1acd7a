package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

const shopStack = "../../diff/testdata/shop/stack.yml"

// runFlotilla runs the CLI in-process and returns its stdout and exit status.
func runFlotilla(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.code
	}
	return out.String(), 1
}

func TestDiffCommandExitCodes(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	swarmtest.DockerStackDeploy(t, "", name, nil, shopStack)

	out, code := runFlotilla(t, "diff", "-c", shopStack, "--exit-code", "--no-color", name)
	if code != 2 {
		t.Errorf("diff --exit-code with changes: status %d, want 2", code)
	}
	if !strings.Contains(out, "Plan: 0 to create, 4 to update, 0 to delete.") || strings.Contains(out, "\x1b[") {
		t.Errorf("diff output lacks the adopt summary or is coloured:\n%s", out)
	}

	out, code = runFlotilla(t, "diff", "-c", shopStack, "--output", "json", name)
	if code != 0 {
		t.Errorf("diff without --exit-code: status %d, want 0", code)
	}
	var plan struct {
		Stack      string `json:"stack"`
		HasChanges bool   `json:"has_changes"`
		Summary    struct {
			Update int `json:"update"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("diff --output json: %v\n%s", err, out)
	}
	if plan.Stack != name || !plan.HasChanges || plan.Summary.Update != 4 {
		t.Errorf("JSON plan = %+v, want stack %s with 4 updates", plan, name)
	}

	if _, code := runFlotilla(t, "diff", "-c", "missing.yml", "--exit-code", name); code != 1 {
		t.Errorf("diff of a missing file: status %d, want 1", code)
	}
}
