package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
)

func TestProgressPlainLinesOnlyWhenAServiceChanges(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out) // a buffer is not a terminal
	p.now = func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) }
	api := apply.Status{Service: "shop_api", Phase: apply.PhaseUpdating, Running: 1, Desired: 3}
	web := apply.Status{Service: "shop_web", Phase: apply.PhaseStabilising, Running: 2, Desired: 2}
	p.update([]apply.Status{api, web})
	p.update([]apply.Status{api, web}) // nothing changed: nothing printed
	api.Running = 3
	p.update([]apply.Status{api, web})
	want := "2026-11-27T09:00:00Z shop_api  1/3 running  updating\n" +
		"2026-11-27T09:00:00Z shop_web  2/2 running  stabilising\n" +
		"2026-11-27T09:00:00Z shop_api  3/3 running  updating\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestProgressOnATerminalRedrawsOneLinePerService(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, live: true, last: map[string]string{}, hints: map[string]bool{}, now: time.Now}
	st := []apply.Status{
		{Service: "shop_api", Phase: apply.PhaseUpdating, Running: 1, Desired: 3},
		{Service: "shop_migrate", Phase: apply.PhaseConverged, Running: 1, Desired: 1, Job: true},
	}
	p.update(st)
	first := out.String()
	if strings.Contains(first, "\x1b[2A") || strings.Count(first, "\x1b[2K") != 2 ||
		!strings.Contains(first, "shop_api      1/3 running    updating") || !strings.Contains(first, "1/1 completed") {
		t.Errorf("first draw: %q", first)
	}
	out.Reset()
	st[0].Running = 2
	p.update(st)
	if !strings.HasPrefix(out.String(), "\x1b[2A") || !strings.Contains(out.String(), "2/3 running") {
		t.Errorf("redraw does not move up over the two lines: %q", out.String())
	}
}

func TestProgressLinesAreCutToTheTerminalWidth(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, live: true, last: map[string]string{}, hints: map[string]bool{}, now: time.Now, width: func() int { return 30 }}
	p.update([]apply.Status{
		{Service: "shop_api", Phase: apply.PhaseUpdating, Running: 1, Desired: 3,
			Reason: "task 3 of 3 is still starting: pulling image registry.example.com/shop/api:v2"},
		{Service: "shop_web", Phase: apply.PhaseConverged, Running: 2, Desired: 2},
	})
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), out.String())
	}
	for _, l := range lines {
		if n := len([]rune(strings.TrimPrefix(l, "\x1b[2K"))); n > 30 {
			t.Errorf("line of %d columns on a terminal 30 wide: %q", n, l)
		}
	}
	if want := "\x1b[2Kshop_api  1/3 running  updatin"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
}

// The rollback's statuses replace the deploy's line by line; the lines of
// the deploy stay where they were.
func TestProgressLabelsTheRollback(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, live: true, last: map[string]string{}, hints: map[string]bool{}, now: time.Now}
	p.update([]apply.Status{
		{Service: "shop_api", Phase: apply.PhaseFailed, Running: 0, Desired: 2, Reason: "3 tasks failed (task: non-zero exit (3))"},
		{Service: "shop_worker", Phase: apply.PhaseUpdating, Running: 0, Desired: 1, Waiting: "task preparing"},
	})
	out.Reset()
	p.update([]apply.Status{{Service: "shop_api", Phase: apply.PhaseUpdating, Running: 1, Desired: 2, Rollback: true}})
	want := "\x1b[2A" +
		"\x1b[2Kshop_api     1/2 running  rolling back\n" +
		"\x1b[2Kshop_worker  0/1 running  updating: task preparing\n"
	if out.String() != want {
		t.Errorf("redraw\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	p.update([]apply.Status{
		{Service: "shop_api", Phase: apply.PhaseConverged, Running: 2, Desired: 2, Rollback: true},
		{Service: "shop_worker", Phase: apply.PhaseRemoved, Rollback: true},
	})
	for _, want := range []string{"shop_api     2/2 running  rolled back\n", "shop_worker               removed (rollback)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("final draw %q lacks %q", out.String(), want)
		}
	}
}

// A log line or warning during the wait goes above the live lines, which
// are drawn again below it.
func TestProgressPrintsLogLinesAboveTheLiveLines(t *testing.T) {
	var out bytes.Buffer // stdout and stderr: one terminal
	p := &progress{w: &out, live: true, last: map[string]string{}, hints: map[string]bool{}, now: time.Now}
	st := []apply.Status{
		{Service: "shop_api", Phase: apply.PhaseUpdating, Running: 0, Desired: 1},
		{Service: "shop_web", Phase: apply.PhaseUpdating, Running: 0, Desired: 1},
	}
	p.update(st)
	out.Reset()
	const hint = "--resolve-image never skips the query"
	p.warning(&out, "service shop_api: image flotilla-test/app:v1 could not be accessed on a registry", hint)
	p.warning(&out, "service shop_web: image flotilla-test/app:v1 could not be accessed on a registry", hint)
	lines := "\x1b[2Kshop_api  0/1 running  updating\n\x1b[2Kshop_web  0/1 running  updating\n"
	want := "\x1b[2A\x1b[J" +
		"Warning: service shop_api: image flotilla-test/app:v1 could not be accessed on a registry\n" +
		"  hint: --resolve-image never skips the query\n" + lines +
		"\x1b[2A\x1b[J" +
		"Warning: service shop_web: image flotilla-test/app:v1 could not be accessed on a registry\n" + lines
	if out.String() != want {
		t.Errorf("output\n got %q\nwant %q", out.String(), want)
	}

	// Before anything is drawn, and in plain mode, a warning is just a line.
	var plain bytes.Buffer
	q := newProgress(&plain)
	q.warning(&plain, "service shop_api: something", "")
	if plain.String() != "Warning: service shop_api: something\n" {
		t.Errorf("plain warning %q", plain.String())
	}
}

func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("%s counts as a terminal", os.DevNull)
	}
	if w := terminalWidth(f); w != 0 {
		t.Errorf("terminal width of %s = %d, want 0", os.DevNull, w)
	}
}
