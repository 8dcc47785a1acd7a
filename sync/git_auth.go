package sync

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/flotilla-gitops/flotilla/environments"
)

// DefaultTokenUser is the user name sent with a token. Git forges ignore it
// (GitHub, Gitea) or accept any (GitLab wants a non-empty one).
const DefaultTokenUser = "flotilla"

// credentials is an auth method and the secrets in it, to scrub from errors.
type credentials struct {
	method  transport.AuthMethod
	secrets [][]byte
}

// credentials reads the repository's secret files now, so a rotated token
// or key is used from the next pass on.
func (r *Repo) credentials() (credentials, error) {
	a := r.Auth
	switch {
	case a.SSHKeyFile != "":
		return r.sshCredentials(a)
	case a.TokenFile != "":
		tok, err := a.Token()
		if err != nil {
			return credentials{}, err
		}
		user := a.Username
		if user == "" {
			user = DefaultTokenUser
		}
		return credentials{&githttp.BasicAuth{Username: user, Password: string(tok.Bytes())}, [][]byte{tok.Bytes()}}, nil
	case a.PasswordFile != "":
		pw, err := a.Password()
		if err != nil {
			return credentials{}, err
		}
		return credentials{&githttp.BasicAuth{Username: a.Username, Password: string(pw.Bytes())}, [][]byte{pw.Bytes()}}, nil
	}
	return credentials{}, nil
}

// sshCredentials pins the server's host key with known_hosts. go-git only
// negotiates the host key algorithms known_hosts has for the host when told
// to: without HostKeyAlgorithms the server may offer another key type than
// the one pinned and the check fails though the host is right.
func (r *Repo) sshCredentials(a environments.Auth) (credentials, error) {
	if a.KnownHostsFile == "" {
		return credentials{}, fmt.Errorf("repo %s: an SSH key needs a known_hosts file; host keys are always checked", r.name())
	}
	ep, err := transport.NewEndpoint(r.URL)
	if err != nil {
		return credentials{}, fmt.Errorf("parsing repo URL %s: %w", r.name(), err)
	}
	key, err := os.ReadFile(a.SSHKeyFile)
	if err != nil {
		return credentials{}, fmt.Errorf("reading SSH key: %w", err)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, key, "")
	if err != nil {
		return credentials{}, fmt.Errorf("parsing SSH key %s: %w", a.SSHKeyFile, err)
	}
	db, err := gitssh.NewKnownHostsDb(a.KnownHostsFile)
	if err != nil {
		return credentials{}, fmt.Errorf("reading known_hosts %s: %w", a.KnownHostsFile, err)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(sshPort(ep)))
	keys.HostKeyCallbackHelper = gitssh.HostKeyCallbackHelper{
		HostKeyCallback:   db.HostKeyCallback(),
		HostKeyAlgorithms: db.HostKeyAlgorithms(addr),
	}
	return credentials{sshKey{keys}, [][]byte{key}}, nil
}

// errKeyRefused says the SSH server accepted none of the ways we can log in.
// x/crypto/ssh says so only in words ("ssh: unable to authenticate, …"), so
// sshKey makes the handshake fail with this value instead.
var errKeyRefused = errors.New("ssh: the server refused the key")

// sshKey is go-git's public-key authentication, failing with errKeyRefused
// once the server has refused the key or does not take public keys at all.
type sshKey struct{ *gitssh.PublicKeys }

func (k sshKey) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := k.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	// Called before each attempt after the first ("none"); returning no
	// method lets the client try the key in cfg.Auth.
	cfg.AuthCallback = func(c *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
		if slices.Contains(c.TriedMethods, "publickey") || !slices.Contains(c.AllowedMethods, "publickey") {
			return nil, fmt.Errorf("%w (attempted methods %v, the server accepts %v)", errKeyRefused, c.TriedMethods, c.AllowedMethods)
		}
		return nil, nil
	}
	return cfg, nil
}

func sshPort(ep *transport.Endpoint) int {
	if ep.Port == 0 {
		return 22
	}
	return ep.Port
}
