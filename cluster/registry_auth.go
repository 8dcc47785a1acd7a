package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// RegistryAuth finds the credentials for a registry. The CLI reads them from
// the docker configuration (DockerConfig); the operator from its own
// (Logins).
type RegistryAuth interface {
	// Credentials returns the credentials for a registry host as image
	// references name it ("docker.io", "ghcr.io", "127.0.0.1:5000"); ok is
	// false when there are none.
	Credentials(ctx context.Context, host string) (creds Credentials, ok bool, err error)
}

// Credentials for one registry. Password is a password or an access token;
// IdentityToken is an OAuth refresh token, as `docker login` stores for some
// registries. Neither ever prints.
type Credentials struct {
	Username      string
	Password      secrets.Value
	IdentityToken secrets.Value
}

// DockerHub is the host of Docker Hub, as image references name it.
const DockerHub = "docker.io"

// dockerHubIndex is the key under which docker stores Docker Hub's
// credentials, and the server address it sends with them.
const dockerHubIndex = "https://index.docker.io/v1/"

// RegistryHost is the registry an image is pulled from: "docker.io" for
// "nginx:1", "127.0.0.1:5000" for "127.0.0.1:5000/app:v1".
func RegistryHost(image string) (string, error) {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	return reference.Domain(ref), nil
}

// NormalizeRegistryHost turns the ways people write a registry into the host
// image references use: a URL's host, and Docker Hub's aliases as
// "docker.io".
func NormalizeRegistryHost(s string) string {
	h := s
	if _, rest, ok := strings.Cut(h, "://"); ok {
		h = rest
	}
	h, _, _ = strings.Cut(h, "/")
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return DockerHub
	}
	return h
}

// EncodedAuth is the X-Registry-Auth header value for pulling image: the
// credentials auth has for its registry, base64url JSON. It is empty when
// auth is nil or has none for that registry. The value holds the password:
// it never prints.
func EncodedAuth(ctx context.Context, auth RegistryAuth, image string) (secrets.Value, error) {
	if auth == nil {
		return secrets.Value{}, nil
	}
	host, err := RegistryHost(image)
	if err != nil {
		return secrets.Value{}, err
	}
	creds, ok, err := auth.Credentials(ctx, host)
	if err != nil {
		return secrets.Value{}, fmt.Errorf("credentials for registry %s: %w", host, err)
	}
	if !ok {
		return secrets.Value{}, nil
	}
	return creds.encode(host)
}

func (c Credentials) encode(host string) (secrets.Value, error) {
	server := host
	if host == DockerHub {
		server = dockerHubIndex
	}
	enc, err := registry.EncodeAuthConfig(registry.AuthConfig{
		Username:      c.Username,
		Password:      string(c.Password.Bytes()),
		IdentityToken: string(c.IdentityToken.Bytes()),
		ServerAddress: server,
	})
	if err != nil {
		return secrets.Value{}, fmt.Errorf("encoding credentials for registry %s: %w", host, err)
	}
	return secrets.NewValue([]byte(enc)), nil
}

// Login is one registry's credentials in the operator's configuration.
// Secret reads the password or token each time it is needed, so a rotated
// file is picked up without a restart.
type Login struct {
	Username string
	Secret   func() (secrets.Value, error)
}

// Logins maps registry hosts to their credentials; it is a RegistryAuth.
// Hosts are compared after NormalizeRegistryHost.
type Logins map[string]Login

// Credentials implements RegistryAuth.
func (l Logins) Credentials(_ context.Context, host string) (Credentials, bool, error) {
	host = NormalizeRegistryHost(host)
	for h, login := range l {
		if NormalizeRegistryHost(h) != host {
			continue
		}
		secret, err := login.Secret()
		if err != nil {
			return Credentials{}, false, err
		}
		return Credentials{Username: login.Username, Password: secret}, true, nil
	}
	return Credentials{}, false, nil
}

var _ RegistryAuth = Logins(nil)
