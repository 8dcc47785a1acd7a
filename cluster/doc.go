// Package cluster is Flotilla's adapter to the Docker Engine API: it reads a
// stack's live objects with a constant number of calls and creates, updates and
// removes them. It also does what the docker CLI does around those calls:
// choosing the engine (contexts, DOCKER_HOST, ssh:// through `docker system
// dial-stdio`), finding registry credentials (the docker configuration and
// its credential helpers, or the operator's logins), and resolving image tags
// to digests through the engine (PinImages before a plan, MovedImages to
// notice a tag that moved).
package cluster
