// Package cluster is Flotilla's adapter to the Docker Engine API: it reads a
// stack's live objects with a constant number of calls and creates, updates and
// removes them.
package cluster
