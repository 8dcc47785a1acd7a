package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// unplaceable runs one task of a service and leaves the other pending, as
// the scheduler does with a task no node may take.
type unplaceable struct {
	*fakeCluster
	reason string
}

func (u unplaceable) ServiceTasks(_ context.Context, ids []string) ([]swarm.Task, error) {
	now := time.Now()
	return []swarm.Task{
		{ID: "t1", ServiceID: ids[0], Meta: swarm.Meta{CreatedAt: now}, DesiredState: swarm.TaskStateRunning,
			Status: swarm.TaskStatus{State: swarm.TaskStateRunning}},
		{ID: "t2", ServiceID: ids[0], Meta: swarm.Meta{CreatedAt: now}, DesiredState: swarm.TaskStateRunning,
			Status: swarm.TaskStatus{State: swarm.TaskStatePending, Err: u.reason}},
	}, nil
}

// A service still short of tasks at the progress deadline is reported with
// what its tasks say: the scheduler's reason for a task it cannot place.
func TestDeadlineSaysWhyTasksArePending(t *testing.T) {
	f := newFake()
	two := uint64(2)
	f.services["s1"] = swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_web"},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}}}}
	reason := "no suitable node (max replicas per node limit exceed; scheduling constraints satisfied on 1 node)"
	_, err := waitConverged(t.Context(), unplaceable{f, reason}, []watched{{id: "s1", name: "shop_web", since: time.Now()}},
		watchOptions{Deadline: 50 * time.Millisecond, Interval: 10 * time.Millisecond})
	var ce *ConvergeError
	if !errors.As(err, &ce) || !ce.Deadline {
		t.Fatalf("err = %v, want a *ConvergeError at the deadline", err)
	}
	if len(ce.Failures) != 1 || !strings.HasPrefix(ce.Failures[0], "shop_web: 1/2 after 50ms") || !strings.Contains(ce.Failures[0], reason) {
		t.Errorf("failures %q: want shop_web's counts and the scheduler's reason", ce.Failures)
	}
}
