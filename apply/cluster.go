package apply

import (
	"context"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// Cluster is what apply needs from the engine; *cluster.Docker implements it.
// Every method does one API call (ServicesByID and ServiceTasks one list call
// for all the IDs given), so the calls a deploy makes can be counted.
type Cluster interface {
	CreateNetwork(ctx context.Context, name string, opts network.CreateOptions) (string, error)
	RemoveNetwork(ctx context.Context, id string) error
	// NetworkExists reports whether a network is still there: the engine
	// accepts the removal of a network whose tasks are shutting down and
	// removes it only once they are gone.
	NetworkExists(ctx context.Context, id string) (bool, error)
	CreateSecret(ctx context.Context, spec swarm.SecretSpec) (string, error)
	UpdateSecret(ctx context.Context, id string, version swarm.Version, spec swarm.SecretSpec) error
	RemoveSecret(ctx context.Context, id string) error
	CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error)
	UpdateConfig(ctx context.Context, id string, version swarm.Version, spec swarm.ConfigSpec) error
	RemoveConfig(ctx context.Context, id string) error
	// CreateService and UpdateService send the registry credentials in
	// opts with the spec, for the nodes to pull with; both return the
	// engine's warnings.
	CreateService(ctx context.Context, spec swarm.ServiceSpec, opts cluster.ServiceOptions) (id string, warnings []string, err error)
	UpdateService(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, opts cluster.ServiceOptions) (warnings []string, err error)
	RemoveService(ctx context.Context, id string) error
	InspectService(ctx context.Context, id string) (swarm.Service, error)
	ServicesByID(ctx context.Context, ids []string) ([]swarm.Service, error)
	ServiceTasks(ctx context.Context, serviceIDs []string) ([]swarm.Task, error)
	// SecretIDs and ConfigIDs map names to IDs, for references to objects
	// the plan did not touch (external ones); names are compared exactly.
	SecretIDs(ctx context.Context, names []string) (map[string]string, error)
	ConfigIDs(ctx context.Context, names []string) (map[string]string, error)
}
