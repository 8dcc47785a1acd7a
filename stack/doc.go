// Package stack turns Docker stack files (compose format 3.x, loaded with
// compose-go) and their variables into the Swarm objects `docker stack deploy`
// would create: service specs, networks, volumes, secrets and configs.
//
// Load is the entry point. The conversion follows docker/cli's convert
// package field by field, including its defaults and quirks; what differs on
// purpose is listed in docs/conformance-differences.md and checked against a
// real swarm by TestConformance. Objects carry the labels docker sets
// (LabelNamespace, LabelImage) and Flotilla's ownership labels, which all
// start with LabelPrefix. Live, beside Desired, is what a stack has on the
// engine, as package cluster reads it. A stack file may not set those labels
// itself, nor name an object with ReservedNamePrefix (ReservedError).
//
// CheckPolicy checks a rendered stack against a Policy — bind mounts,
// capabilities, the host network, external objects and other stacks'
// namespaces — before anything is written.
//
// It does no I/O beyond reading the fs.FS it is given, so a directory and a Git
// commit tree render the same way; nothing outside that FS is ever read, and
// the process environment is never consulted.
package stack
