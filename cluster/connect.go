package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
)

// Options says which engine to talk to. The zero value means the standard
// environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
type Options struct {
	// Host overrides DOCKER_HOST, e.g. "unix:///var/run/docker.sock",
	// "tcp://10.0.0.10:2376" or "ssh://deploy@10.0.0.10".
	Host string
	// TLS, when set, is used for a tcp host instead of DOCKER_CERT_PATH.
	TLS *TLS
	// SSH says how to log in to an ssh:// host.
	SSH SSH
	// Context is the docker CLI context Host and TLS come from (see
	// Endpoint): the DOCKER_* variables are then not read.
	Context string
	// Observer, when set, is told of every request sent to the engine,
	// for metrics.
	Observer RequestObserver
}

// TLS names the PEM files of a TLS-protected engine.
type TLS struct {
	CA, Cert, Key string
	// SkipVerify accepts any server certificate (a context created with
	// skip-tls-verify=true).
	SkipVerify bool
}

// Docker is a connection to one Docker Engine, its API version negotiated once.
type Docker struct {
	api client.APIClient
	// observed is the transport Observe wraps: the client only closes the
	// idle connections of a transport it set up itself.
	observed *observedTransport
}

// RequestTimeout bounds one engine request, the connection included.
var RequestTimeout = 2 * time.Minute

// Connect opens a client, negotiates the API version with the engine and
// checks that it answers. An engine that cannot be reached as asked is an
// error; nothing falls back to the local socket.
func Connect(ctx context.Context, opts Options) (*Docker, error) {
	clientOpts, where, err := opts.clientOpts()
	if err != nil {
		return nil, err
	}
	// Every engine call Flotilla makes is short (convergence is watched by
	// polling): one that hangs is a broken connection, and a pass must not
	// wait on it forever.
	clientOpts = append(clientOpts, client.WithTimeout(RequestTimeout))
	var observed *observedTransport
	if opts.Observer != nil {
		clientOpts = append(clientOpts, observeRequests(opts.Observer, &observed))
	}
	c, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("configuring docker client for %s: %w", where, err)
	}
	if where == "" {
		where = c.DaemonHost()
	}
	// Negotiation is lazy in the client; do it now so every later call uses
	// the engine's version and APIVersion() is meaningful.
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to docker engine at %s: %w", where, err)
	}
	c.NegotiateAPIVersion(ctx)
	return &Docker{api: c, observed: observed}, nil
}

// clientOpts turns Options into the client's, and says where it connects
// for messages ("" when the client knows better).
func (o Options) clientOpts() ([]client.Opt, string, error) {
	host := o.Host
	if host == "" && o.Context == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	where := host
	if o.Context != "" {
		where = fmt.Sprintf("%s (docker context %q)", host, o.Context)
	}
	if strings.HasPrefix(host, "ssh://") {
		dial, err := sshDialer(host, o.SSH)
		if err != nil {
			return nil, "", err
		}
		// The HTTP client of its own: no proxy, no TLS from the
		// environment, only the tunnel.
		hc := &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second}}
		return []client.Opt{client.WithHost(sshHost), client.WithHTTPClient(hc), client.WithAPIVersionNegotiation()}, where, nil
	}
	if o.Context == "" {
		opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
		if o.Host != "" {
			opts = append(opts, client.WithHost(o.Host))
		}
		if o.TLS != nil {
			opts = append(opts, client.WithTLSClientConfig(o.TLS.CA, o.TLS.Cert, o.TLS.Key))
		}
		return opts, "", nil
	}
	// A context says everything: nothing is taken from the environment.
	tr := &http.Transport{MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second}
	if o.TLS != nil {
		cfg, err := tlsconfig.Client(tlsconfig.Options{CAFile: o.TLS.CA, CertFile: o.TLS.Cert, KeyFile: o.TLS.Key,
			InsecureSkipVerify: o.TLS.SkipVerify, ExclusiveRootPools: true})
		if err != nil {
			return nil, "", fmt.Errorf("docker context %q: TLS: %w", o.Context, err)
		}
		tr.TLSClientConfig = cfg
	}
	return []client.Opt{client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost(host), client.WithAPIVersionNegotiation()}, where, nil
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
func (d *Docker) Close() error {
	if d.observed != nil {
		d.observed.CloseIdleConnections()
	}
	return d.api.Close()
}
