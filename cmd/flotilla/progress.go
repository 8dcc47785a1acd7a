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
	// width returns the terminal's width now, in columns (0: unknown). It is
	// asked at every redraw, so a resized terminal gets lines that fit.
	width func() int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, live: isTerminal(w), last: map[string]string{}, now: time.Now,
		width: func() int { return terminalWidth(w) }}
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
	cols := 0
	if p.width != nil {
		cols = p.width()
	}
	for line := range strings.Lines(table.String()) {
		b.WriteString("\x1b[2K" + cut(strings.TrimSuffix(line, "\n"), cols) + "\n")
	}
	p.drawn = len(statuses)
	io.WriteString(p.w, b.String())
}

// cut shortens a line to at most cols runes (0: no limit). A line the
// terminal wrapped would take two rows, and the next redraw, moving up one
// row per service, would then overwrite the wrong lines.
func cut(line string, cols int) string {
	if cols <= 0 {
		return line
	}
	n := 0
	for i := range line {
		if n == cols {
			return line[:i]
		}
		n++
	}
	return line
}
