package gittest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is where the tests expect OpenSSH's server; scripts/test-deps installs it.
const SSHD = "/usr/sbin/sshd"

// SSHServer is a throw-away sshd on loopback serving the machine's
// repositories to one generated client key.
type SSHServer struct {
	// URL is ssh://USER@127.0.0.1:PORT/abs/path/repo.git.
	URL string
	// KeyFile is the client's private key (OpenSSH PEM).
	KeyFile string
	// KnownHostsFile pins the server's ed25519 host key (it also has an
	// ECDSA one, not pinned).
	KnownHostsFile string
	// Addr is 127.0.0.1:PORT.
	Addr string

	dir string
}

// ServeSSH starts sshd on a free loopback port for the rest of the test and
// returns how to reach bareDir through it.
func ServeSSH(t testing.TB, bareDir string) *SSHServer {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		t.Fatalf("%s not found: run scripts/test-deps to install openssh-server", SSHD)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostPub := writeKey(t, filepath.Join(dir, "host_key"))
	// A second host key that known_hosts doesn't pin, of a type Go's SSH
	// client prefers (ECDSA): like a real server with several host keys, it
	// fails a client that doesn't restrict the host key algorithms to the
	// pinned key's.
	writeECDSAKey(t, filepath.Join(dir, "host_key_ecdsa"))
	clientPub := writeKey(t, filepath.Join(dir, "client_key"))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd refuses to start without its privilege separation directory,
		// which only the openssh-server service normally creates.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &SSHServer{dir: dir, KeyFile: filepath.Join(dir, "client_key")}
	// Another process may take the port between our probe and sshd's bind:
	// try a few ports before giving up.
	var lastErr error
	for range 5 {
		port := freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = startSSHD(t, dir, port); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	s.KnownHostsFile = filepath.Join(dir, "known_hosts")
	s.writeKnownHosts(t, s.KnownHostsFile, hostPub)
	s.URL = fmt.Sprintf("ssh://%s@%s%s", u.Username, s.Addr, bareDir)
	return s
}

// WrongKnownHosts writes a known_hosts file naming this server with some
// other key, as after a man-in-the-middle or a reinstalled server.
func (s *SSHServer) WrongKnownHosts(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	s.writeKnownHosts(t, file, sshPub)
	return file
}

func (s *SSHServer) writeKnownHosts(t testing.TB, file string, key ssh.PublicKey) {
	t.Helper()
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, key) + "\n"
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeKey generates an ed25519 key, writes its private half to file and
// returns the public half.
func writeKey(t testing.TB, file string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gittest")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub
}

func writeECDSAKey(t testing.TB, file string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gittest")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const sshdConfig = `Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key_ecdsa
HostKey %[2]s/host_key
AuthorizedKeysFile %[2]s/authorized_keys
PidFile none
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel ERROR
`

// startSSHD runs sshd in the foreground until the test ends and waits until
// it answers with its banner.
func startSSHD(t testing.TB, dir string, port int) error {
	cfg := filepath.Join(dir, fmt.Sprintf("sshd_config_%d", port))
	if err := os.WriteFile(cfg, fmt.Appendf(nil, sshdConfig, port, dir), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(SSHD, "-D", "-e", "-f", cfg)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting sshd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.After(10 * time.Second)
	for {
		if bannerAnswers(addr) {
			t.Cleanup(stop)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("sshd on port %d exited: %v\n%s", port, err, stderr.String())
		case <-deadline:
			stop()
			return fmt.Errorf("sshd on port %d did not answer within 10s\n%s", port, stderr.String())
		case <-time.After(10 * time.Millisecond): // poll interval
		}
	}
}

func bannerAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
