// Package server is the operator's HTTP face: health and readiness probes,
// Prometheus metrics, the JSON API and the Git webhooks.
package server
