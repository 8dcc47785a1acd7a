// Package apply executes a diff.Plan against a cluster: networks, then secrets
// and configs, then services, then waits for convergence, rolls the stack back
// when a service fails, and prunes. It decides nothing the plan did not say.
package apply
