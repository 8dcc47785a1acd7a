package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// StackTasksCalls is the number of Engine API calls StackTasks makes,
// whatever the size of the stack (one when it has no services).
const StackTasksCalls = 2

// StackTasks reads what apply.Assess judges a stack's health from: the
// services labelled with its namespace, with Swarm's task counts, and every
// task of theirs (the engine keeps a few finished ones per slot), in two
// list calls.
func (d *Docker) StackTasks(ctx context.Context, name string) ([]swarm.Service, []swarm.Task, error) {
	services, err := d.api.ServiceList(ctx, swarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", stack.LabelNamespace+"="+name)),
		Status:  true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing services of stack %s: %w", name, err)
	}
	if len(services) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(services))
	for i, s := range services {
		ids[i] = s.ID
	}
	tasks, err := d.ServiceTasks(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the tasks of stack %s: %w", name, err)
	}
	return services, tasks, nil
}

// TaskLastLog returns the last line task taskID wrote to stdout or stderr,
// in one call ("" when it wrote nothing). The engine answers only while the
// task's container exists and its log driver keeps logs locally.
func (d *Docker) TaskLastLog(ctx context.Context, taskID string) (string, error) {
	rc, err := d.api.TaskLogs(ctx, taskID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "1"})
	if err != nil {
		return "", fmt.Errorf("reading the logs of task %s: %w", taskID, err)
	}
	defer rc.Close()
	// Not a TTY: stdout and stderr come multiplexed. Only the tail is
	// asked for, but a line can be long: read a bounded amount.
	var out bytes.Buffer
	w := &limitWriter{w: &out, n: 64 << 10}
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil && !errors.Is(err, errLimit) {
		return "", fmt.Errorf("reading the logs of task %s: %w", taskID, err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\r\n"), "\n")
	return strings.TrimRight(lines[len(lines)-1], "\r"), nil
}

var errLimit = errors.New("log line too long")

// limitWriter takes at most n bytes, then fails.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		l.w.Write(p[:l.n])
		l.n = 0
		return 0, errLimit
	}
	l.n -= len(p)
	return l.w.Write(p)
}
