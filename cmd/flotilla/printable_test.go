package main

import (
	"bytes"
	"github.com/flotilla-gitops/flotilla/server"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/sync"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"api: v2":                  "api: v2",
		"Zoë Émile, 日本":            "Zoë Émile, 日本",
		"fix\x1b[2J\x1b[H all":     `fix\x1b[2J\x1b[H all`,
		"a\tb\rc\nd":               `a\tb\rc\nd`,
		"del\x7f c1\u009b":         `del\x7f c1\u009b`,
		"admin\u202egnp.exe":       `admin\u202egnp.exe`,
		"bad \xff utf8":            `bad \xff utf8`,
		"zero\u200bwidth\ufeffbom": `zero\u200bwidth\ufeffbom`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCommitTextIsEscaped: history and status print a hostile commit's
// author and subject as text, never as terminal commands.
func TestCommitTextIsEscaped(t *testing.T) {
	rev := sync.Revision{SHA: "4f2d9c1e8b7a6d5c4b3a29180f7e6d5c4b3a2918", AuthorName: "Mallory\x1b]0;owned\x07",
		AuthorEmail: "m@example.com\x1b[8m", Subject: "harmless\x1b[2K\rrm -rf", Date: time.Now()}
	rec := sync.Record{Seq: 1, Commit: rev, Outcome: sync.Succeeded, Finished: time.Now()}
	var out bytes.Buffer
	if err := writeHistory(&out, []server.Record{*server.RecordOf(&rec)}); err != nil {
		t.Fatal(err)
	}
	writeStatus(&out, &sync.Status{Environment: "prod", Stack: "shop", Deployed: &rec, Tip: &rev, GitMoved: true})
	wire, err := server.ReportOf(&sync.Report{Environment: "prod", Commit: rev, Skip: sync.SkipNoChanges, SkipMessage: "no changes"})
	if err != nil {
		t.Fatal(err)
	}
	printReport(&out, wire, false)
	if strings.ContainsAny(out.String(), "\x1b\x07\r") {
		t.Errorf("control characters reached the terminal:\n%q", out.String())
	}
	if !strings.Contains(out.String(), `Mallory\x1b]0;owned\a`) || !strings.Contains(out.String(), `harmless\x1b[2K\rrm -rf`) {
		t.Errorf("the escaped author or subject is missing:\n%s", out.String())
	}
}
