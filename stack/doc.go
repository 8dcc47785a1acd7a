// Package stack turns Docker stack files (compose format 3.x, loaded with
// compose-go) and their variables into the Swarm objects `docker stack deploy`
// would create: service specs, networks, volumes, secrets and configs.
//
// It does no I/O beyond reading the fs.FS it is given, so a directory and a Git
// commit tree render the same way.
package stack
