// Package environments loads and validates the operator's configuration file:
// the Git repositories to watch, the clusters to deploy to, and the environments
// that tie a branch and a set of stack files to a stack on a cluster.
package environments
