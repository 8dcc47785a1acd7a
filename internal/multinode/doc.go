// Package multinode holds the integration tests that need a swarm of
// several nodes: rolling updates across nodes, placement, a drained node,
// workers pulling with a service's credentials, and two operators on two
// managers of which one dies. They run Flotilla's binary against the
// separate multi-node swarms of scripts/swarm-up --nodes (see
// swarmtest.NewCluster), never against the machine's own swarm that every
// other test shares: a node joined to that one would be given tasks whose
// images it lacks.
//
// The package has no code of its own: only tests.
package multinode
