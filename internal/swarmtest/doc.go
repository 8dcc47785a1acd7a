// Package swarmtest is the harness every integration test uses: a client for
// the real single-node swarm, the flotilla-test/app images, unique stack names
// that are cleaned up after each test, and polling with deadlines; and, for
// the tests that need several nodes, NewCluster: a separate swarm of engines
// in network namespaces on this machine (scripts/swarm-up --nodes).
//
// Integration tests call Client (or Stack) first. Without a swarm manager they
// fail; with `go test -short` they are skipped, so pure packages can be tested
// on a machine without an engine.
package swarmtest
