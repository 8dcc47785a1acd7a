// Package operator is not code: this folder runs Flotilla as a Swarm service
// (Dockerfile, stack.yml, flotilla.yml, README.md), and its tests deploy
// that stack on the real swarm and check the operator in it works.
package operator
