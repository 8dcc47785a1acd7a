package swarmtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

var shared struct {
	c   *client.Client
	err error
}

func init() {
	shared.c, shared.err = connect()
}

// connect dials the engine from the standard environment and checks that this
// node is a swarm manager. It runs once per test binary.
func connect() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("configuring docker client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("no docker engine answers at %s (run scripts/swarm-up): %w", c.DaemonHost(), err)
	}
	c.NegotiateAPIVersion(ctx)
	if !info.Swarm.ControlAvailable {
		return nil, fmt.Errorf("docker engine at %s is not a swarm manager (state %q; run scripts/swarm-up)", c.DaemonHost(), info.Swarm.LocalNodeState)
	}
	return c, nil
}

// Client returns the shared client of the swarm manager. Without one the test
// fails, or is skipped under -short.
func Client(t testing.TB) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	if shared.err != nil {
		t.Fatalf("integration test needs a swarm manager: %v", shared.err)
	}
	return shared.c
}
