// Package server is the operator's HTTP face: health and readiness probes,
// Prometheus metrics, the JSON API and the Git webhooks; plus the
// notifications the operator sends, and the API's client for the CLI's
// --server flag.
//
// It drives the operator only through the small Operator interface, so the
// scheduler loop in package sync implements it without importing server.
package server
