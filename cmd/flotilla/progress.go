package main

import (
	"fmt"
	"io"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
)

// progress shows services converging: on a terminal one live line per
// service, redrawn in place, with log lines and warnings printed above it;
// elsewhere (logs, CI) a timestamped line each time a service's status
// changes. A service keeps its line once shown: a rollback's statuses
// replace the deploy's, service by service.
type progress struct {
	w     io.Writer
	live  bool
	mu    gosync.Mutex
	rows  []apply.Status    // every service shown, in order of appearance
	drawn int               // lines drawn last time (terminal)
	last  map[string]string // service → last line printed (plain)
	hints map[string]bool   // hints already given
	now   func() time.Time
	// width returns the terminal's width now, in columns (0: unknown). It is
	// asked at every redraw, so a resized terminal gets lines that fit.
	width func() int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, live: isTerminal(w), last: map[string]string{}, hints: map[string]bool{}, now: time.Now,
		width: func() int { return terminalWidth(w) }}
}

func (p *progress) update(statuses []apply.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range statuses {
		p.set(st)
	}
	if p.live {
		p.redraw()
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

func (p *progress) set(st apply.Status) {
	for i := range p.rows {
		if p.rows[i].Service == st.Service {
			p.rows[i] = st
			return
		}
	}
	p.rows = append(p.rows, st)
}

// above writes text to w (stderr, usually the same terminal) above the
// live lines: they are cleared, the text printed, and they are drawn again
// below it, so a log line never lands in the middle of them.
func (p *progress) above(w io.Writer, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live || p.drawn == 0 {
		io.WriteString(w, text)
		return
	}
	fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn) // up to the first line, clear to the end
	p.drawn = 0
	io.WriteString(w, text)
	p.redraw()
}

// warning prints "Warning: …" above the live lines, and the hint under it
// the first time it applies.
func (p *progress) warning(w io.Writer, msg, hint string) {
	text := "Warning: " + msg + "\n"
	p.mu.Lock()
	if hint != "" && !p.hints[hint] {
		p.hints[hint] = true
		text += "  hint: " + hint + "\n"
	}
	p.mu.Unlock()
	p.above(w, text)
}

// logTo returns a writer for a logger that writes to w: each record goes
// above the live lines. slog writes a record in one Write.
func (p *progress) logTo(w io.Writer) io.Writer {
	if !p.live || !isTerminal(w) {
		return w
	}
	return writerFunc(func(b []byte) (int, error) {
		p.above(w, string(b))
		return len(b), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// redraw draws the table; the caller holds mu.
func (p *progress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the first line drawn
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for _, st := range p.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Service, st.Count(), st.Detail())
	}
	tw.Flush()
	cols := 0
	if p.width != nil {
		cols = p.width()
	}
	for line := range strings.Lines(table.String()) {
		b.WriteString("\x1b[2K" + cut(strings.TrimSuffix(line, "\n"), cols) + "\n")
	}
	p.drawn = len(p.rows)
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
