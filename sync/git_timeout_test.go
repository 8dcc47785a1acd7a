package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

// stallServer accepts TCP connections and never says or reads anything,
// until the test ends.
func stallServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu gosync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

var short = Timeouts{Dial: 500 * time.Millisecond, Response: 500 * time.Millisecond}

// timedOut wants err to be a *TimeoutError for doing, waiting for
// waiting, that came within a second of the deadline.
func timedOut(t *testing.T, err error, took time.Duration, doing, waiting string) {
	t.Helper()
	te, ok := errors.AsType[*TimeoutError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *TimeoutError", err, err)
	}
	if te.Doing != doing || te.Waiting != waiting || te.After != short.Response {
		t.Errorf("timeout = %q, want %s … waiting for %s after %s", te, doing, waiting, short.Response)
	}
	if took > short.Response+time.Second {
		t.Errorf("the timeout took %s, want about %s", took, short.Response)
	}
	t.Log(err)
}

func TestGitHTTPListingStallTimesOut(t *testing.T) {
	t.Parallel()
	repo := NewRepo("http://"+stallServer(t)+"/repo.git", environments.Auth{}, t.TempDir())
	repo.Timeouts = short
	start := time.Now()
	_, err := repo.Fetch(t.Context(), "main")
	timedOut(t, err, time.Since(start), "listing refs of", "the response")
}

// A server that lists its refs and then stalls on the fetch itself.
func TestGitHTTPFetchStallTimesOut(t *testing.T) {
	t.Parallel()
	remote, _ := newRemote(t)
	real := gittest.ServeHTTP(t, remote.Bare, "")
	target, err := url.Parse(real.URL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = "" // the proxy adds the request's path
	release := make(chan struct{})
	forward := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			<-release
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for handlers

	repo := NewRepo(srv.URL+"/"+path.Base(real.URL), environments.Auth{}, t.TempDir())
	repo.Timeouts = short
	start := time.Now()
	_, err = repo.Fetch(t.Context(), "main")
	timedOut(t, err, time.Since(start), "fetching from", "the response")
	if n := repo.Fetches(); n != 1 {
		t.Errorf("%d fetches, want 1: a stalling remote is not the cache's fault", n)
	}
}

func TestGitHTTPWholeListingHasADeadline(t *testing.T) {
	t.Parallel()
	// Headers come at once, the body never ends.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	repo := NewRepo(srv.URL+"/repo.git", environments.Auth{}, t.TempDir())
	repo.Timeouts = Timeouts{Response: time.Minute, List: 700 * time.Millisecond}
	start := time.Now()
	_, err := repo.Fetch(t.Context(), "main")
	te, ok := errors.AsType[*TimeoutError](err)
	if !ok || te.Waiting != "the end" || te.After != 700*time.Millisecond {
		t.Fatalf("error = %v, want a timeout of the whole listing", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the listing took %s, want about 700ms", took)
	}
}

// sshAuth writes a client key and an (empty) known_hosts file.
func sshAuth(t *testing.T) environments.Auth {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a := environments.Auth{SSHKeyFile: filepath.Join(dir, "id"), KnownHostsFile: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(a.SSHKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.KnownHostsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGitSSHHandshakeStallTimesOut(t *testing.T) {
	t.Parallel()
	repo := NewRepo("ssh://git@"+stallServer(t)+"/repo.git", sshAuth(t), t.TempDir())
	repo.Timeouts = short
	start := time.Now()
	_, err := repo.Fetch(t.Context(), "main")
	timedOut(t, err, time.Since(start), "listing refs of", "the SSH handshake")
}

func TestGitSSHStallEndsWithTheCallersContext(t *testing.T) {
	t.Parallel()
	repo := NewRepo("ssh://git@"+stallServer(t)+"/repo.git", sshAuth(t), t.TempDir())
	repo.Timeouts = Timeouts{Response: time.Minute}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := repo.Fetch(ctx, "main")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the caller's deadline", err)
	}
	if _, ok := errors.AsType[*TimeoutError](err); ok {
		t.Errorf("error = %v: the caller's deadline is not the remote's timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the handshake went on %s after the caller's context ended", took)
	}
}

// Deadlines don't get in the way of a remote that answers.
func TestGitTimeoutsLetAnswersThrough(t *testing.T) {
	t.Parallel()
	remote, sha := newRemote(t)
	srv := gittest.ServeHTTP(t, remote.Bare, "")
	repo := NewRepo(srv.URL, environments.Auth{}, t.TempDir())
	repo.Timeouts = short
	rev, err := repo.Fetch(t.Context(), "main")
	if err != nil || rev.SHA != sha {
		t.Fatalf("Fetch = %s, %v; want %s", rev.SHA, err, sha)
	}
	ssh := gittest.ServeSSH(t, remote.Bare)
	sshRepo := NewRepo(ssh.URL, environments.Auth{SSHKeyFile: ssh.KeyFile, KnownHostsFile: ssh.KnownHostsFile}, t.TempDir())
	sshRepo.Timeouts = short
	if rev, err := sshRepo.Fetch(t.Context(), "main"); err != nil || rev.SHA != sha {
		t.Fatalf("Fetch over SSH = %s, %v; want %s", rev.SHA, err, sha)
	}
}
