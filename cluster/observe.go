package cluster

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/docker/docker/client"
)

// RequestObserver is told of every request sent to an engine, by kind (see
// RequestKind). It is an interface, not a func, so that Options stay
// comparable.
type RequestObserver interface {
	ObserveRequest(kind string)
}

// ObserveFunc makes a function a RequestObserver.
type ObserveFunc func(kind string)

// ObserveRequest calls f.
func (f *ObserveFunc) ObserveRequest(kind string) { (*f)(kind) }

// observedTransport tells its observer of each request before sending it.
type observedTransport struct {
	next     http.RoundTripper
	observer RequestObserver
}

func (t *observedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.observer.ObserveRequest(RequestKind(r.Method, r.URL.Path))
	return t.next.RoundTrip(r)
}

// CloseIdleConnections closes the idle connections of the transport below.
func (t *observedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// observeRequests wraps the transport the options before it configured. It
// must come last: the client's own tracing wraps whatever it is given.
func observeRequests(observer RequestObserver, out **observedTransport) client.Opt {
	return func(c *client.Client) error {
		hc := c.HTTPClient()
		t := &observedTransport{next: hc.Transport, observer: observer}
		if t.next == nil {
			t.next = http.DefaultTransport
		}
		hc.Transport = t
		*out = t
		return client.WithHTTPClient(hc)(c)
	}
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

// RequestKind names an engine request without its object IDs, so that
// requests can be counted by kind: "GET /services", "GET /services/{id}",
// "POST /services/{id}/update", "POST /configs/create",
// "DELETE /configs/{id}", "GET /distribution/{name}/json". A method other
// than GET and HEAD writes.
func RequestKind(method, path string) string {
	path = apiVersionPrefix.ReplaceAllString(path, "/")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] == "distribution" && len(parts) > 2:
		// The image name has slashes of its own.
		parts = []string{parts[0], "{name}", parts[len(parts)-1]}
	case len(parts) > 1 && parts[1] != "create" && parts[1] != "prune":
		parts[1] = "{id}"
	}
	return method + " /" + strings.Join(parts, "/")
}
