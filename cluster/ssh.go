package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strings"
	gosync "sync"
	"time"
)

// SSH says how to reach an ssh:// engine. The zero value leaves it all to
// ssh's own configuration (~/.ssh/config, the agent, ~/.ssh/known_hosts), as
// the docker CLI does.
type SSH struct {
	// KeyFile is the private key to log in with (no passphrase: the
	// operator cannot type one).
	KeyFile string
	// KnownHostsFile pins the server's host key; an unknown or changed key
	// fails the connection.
	KnownHostsFile string
}

// sshHost is the placeholder host HTTP requests carry over an ssh tunnel.
const sshHost = "http://docker.example.com"

// sshDialer reaches the engine the way docker does for ssh:// hosts: each
// connection runs `ssh … docker system dial-stdio` and speaks HTTP over the
// command's standard input and output. The remote side needs the docker CLI.
func sshDialer(host string, o SSH) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "ssh" || u.Hostname() == "" {
		return nil, fmt.Errorf("ssh host %q must be ssh://[user@]host[:port][/path/to/docker.sock]", host)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return nil, fmt.Errorf("ssh host %s: a password in the URL is not supported; use a key", u.Redacted())
	}
	args := []string{"-o", "ConnectTimeout=30", "-T"}
	if o.KeyFile != "" {
		args = append(args, "-i", o.KeyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes")
	}
	if o.KnownHostsFile != "" {
		args = append(args, "-o", "UserKnownHostsFile="+o.KnownHostsFile, "-o", "StrictHostKeyChecking=yes")
	}
	if user := u.User.Username(); user != "" {
		args = append(args, "-l", user)
	}
	if port := u.Port(); port != "" {
		args = append(args, "-p", port)
	}
	args = append(args, "--", u.Hostname(), "docker")
	if p := strings.Trim(u.Path, "/"); p != "" {
		args = append(args, "--host=unix://"+u.Path)
	}
	args = append(args, "system", "dial-stdio")
	what := "ssh to " + u.Host
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return startCommandConn(ctx, what, "ssh", args...)
	}, nil
}

// commandConn is a net.Conn over a command's standard input and output.
type commandConn struct {
	what   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr lockedBuffer

	waitOnce gosync.Once
	waitErr  error
	closed   gosync.Once
}

func startCommandConn(ctx context.Context, what, name string, args ...string) (*commandConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Not CommandContext: the connection outlives the request that dialled
	// it, in the HTTP client's pool; Close ends the command.
	c := &commandConn{what: what, cmd: exec.Command(name, args...)}
	c.cmd.Stderr = &c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if c.stdout, err = c.cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

func (c *commandConn) wait() error {
	c.waitOnce.Do(func() { c.waitErr = c.cmd.Wait() })
	return c.waitErr
}

// failure explains why the command ended: its exit status and what it said.
func (c *commandConn) failure(err error) error {
	if werr := c.wait(); werr != nil {
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return fmt.Errorf("%s: %v: %s", c.what, werr, msg)
		}
		return fmt.Errorf("%s: %w", c.what, werr)
	}
	return err
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if errors.Is(err, io.EOF) {
		return n, c.failure(err)
	}
	return n, err
}

func (c *commandConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		c.stdout.Close()
		return n, c.failure(err)
	}
	return n, nil
}

// Close ends the command; ssh would otherwise outlive the client.
func (c *commandConn) Close() error {
	c.closed.Do(func() {
		c.stdin.Close()
		if c.cmd.Process != nil {
			c.cmd.Process.Kill()
		}
		c.wait()
	})
	return nil
}

func (c *commandConn) LocalAddr() net.Addr              { return commandAddr{} }
func (c *commandConn) RemoteAddr() net.Addr             { return commandAddr{} }
func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }

type commandAddr struct{}

func (commandAddr) Network() string { return "command" }
func (commandAddr) String() string  { return "command" }

type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// ssh's messages are short; a chatty remote must not grow this forever.
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
