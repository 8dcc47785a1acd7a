package cluster

import (
	"context"
	"fmt"

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
