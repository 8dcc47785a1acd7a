package apply

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// TaskLogReader is what a Cluster may also do: read the last line a task
// logged, for the progress of a service whose tasks crash. The engine keeps
// a task's logs while its container exists (local log drivers only).
type TaskLogReader interface {
	TaskLastLog(ctx context.Context, taskID string) (string, error)
}

// maxLogLine bounds a log line shown in progress.
const maxLogLine = 200

// lastLogs reads each crashed task's last line once: a crash loop makes a
// new task every restart delay, not a read per poll.
type lastLogs struct {
	c     Cluster
	lines map[string]string // task ID → its last line, "" when none
}

func (l *lastLogs) last(ctx context.Context, taskID string) string {
	if line, ok := l.lines[taskID]; ok {
		return line
	}
	r, ok := l.c.(TaskLogReader)
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	line, err := r.TaskLastLog(ctx, taskID)
	if err != nil {
		// Progress only: a task without logs shows its error alone.
		line = ""
	}
	line = printable(line)
	l.lines[taskID] = line
	return line
}

// printable keeps a log line to one short line of printable characters:
// it is drawn on a terminal, where an escape sequence would do damage.
func printable(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxLogLine {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
