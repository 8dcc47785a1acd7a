package sync

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/url"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// Timeouts bound every conversation with a Git remote, so that a server
// that accepts a connection and then says nothing fails that repository's
// pass instead of holding it forever. Zero fields take the defaults.
type Timeouts struct {
	// Dial bounds opening a connection: the TCP connect, and the TLS
	// handshake over HTTPS (default 15s).
	Dial time.Duration
	// Response bounds the server's silence: over HTTP from a request sent
	// to its response headers; over SSH any wait for the server to say
	// something, the handshake included (default 30s).
	Response time.Duration
	// List bounds a whole listing of refs (default 1m); Fetch a whole fetch
	// (default 10m).
	List, Fetch time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Dial <= 0 {
		t.Dial = 15 * time.Second
	}
	if t.Response <= 0 {
		t.Response = 30 * time.Second
	}
	if t.List <= 0 {
		t.List = time.Minute
	}
	if t.Fetch <= 0 {
		t.Fetch = 10 * time.Minute
	}
	return t
}

// TimeoutError says a Git remote did not answer in time. It is the
// operator's world failing, not the commit: retry later.
type TimeoutError struct {
	URL string
	// Doing is what was under way: "listing refs of", "fetching from".
	Doing string
	// Waiting is what did not come: "the connection", "the TLS handshake",
	// "the response", "the SSH handshake", "more data", "the end".
	Waiting string
	After   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s: timed out after %s waiting for %s", e.Doing, e.URL, e.After, e.Waiting)
}

// Timeout marks the error as a timeout, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

// call is one conversation with the remote under its deadlines. Its
// context ends at the total deadline, when the HTTP transport waits too
// long for a connection or a response (seen through httptrace, so no
// client has to be installed in go-git's global protocol table), or with
// the caller's.
type call struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   context.CancelFunc
	url    string
	doing  string
	t      Timeouts

	mu    gosync.Mutex
	timer *time.Timer
	// ssh is this call's entry in sshCalls, when the URL is SSH.
	ssh string
}

// begin starts a call to the remote that may last total.
func (r *Repo) begin(ctx context.Context, doing string, total time.Duration) *call {
	t := r.Timeouts.withDefaults()
	c := &call{url: r.name(), doing: doing, t: t}
	ctx, c.stop = context.WithTimeoutCause(ctx, total, &TimeoutError{URL: c.url, Doing: doing, Waiting: "the end", After: total})
	ctx, c.cancel = context.WithCancelCause(ctx)
	c.ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart:         func(string, string) { c.arm(t.Dial, "the connection") },
		ConnectDone:          func(string, string, error) { c.disarm() },
		TLSHandshakeStart:    func() { c.arm(t.Dial, "the TLS handshake") },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { c.disarm() },
		WroteRequest:         func(httptrace.WroteRequestInfo) { c.arm(t.Response, "the response") },
		GotFirstResponseByte: func() { c.disarm() },
	})
	if ep, err := transport.NewEndpoint(r.URL); err == nil && ep.Protocol == "ssh" {
		c.ssh = registerSSHCall(c)
	}
	return c
}

// proxy is what go-git is given for SSH: our dialer, which bounds the
// connection and its silences. Other transports get none.
func (c *call) proxy() transport.ProxyOptions {
	if c.ssh == "" {
		return transport.ProxyOptions{}
	}
	return transport.ProxyOptions{URL: sshGuardScheme + "://" + c.ssh}
}

func (c *call) arm(d time.Duration, waiting string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, func() { c.expire(d, waiting) })
}

func (c *call) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (c *call) expire(d time.Duration, waiting string) {
	c.cancel(&TimeoutError{URL: c.url, Doing: c.doing, Waiting: waiting, After: d})
}

// end releases the call; err is how it ended. A timeout becomes the
// *TimeoutError that says which wait ran out, whatever the transport made
// of the cancelled context or the closed connection.
func (c *call) end(err error) error {
	c.disarm()
	if c.ssh != "" {
		sshCalls.Delete(c.ssh)
	}
	cause := context.Cause(c.ctx)
	c.cancel(nil)
	c.stop()
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*TimeoutError](cause); ok {
		return te
	}
	if cause != nil {
		// The caller's context ended (shutdown): say so, rather than
		// whatever the transport made of it.
		return fmt.Errorf("%s %s: %w", c.doing, c.url, cause)
	}
	return err
}

// interrupted reports an error end made of a timeout or of the caller's
// context ending: nothing to classify further.
func interrupted(ctx context.Context, err error) bool {
	_, timeout := errors.AsType[*TimeoutError](err)
	return timeout || (err != nil && ctx.Err() != nil)
}

// SSH: go-git dials SSH itself, without the caller's context and with no
// bound on the handshake. It does dial through the proxy named in the
// options, looked up in x/net/proxy's registry: Flotilla registers a
// scheme of its own there, whose "proxy" dials directly (or through the
// environment's ALL_PROXY, as go-git would) and hands back a connection
// whose every read and write has a deadline, and which closes when the
// caller's context ends.
const sshGuardScheme = "flotilla-ssh-guard"

var sshCalls gosync.Map // id → *call

func init() {
	proxy.RegisterDialerType(sshGuardScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
		c, ok := sshCalls.Load(u.Host)
		if !ok {
			return nil, fmt.Errorf("no Git call %s in progress", u.Host)
		}
		return sshDialer{c.(*call)}, nil
	})
}

func registerSSHCall(c *call) string {
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	sshCalls.Store(id, c)
	return id
}

type sshDialer struct{ c *call }

func (d sshDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d sshDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c := d.c
	ctx, cancel := context.WithTimeout(ctx, c.t.Dial)
	defer cancel()
	stopDial := context.AfterFunc(c.ctx, cancel)
	defer stopDial()
	var conn net.Conn
	var err error
	if cd, ok := proxy.FromEnvironment().(proxy.ContextDialer); ok {
		conn, err = cd.DialContext(ctx, network, addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if err != nil {
		if ctx.Err() != nil && c.ctx.Err() == nil {
			c.expire(c.t.Dial, "the connection")
		}
		return nil, err
	}
	g := &guardedConn{Conn: conn, c: c}
	g.stop = context.AfterFunc(c.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return g, nil
}

// guardedConn is an SSH connection that may stay silent for at most the
// response timeout at a time.
type guardedConn struct {
	net.Conn
	c    *call
	stop func() bool

	mu   gosync.Mutex
	read bool // the server said anything yet
}

func (g *guardedConn) Read(p []byte) (int, error) {
	g.Conn.SetReadDeadline(time.Now().Add(g.c.t.Response))
	n, err := g.Conn.Read(p)
	g.mu.Lock()
	first := !g.read
	g.read = g.read || n > 0
	g.mu.Unlock()
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && g.c.ctx.Err() == nil {
		waiting := "more data"
		if first {
			waiting = "the SSH handshake"
		}
		g.c.expire(g.c.t.Response, waiting)
	}
	return n, err
}

func (g *guardedConn) Write(p []byte) (int, error) {
	g.Conn.SetWriteDeadline(time.Now().Add(g.c.t.Response))
	return g.Conn.Write(p)
}

func (g *guardedConn) Close() error {
	g.stop()
	return g.Conn.Close()
}
