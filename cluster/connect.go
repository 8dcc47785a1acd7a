package cluster

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/client"
)

// Options says which engine to talk to. The zero value means the standard
// environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
type Options struct {
	// Host overrides DOCKER_HOST, e.g. "unix:///var/run/docker.sock" or "tcp://10.0.0.10:2376".
	Host string
	// TLS, when set, is used for a tcp host instead of DOCKER_CERT_PATH.
	TLS *TLS
}

// TLS names the PEM files of a TLS-protected engine.
type TLS struct {
	CA, Cert, Key string
}

// Docker is a connection to one Docker Engine, its API version negotiated once.
type Docker struct {
	api client.APIClient
}

// Connect opens a client, negotiates the API version with the engine and
// checks that it answers.
func Connect(ctx context.Context, opts Options) (*Docker, error) {
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	if opts.TLS != nil {
		clientOpts = append(clientOpts, client.WithTLSClientConfig(opts.TLS.CA, opts.TLS.Cert, opts.TLS.Key))
	}
	c, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("configuring docker client: %w", err)
	}
	// Negotiation is lazy in the client; do it now so every later call uses
	// the engine's version and APIVersion() is meaningful.
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to docker engine at %s: %w", c.DaemonHost(), err)
	}
	c.NegotiateAPIVersion(ctx)
	return &Docker{api: c}, nil
}

// NewFromClient wraps an existing client (tests count or intercept calls this way).
func NewFromClient(c client.APIClient) *Docker { return &Docker{api: c} }

// API returns the underlying client.
func (d *Docker) API() client.APIClient { return d.api }

// APIVersion is the negotiated Engine API version, e.g. "1.41".
func (d *Docker) APIVersion() string { return d.api.ClientVersion() }

// ServerVersion asks the engine for its version.
func (d *Docker) ServerVersion(ctx context.Context) (types.Version, error) {
	v, err := d.api.ServerVersion(ctx)
	if err != nil {
		return types.Version{}, fmt.Errorf("reading engine version: %w", err)
	}
	return v, nil
}

// Close releases the client's connections.
func (d *Docker) Close() error { return d.api.Close() }
