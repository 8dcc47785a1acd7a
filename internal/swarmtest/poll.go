package swarmtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Poll calls check until it reports done, returns an error, or the deadline
// passes; the error then carries the last status check gave. The interval
// starts short and grows, so fast outcomes are seen fast.
func Poll(ctx context.Context, timeout time.Duration, check func() (done bool, status string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 50 * time.Millisecond
	var status string
	for {
		done, s, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		status = s
		select {
		case <-ctx.Done():
			return fmt.Errorf("not done after %s: %s", timeout, status)
		case <-time.After(interval):
		}
		if interval < time.Second {
			interval *= 2
		}
	}
}

// Eventually fails the test if check does not report done within timeout.
func Eventually(t testing.TB, timeout time.Duration, check func() (done bool, status string, err error)) {
	t.Helper()
	if err := Poll(t.Context(), timeout, check); err != nil {
		t.Fatal(err)
	}
}

// Tasks lists the tasks of a service (by exact name).
func Tasks(ctx context.Context, c client.APIClient, service string) ([]swarm.Task, error) {
	return c.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
}

// WaitRunning waits until a service has n tasks running (and desired running).
func WaitRunning(t testing.TB, c client.APIClient, service string, n int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() (bool, string, error) {
		tasks, err := Tasks(t.Context(), c, service)
		if err != nil {
			return false, "", err
		}
		running := 0
		for _, task := range tasks {
			if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning {
				running++
			}
		}
		return running == n, fmt.Sprintf("service %s: %d/%d running", service, running, n), nil
	})
}

// FreePort returns a TCP port that was free on this host a moment ago, for
// `mode: host` published ports.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Get fetches http://127.0.0.1:port/ and returns the trimmed body.
func Get(ctx context.Context, port int) (string, error) {
	return get(ctx, "127.0.0.1", port)
}

func get(ctx context.Context, host string, port int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, strconv.Itoa(port))+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body)), err
}
