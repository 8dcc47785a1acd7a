package sync

import (
	"os"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
)

// ClusterOptions is how to reach a configured cluster: its host (unix://,
// tcp:// or ssh://), TLS files, and the SSH key and known_hosts for an ssh://
// host. A cluster that names no host and no TLS (the "local" one) is the
// engine the docker CLI would use in this process's environment:
// DOCKER_HOST, else DOCKER_CONTEXT, else the context of `docker context
// use`, else the local socket; a context that does not exist is an error.
func ClusterOptions(c *environments.Cluster) (cluster.Options, error) {
	if c.Host == "" && c.TLS == nil && c.SSHKeyFile == "" && c.KnownHostsFile == "" {
		return cluster.Endpoint("", "", os.Getenv)
	}
	o := cluster.Options{Host: c.Host, SSH: cluster.SSH{KeyFile: c.SSHKeyFile, KnownHostsFile: c.KnownHostsFile}}
	if c.TLS != nil {
		o.TLS = &cluster.TLS{CA: c.TLS.CA, Cert: c.TLS.Cert, Key: c.TLS.Key}
	}
	return o, nil
}

// RegistryAuth is the registry credentials an environment deploys with: the
// configuration's registries, each password or token read from its file when
// a deploy needs it (apply reads each once per deploy). Nil when none are
// configured. Give it to cluster.PinImages, cluster.MovedImages and
// apply.Options.RegistryAuth.
func RegistryAuth(e *environments.Environment) cluster.RegistryAuth {
	if len(e.Registries) == 0 {
		return nil
	}
	logins := make(cluster.Logins, len(e.Registries))
	for host, r := range e.Registries {
		logins[host] = cluster.Login{Username: r.Username, Secret: r.Secret}
	}
	return logins
}

// ResolveMode is an environment's resolveImage as cluster.PinImages takes it.
func ResolveMode(e *environments.Environment) cluster.ResolveImage {
	return cluster.ResolveImage(e.ResolveImage)
}
