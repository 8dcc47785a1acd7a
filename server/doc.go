// Package server is the operator's HTTP face: health and readiness probes,
// Prometheus metrics, the JSON API, the Git webhooks and the web dashboard
// (server-rendered pages, live over server-sent events); plus the
// notifications the operator sends, and the API's client for the CLI's
// --server flag.
//
// It drives the operator only through the small Operator interface, so the
// scheduler loop in package sync implements it without importing server.
//
// Access: reads want server.tokenFile's or server.readTokenFile's bearer
// token unless server.publicRead (then they carry no error text, commit
// message or e-mail); writes want server.tokenFile's. Every plan or drift it
// shows is masked with diff.MaskSensitive. server.tls serves HTTPS; webhook
// deliveries are acted on once per delivery ID. The dashboard reads as the
// API does; its actions want a session signed in with the write token and
// the session's CSRF token.
package server
