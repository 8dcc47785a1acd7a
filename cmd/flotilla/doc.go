// Command flotilla is the GitOps operator for Docker Swarm and its CLI.
package main
