package stack

import (
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// Live is what exists on the engine for one stack: every object labelled with
// its namespace, plus the objects named in its scope ("<stack>_…") that
// carry no stack label at all — diff reports those as ownership conflicts.
// Each slice is sorted by name. cluster reads it; diff compares it with a
// Desired. It lives here, beside Desired, so that the pure packages never
// link the Docker client.
type Live struct {
	Stack    string
	Services []swarm.Service
	Networks []network.Summary
	Secrets  []swarm.Secret
	Configs  []swarm.Config
	// NetworkNames maps the ID of every network on the engine to its name:
	// the engine stores service attachments by ID, and a stack may attach
	// to external networks that are not among Networks.
	NetworkNames map[string]string
}
