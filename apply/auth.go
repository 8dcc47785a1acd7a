package apply

import (
	"context"
	gosync "sync"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// serviceOptions carries the registry credentials for spec's image, so that
// the engine can hand them to whichever node runs a task (docker's
// --with-registry-auth).
func (r *run) serviceOptions(ctx context.Context, spec swarm.ServiceSpec) (cluster.ServiceOptions, error) {
	return serviceOptions(ctx, r.o.RegistryAuth, spec)
}

// serviceOptions is the ServiceOptions with auth's credentials for spec's
// image; nil auth sends none. A rollback and a recovery use it without a run.
func serviceOptions(ctx context.Context, auth cluster.RegistryAuth, spec swarm.ServiceSpec) (cluster.ServiceOptions, error) {
	cs := spec.TaskTemplate.ContainerSpec
	if auth == nil || cs == nil || cs.Image == "" {
		return cluster.ServiceOptions{}, nil
	}
	enc, err := cluster.EncodedAuth(ctx, auth, cs.Image)
	if err != nil {
		return cluster.ServiceOptions{}, err
	}
	return cluster.ServiceOptions{EncodedAuth: enc}, nil
}

// onceAuth asks the RegistryAuth it wraps once per registry: every service
// of a deploy pulling from one registry gets the same credentials, and a
// credential helper or password file is read once.
type onceAuth struct {
	next cluster.RegistryAuth

	mu   gosync.Mutex
	seen map[string]onceAnswer
}

type onceAnswer struct {
	creds cluster.Credentials
	ok    bool
}

func (a *onceAuth) Credentials(ctx context.Context, host string) (cluster.Credentials, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ans, ok := a.seen[host]; ok {
		return ans.creds, ans.ok, nil
	}
	creds, ok, err := a.next.Credentials(ctx, host)
	if err != nil {
		return cluster.Credentials{}, false, err
	}
	a.seen[host] = onceAnswer{creds, ok}
	return creds, ok, nil
}
