package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
)

// progress shows services converging: on a terminal one live line per
// service, redrawn in place; elsewhere (logs, CI) a timestamped line each time
// a service's status changes.
type progress struct {
	w     io.Writer
	live  bool
	drawn int               // lines drawn last time (terminal)
	last  map[string]string // service → last line printed (plain)
	now   func() time.Time
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, live: isTerminal(w), last: map[string]string{}, now: time.Now}
}

func (p *progress) update(statuses []apply.Status) {
	if p.live {
		p.redraw(statuses)
		return
	}
	for _, st := range statuses {
		line := st.String()
		if p.last[st.Service] == line {
			continue
		}
		p.last[st.Service] = line
		fmt.Fprintf(p.w, "%s %s\n", p.now().UTC().Format(time.RFC3339), line)
	}
}

func (p *progress) redraw(statuses []apply.Status) {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the first line drawn
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for _, st := range statuses {
		unit := "running"
		if st.Job {
			unit = "completed"
		}
		fmt.Fprintf(tw, "%s\t%d/%d %s\t%s", st.Service, st.Running, st.Desired, unit, st.Phase)
		if st.Reason != "" {
			fmt.Fprintf(tw, ": %s", st.Reason)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line != "" {
			b.WriteString("\x1b[2K" + line)
		}
	}
	p.drawn = len(statuses)
	io.WriteString(p.w, b.String())
}
