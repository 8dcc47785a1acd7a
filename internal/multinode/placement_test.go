package multinode

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// placementStack: labelled follows a node label the stack names, onworkers
// runs on every worker and on no manager, spread has one task per node at
// most.
const placementStack = `
services:
  labelled:
    image: flotilla-test/app:v1
    deploy:
      replicas: 2
      placement: {constraints: ["node.labels.${LABEL} == ${ZONE}"]}
      update_config: {monitor: 1s}
  onworkers:
    image: flotilla-test/app:v1
    deploy:
      mode: global
      placement: {constraints: [node.role == worker]}
  spread:
    image: flotilla-test/app:v1
    deploy:
      replicas: ${SPREAD}
      placement: {max_replicas_per_node: 1}
      update_config: {monitor: 1s}
`

// placed waits until service's running tasks are spread over the nodes as
// want says (node name → tasks).
func placed(t *testing.T, c *swarmtest.Cluster, service string, want map[string]int) {
	t.Helper()
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		got, err := c.TaskNodes(t.Context(), service)
		return maps.Equal(got, want), fmt.Sprintf("%s runs on %v, want %v", service, got, want), err
	})
}

// Constraints on node labels and roles, and max_replicas_per_node, put the
// tasks where the stack file says; a change of the constraint moves them;
// more replicas than nodes allow fails with the scheduler's reason and is
// rolled back.
func TestPlacementFollowsTheStackFile(t *testing.T) {
	t.Parallel()
	c := workers(t)
	stack := c.Stack(t)
	manager, w1, w2 := c.Nodes[0].Name, c.Nodes[1], c.Nodes[2]
	label := "zone" + stack // the test's own: parallel tests label nodes too
	c.Label(t, w1, label, "blue")
	c.Label(t, w2, label, "green")
	vars := map[string]string{"LABEL": label, "ZONE": "blue", "SPREAD": "3"}

	mustDeploy(t, c, stack, placementStack, vars)
	placed(t, c, stack+"_labelled", map[string]int{w1.Name: 2})
	placed(t, c, stack+"_onworkers", map[string]int{w1.Name: 1, w2.Name: 1})
	placed(t, c, stack+"_spread", map[string]int{manager: 1, w1.Name: 1, w2.Name: 1})

	vars["ZONE"] = "green"
	mustDeploy(t, c, stack, placementStack, vars)
	placed(t, c, stack+"_labelled", map[string]int{w2.Name: 2})

	// A fourth replica has no node left: the deploy fails saying why, and
	// spread is back on three.
	vars["SPREAD"] = "4"
	stdout, stderr, code := deploy(t, c, stack, placementStack, vars, "--timeout", "15s")
	if code != 1 || !strings.Contains(stdout, "Rolled back: ") || !strings.Contains(stderr, stack+"_spread") ||
		!strings.Contains(stdout+stderr, "max replicas per node") {
		t.Fatalf("deploy of 4 replicas at most 1 per node on 3 nodes: status %d, want 1, rolled back, naming the limit\nstdout:\n%s\nstderr:\n%s",
			code, stdout, stderr)
	}
	if r := service(t, c.Manager(), stack+"_spread").Spec.Mode.Replicated.Replicas; r == nil || *r != 3 {
		t.Errorf("spread has %v replicas after the rollback, want 3", r)
	}
	placed(t, c, stack+"_spread", map[string]int{manager: 1, w1.Name: 1, w2.Name: 1})
}
