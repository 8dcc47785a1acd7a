package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// runSplit runs the CLI in-process and returns stdout and stderr apart.
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func writeStackFile(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Without --prune a service dropped from the stack file is shown, not
// counted, and stays; an image no registry resolves is a warning of the plan.
func TestDeployCountsOnlyWhatHappens(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	two := "services:\n  web:\n    image: flotilla-test/app:v1\n  worker:\n    image: flotilla-test/app:v1\n    deploy: {replicas: 2}\n"
	file := writeStackFile(t, dir, two)
	out, errOut, err := runSplit(t, "deploy", "-c", file, "--timeout", "2m", name)
	if err != nil {
		t.Fatalf("first deploy: %v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{"  + service " + name + "_worker\n      image:    flotilla-test/app:v1\n      replicas: 2\n",
		"Plan: 3 to create, 0 to update, 0 to delete."} {
		if !strings.Contains(out, want) {
			t.Errorf("create plan lacks %q:\n%s", want, out)
		}
	}
	// --resolve-image always asks the registry before the plan; there is
	// none: the plan says so, once per service, and the engine, sent the
	// tag as it is, has nothing to warn about.
	warning := "service " + name + "_web: image: flotilla-test/app:v1 could not be resolved to a digest"
	if !strings.Contains(out, "Warnings:\n") || strings.Count(out, warning) != 1 || strings.Contains(errOut, "engine warning") {
		t.Errorf("the unresolved image is not one warning of the plan:\n%s\nstderr:\n%s", out, errOut)
	}

	writeStackFile(t, dir, "services:\n  web:\n    image: flotilla-test/app:v1\n")
	out, _, err = runSplit(t, "diff", "-c", file, "--exit-code", "--no-color", name)
	if err != nil {
		t.Errorf("diff --exit-code without --prune: %v, want no changes\n%s", err, out)
	}
	if !strings.Contains(out, "  - service "+name+"_worker (only with --prune)") ||
		!strings.Contains(out, "Plan: 0 to create, 0 to update, 0 to delete (1 more only with --prune).") {
		t.Errorf("diff without --prune:\n%s", out)
	}
	out, _, err = runSplit(t, "diff", "-c", file, "--prune", "--exit-code", "--no-color", name)
	if ee, ok := err.(*exitError); !ok || ee.code != 2 || !strings.Contains(out, "Plan: 0 to create, 0 to update, 1 to delete.") {
		t.Errorf("diff --prune: %v, want status 2 and one delete:\n%s", err, out)
	}
	out, errOut, err = runSplit(t, "deploy", "-c", file, name)
	if err != nil {
		t.Fatalf("deploy without --prune: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "(only with --prune)") || strings.Contains(out, "Deployed") {
		t.Errorf("deploy without --prune applied something or hid the dropped service:\n%s", out)
	}
	api, err := cluster.NewFromClient(swarmtest.Client(t)).ReadStack(t.Context(), name)
	if err != nil || len(api.Services) != 2 {
		t.Errorf("after deploy without --prune: %d services, %v; want both still there", len(api.Services), err)
	}
}

// History outlives rm unless asked; history --purge removes it by
// environment.
func TestRmKeepsHistoryUnlessPurged(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	file := writeStackFile(t, dir, "services:\n  web:\n    image: flotilla-test/app:v1\n")
	if out, err := runAll(t, "deploy", "-c", file, "--resolve-image", "never", name); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	h := sync.NewHistory(cluster.NewFromClient(c), 10)
	appendRecords := func(n int) {
		for i := range n {
			r := sync.Record{Environment: "dev", Stack: name, Commit: sync.Revision{SHA: fmt.Sprintf("%040d", i)}, Outcome: sync.Succeeded}
			if _, err := h.Append(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendRecords(2)

	out, err := runAll(t, "rm", name)
	if err != nil || !strings.Contains(out, "Kept the 2 history records of stack "+name+"; --purge-history removes them.") {
		t.Errorf("rm: %v\n%s", err, out)
	}
	if records, _ := h.List(t.Context(), name); len(records) != 2 {
		t.Errorf("rm without --purge-history left %d records, want 2", len(records))
	}
	out, err = runAll(t, "rm", "--purge-history", name)
	if err != nil || !strings.Contains(out, "Nothing found in stack "+name) || !strings.Contains(out, "Removed 2 history records of stack "+name+".") {
		t.Errorf("rm --purge-history: %v\n%s", err, out)
	}
	if records, _ := h.List(t.Context(), name); len(records) != 0 {
		t.Errorf("rm --purge-history left %d records", len(records))
	}

	// history --purge ENV, through the configuration.
	appendRecords(3)
	repo := gittest.NewRepo(t)
	repo.Commit(map[string]string{"stack.yml": "services:\n  web:\n    image: flotilla-test/app:v1\n"}, "first")
	repo.Push("main")
	config := filepath.Join(dir, "flotilla.yml")
	os.WriteFile(config, []byte(fmt.Sprintf("cacheDir: %s/cache\nrepos:\n  r: {url: %q}\nenvironments:\n  dev: {repo: r, branch: main, files: [stack.yml], stack: %s}\n",
		dir, repo.URL(), name)), 0o600)
	out, err = runAll(t, "history", "dev", "--config", config, "--purge")
	if err != nil || !strings.Contains(out, "Removed 3 history records of dev (stack "+name+")") {
		t.Errorf("history --purge: %v\n%s", err, out)
	}
	if records, _ := h.List(t.Context(), name); len(records) != 0 {
		t.Errorf("history --purge left %d records", len(records))
	}
	if _, err := runAll(t, "history", "dev", "--server", "http://127.0.0.1:1", "--purge"); err == nil ||
		!strings.Contains(err.Error(), "--purge works with --config only") {
		t.Errorf("history --purge --server: %v, want it refused", err)
	}
}
