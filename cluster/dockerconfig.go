package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// DockerConfig is the docker CLI's configuration file (config.json): the
// registry credentials `docker login` saved, in the file or through
// credential helper programs, and the current context. The CLI's
// --with-registry-auth reads credentials from it exactly as docker does.
type DockerConfig struct {
	// Dir is the configuration directory: $DOCKER_CONFIG or ~/.docker.
	Dir string

	file dockerConfigFile

	mu    gosync.Mutex
	cache map[string]cachedCredentials
}

type dockerConfigFile struct {
	Auths          map[string]dockerAuth `json:"auths"`
	CredsStore     string                `json:"credsStore"`
	CredHelpers    map[string]string     `json:"credHelpers"`
	CurrentContext string                `json:"currentContext"`
}

type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

type cachedCredentials struct {
	creds Credentials
	ok    bool
}

// DockerConfigDir is where the docker CLI keeps its configuration:
// $DOCKER_CONFIG, else ~/.docker. getenv is os.Getenv outside tests.
func DockerConfigDir(getenv func(string) string) string {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// LoadDockerConfig reads dir/config.json. A missing file is an empty
// configuration, as for docker; a file that does not parse is an error.
func LoadDockerConfig(dir string) (*DockerConfig, error) {
	c := &DockerConfig{Dir: dir, cache: map[string]cachedCredentials{}}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("reading docker configuration: %w", err)
	}
	if err := json.Unmarshal(b, &c.file); err != nil {
		return nil, fmt.Errorf("reading docker configuration %s: %w", path, err)
	}
	return c, nil
}

// CurrentContext is the context `docker context use` selected, "" if none.
func (c *DockerConfig) CurrentContext() string { return c.file.CurrentContext }

// Credentials implements RegistryAuth as docker does: the registry's
// credHelpers entry, else credsStore, runs a helper program
// (docker-credential-NAME get); without either, the auths entry is used.
// Docker Hub's credentials are stored under its index URL. Answers are kept
// for the life of the DockerConfig, so a helper runs once per registry.
func (c *DockerConfig) Credentials(ctx context.Context, host string) (Credentials, bool, error) {
	host = NormalizeRegistryHost(host)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.cache[host]; ok {
		return cached.creds, cached.ok, nil
	}
	key := host
	if host == DockerHub {
		key = dockerHubIndex
	}
	var (
		creds Credentials
		ok    bool
		err   error
	)
	if helper := c.helperFor(key); helper != "" {
		creds, ok, err = runCredentialHelper(ctx, helper, key)
	} else {
		creds, ok, err = c.fileCredentials(key)
	}
	if err != nil {
		return Credentials{}, false, err
	}
	c.cache[host] = cachedCredentials{creds, ok}
	return creds, ok, nil
}

func (c *DockerConfig) helperFor(key string) string {
	if h, ok := c.file.CredHelpers[key]; ok {
		return h
	}
	return c.file.CredsStore
}

// fileCredentials looks key up in auths: exactly, then as the host of
// entries written as URLs ("https://host/v1/"), as docker does.
func (c *DockerConfig) fileCredentials(key string) (Credentials, bool, error) {
	entry, found := c.file.Auths[key]
	if !found {
		for k, e := range c.file.Auths {
			if hostOf(k) == key {
				entry, found = e, true
				break
			}
		}
	}
	if !found {
		return Credentials{}, false, nil
	}
	creds := Credentials{
		Username:      entry.Username,
		Password:      secrets.NewValue([]byte(entry.Password)),
		IdentityToken: secrets.NewValue([]byte(entry.IdentityToken)),
	}
	if entry.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(entry.Auth)
		if err != nil {
			return Credentials{}, false, fmt.Errorf("docker configuration %s: auths entry %s: the auth field is not base64",
				filepath.Join(c.Dir, "config.json"), key)
		}
		user, pw, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" {
			return Credentials{}, false, fmt.Errorf("docker configuration %s: auths entry %s: the auth field is not user:password",
				filepath.Join(c.Dir, "config.json"), key)
		}
		creds.Username, creds.Password = user, secrets.NewValue([]byte(strings.Trim(pw, "\x00")))
	}
	if creds.Username == "" && creds.Password.Len() == 0 && creds.IdentityToken.Len() == 0 {
		return Credentials{}, false, nil
	}
	return creds, true, nil
}

// hostOf is the host of an auths key written as a URL, else its part
// before the first slash.
func hostOf(key string) string {
	if strings.Contains(key, "://") {
		if u, err := url.Parse(key); err == nil && u.Host != "" {
			return u.Host
		}
	}
	h, _, _ := strings.Cut(key, "/")
	return h
}

var _ RegistryAuth = (*DockerConfig)(nil)
