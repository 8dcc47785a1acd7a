package cluster_test

import (
	"testing"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

func TestStackTasksReadsOnlyTheStackInTwoCalls(t *testing.T) {
	t.Parallel()
	d, calls := countingDocker(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	ours := map[string]string{stack.LabelNamespace: name}
	createService(t, d, name+"_a", ours)
	createService(t, d, name+"_b", ours)
	// In scope by name but not labelled, and another stack's: not ours.
	createService(t, d, name+"_stray", nil)
	createService(t, d, name+"_v2_a", map[string]string{stack.LabelNamespace: name + "_v2"})

	calls.calls.Store(0)
	services, tasks, err := d.StackTasks(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.calls.Load(); n != cluster.StackTasksCalls {
		t.Errorf("StackTasks made %d API calls, want %d", n, cluster.StackTasksCalls)
	}
	got := map[string]bool{}
	ids := map[string]bool{}
	for _, s := range services {
		got[s.Spec.Name] = true
		ids[s.ID] = true
		if s.ServiceStatus == nil {
			t.Errorf("service %s has no ServiceStatus: list without status", s.Spec.Name)
		}
	}
	if len(got) != 2 || !got[name+"_a"] || !got[name+"_b"] {
		t.Errorf("StackTasks services = %v, want %s_a and %s_b", got, name, name)
	}
	for _, task := range tasks {
		if !ids[task.ServiceID] {
			t.Errorf("task %s belongs to service %s, not to the stack", task.ID, task.ServiceID)
		}
	}

	calls.calls.Store(0)
	services, tasks, err = d.StackTasks(t.Context(), name+"nothing")
	if err != nil || len(services) != 0 || len(tasks) != 0 {
		t.Errorf("StackTasks of an empty stack = %d services, %d tasks, %v", len(services), len(tasks), err)
	}
	if n := calls.calls.Load(); n != 1 {
		t.Errorf("StackTasks of an empty stack made %d calls, want 1", n)
	}
}
