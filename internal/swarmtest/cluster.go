package swarmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Cluster is a swarm of several engines on this machine, apart from the
// machine's own swarm that every other test shares: scripts/swarm-up
// --nodes brings it up, each node a dockerd in its own network namespace.
// Its nodes reach this host, and this host reaches them, on 198.18.0.0/16;
// they trust a registry served on RegistryIP as insecure.
type Cluster struct {
	Name  string
	Nodes []*Node // the managers first

	script []string // the swarm-up command that makes it
}

// Node is one engine of a Cluster.
type Node struct {
	// Name is also its hostname, and so Node.Hostname in a swarm template.
	Name string
	// Host is its engine's address, for -H and DOCKER_HOST.
	Host string
	// Addr is its address, where its tasks' `mode: host` ports answer.
	Addr string
	// ID is its swarm node ID.
	ID      string
	Manager bool
	Client  *client.Client

	pidfile string
}

// RegistryIP is the address of this host that the nodes of every Cluster
// reach, and whose registries they treat as insecure (plain HTTP).
const RegistryIP = "198.18.0.1"

// stateDir is where scripts/swarm-nodes keeps the nodes' sockets and pid
// files.
const stateDir = "/run/flotilla-swarm"

// errNoNamespaces: scripts/swarm-nodes says this machine cannot create
// network namespaces (it exits 3).
var errNoNamespaces = errors.New("this machine cannot create network namespaces")

var clusters struct {
	mu   gosync.Mutex
	made map[string]*clusterOnce
	hold *os.File // the machine-wide lock, held until the process exits
}

type clusterOnce struct {
	once gosync.Once
	c    *Cluster
	err  error
}

// NewCluster returns the cluster name of nodes engines, the first managers
// of them managers, bringing it up when it is not (once per test binary; a
// cluster that is up costs a second). Every node has the test images. The
// tests of one package share it: a test that changes it (drains a node,
// stops an engine) puts it back before it ends.
//
// One test binary at a time on this machine uses the clusters: the first
// call waits until no other holds them, and holds them until the binary
// exits (two binaries would drain and kill each other's nodes).
//
// On a machine that cannot create network namespaces the test is skipped,
// unless CI is set: in CI a missing multi-node swarm fails. Under -short
// it is skipped, as every integration test is.
func NewCluster(t testing.TB, name string, nodes, managers int) *Cluster {
	t.Helper()
	Images(t) // from the machine's engine, and a failure under -short
	clusters.mu.Lock()
	if clusters.hold == nil {
		hold, err := holdClusters()
		if err != nil {
			clusters.mu.Unlock()
			t.Fatalf("multi-node swarm %s: %v", name, err)
		}
		clusters.hold = hold
	}
	if clusters.made == nil {
		clusters.made = map[string]*clusterOnce{}
	}
	o := clusters.made[name]
	if o == nil {
		o = &clusterOnce{}
		clusters.made[name] = o
	}
	clusters.mu.Unlock()
	o.once.Do(func() { o.c, o.err = bringUp(t, name, nodes, managers) })
	switch {
	case errors.Is(o.err, errNoNamespaces) && !inCI():
		t.Skipf("multi-node test: %v (in CI, with CI set, this fails)", o.err)
	case o.err != nil:
		t.Fatalf("multi-node swarm %s: %v", name, o.err)
	case len(o.c.Nodes) != nodes || o.c.managers() != managers:
		t.Fatalf("multi-node swarm %s is already used in this test binary with another shape", name)
	}
	return o.c
}

// inCI reports whether CI asks for every test to run.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

func (c *Cluster) managers() int {
	n := 0
	for _, node := range c.Nodes {
		if node.Manager {
			n++
		}
	}
	return n
}

func bringUp(t testing.TB, name string, nodes, managers int) (*Cluster, error) {
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "swarm-up")
	c := &Cluster{Name: name, script: []string{script, "--nodes", strconv.Itoa(nodes),
		"--managers", strconv.Itoa(managers), "--name", name}}
	if err := c.up(t.Context()); err != nil {
		return nil, err
	}
	for i := 1; i <= nodes; i++ {
		node := fmt.Sprintf("%s-%d", name, i)
		n := &Node{Name: node, Host: "unix://" + filepath.Join(stateDir, node, "docker.sock"),
			pidfile: filepath.Join(stateDir, node, "docker.pid")}
		var err error
		n.Client, err = client.NewClientWithOpts(client.WithHost(n.Host), client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("configuring a client of %s: %w", node, err)
		}
		info, err := n.Client.Info(t.Context())
		if err != nil {
			return nil, fmt.Errorf("asking %s: %w", node, err)
		}
		n.Client.NegotiateAPIVersion(t.Context())
		n.ID, n.Addr, n.Manager = info.Swarm.NodeID, info.Swarm.NodeAddr, info.Swarm.ControlAvailable
		c.Nodes = append(c.Nodes, n)
	}
	if err := loadImages(t.Context(), Client(t), c.Nodes); err != nil {
		return nil, err
	}
	return c, nil
}

// holdClusters takes the machine-wide lock of the clusters; closing the
// file (or exiting) releases it.
func holdClusters() (*os.File, error) {
	path := filepath.Join(os.TempDir(), "flotilla-test-clusters.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("taking lock %s: %w", path, err)
	}
	return f, nil
}

// up runs scripts/swarm-up for the cluster.
func (c *Cluster) up(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, c.script[0], c.script[1:]...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return fmt.Errorf("%w: %s", errNoNamespaces, strings.TrimSpace(string(out)))
	case err != nil:
		return fmt.Errorf("%s: %v\n%s", strings.Join(c.script, " "), err, out)
	}
	return nil
}

// Manager is the first manager: where tests and Flotilla deploy.
func (c *Cluster) Manager() *Node { return c.Nodes[0] }

// Workers are the nodes that are not managers.
func (c *Cluster) Workers() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if !n.Manager {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the node of a swarm node ID, or nil.
func (c *Cluster) Node(id string) *Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// Stack returns a stack name unique to this test run, removed from the
// cluster, through its first manager, when the test ends.
func (c *Cluster) Stack(t testing.TB) string {
	t.Helper()
	return newStack(t, c.Manager().Client)
}

// Kill kills a node's engine with SIGKILL, as a machine that dies: its
// swarm sees it go down when its heartbeats stop. The engine is started
// again, and the cluster put right, when the test ends.
func (c *Cluster) Kill(t testing.TB, n *Node) {
	t.Helper()
	data, err := os.ReadFile(n.pidfile)
	if err != nil {
		t.Fatalf("reading %s's pid file: %v", n.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s's pid file: %v", n.Name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := c.up(ctx); err != nil {
			t.Errorf("bringing %s back: %v", n.Name, err)
		}
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s's engine (pid %d): %v", n.Name, pid, err)
	}
	Eventually(t, time.Minute, func() (bool, string, error) {
		_, err := n.Client.Ping(t.Context())
		return err != nil, n.Name + "'s engine still answers", nil
	})
}

// Repair brings the cluster back to its shape: engines killed are started
// again and rejoin, drained nodes are made active.
func (c *Cluster) Repair(t testing.TB) {
	t.Helper()
	if err := c.up(t.Context()); err != nil {
		t.Fatalf("repairing swarm %s: %v", c.Name, err)
	}
}

// Get fetches http://ADDR:port/ from the node and returns the trimmed body.
func (n *Node) Get(ctx context.Context, port int) (string, error) {
	return get(ctx, n.Addr, port)
}

// TaskNodes counts a service's running tasks (desired running) per node
// name, as the manager sees them.
func (c *Cluster) TaskNodes(ctx context.Context, service string) (map[string]int, error) {
	tasks, err := Tasks(ctx, c.Manager().Client, service)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, task := range tasks {
		if task.DesiredState != swarm.TaskStateRunning || task.Status.State != swarm.TaskStateRunning {
			continue
		}
		name := task.NodeID
		if n := c.Node(task.NodeID); n != nil {
			name = n.Name
		}
		out[name]++
	}
	return out, nil
}

// NodeName is the name of the node of a swarm node ID, or the ID.
func (c *Cluster) NodeName(id string) string {
	if n := c.Node(id); n != nil {
		return n.Name
	}
	return id
}

// Label sets a label on a node until the test ends.
func (c *Cluster) Label(t testing.TB, n *Node, key, value string) {
	t.Helper()
	c.updateNode(t, t.Context(), n, func(spec *swarm.NodeSpec) {
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[key] = value
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.updateNode(t, ctx, n, func(spec *swarm.NodeSpec) { delete(spec.Labels, key) })
	})
}

// Drain drains a node — its tasks move to the others — and makes it active
// again when the test ends.
func (c *Cluster) Drain(t testing.TB, n *Node) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.updateNode(t, ctx, n, func(spec *swarm.NodeSpec) { spec.Availability = swarm.NodeAvailabilityActive })
	})
	c.updateNode(t, t.Context(), n, func(spec *swarm.NodeSpec) { spec.Availability = swarm.NodeAvailabilityDrain })
}

// updateNode changes a node's spec through the manager, again when another
// change came first.
func (c *Cluster) updateNode(t testing.TB, ctx context.Context, n *Node, change func(*swarm.NodeSpec)) {
	t.Helper()
	api := c.Manager().Client
	err := Poll(ctx, 30*time.Second, func() (bool, string, error) {
		node, _, err := api.NodeInspectWithRaw(ctx, n.ID)
		if err != nil {
			return false, "", fmt.Errorf("inspecting node %s: %w", n.Name, err)
		}
		change(&node.Spec)
		if err := api.NodeUpdate(ctx, n.ID, node.Version, node.Spec); err != nil {
			return false, fmt.Sprintf("updating node %s: %v", n.Name, err), nil
		}
		return true, "", nil
	})
	if err != nil {
		t.Error(err)
	}
}
