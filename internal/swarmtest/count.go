package swarmtest

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/client"
)

// Calls counts Engine API requests.
type Calls struct{ n atomic.Int64 }

// Load returns the number of requests so far.
func (c *Calls) Load() int64 { return c.n.Load() }

type countingTransport struct {
	base  http.RoundTripper
	calls *Calls
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// The version negotiation ping is not part of what is measured.
	if r.URL.Path != "/_ping" {
		t.calls.n.Add(1)
	}
	return t.base.RoundTrip(r)
}

// CountingClient is a client of the same engine that counts every API
// request it makes, whatever the method.
func CountingClient(t testing.TB) (*client.Client, *Calls) {
	t.Helper()
	base := Client(t)
	hc := base.HTTPClient()
	calls := &Calls{}
	hc.Transport = countingTransport{base: hc.Transport, calls: calls}
	c, err := client.NewClientWithOpts(client.WithHost(base.DaemonHost()), client.WithHTTPClient(hc),
		client.WithVersion(base.ClientVersion()))
	if err != nil {
		t.Fatalf("counting client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, calls
}
