// Package sync is the GitOps half of Flotilla: it fetches environments from
// Git, runs one reconcile pass per environment (fetch, render, diff, apply,
// record), keeps the deploy history in the cluster, and drives the operator
// loop.
package sync
