package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultContext is the docker CLI's built-in context: DOCKER_HOST, the TLS
// variables, else the local socket.
const DefaultContext = "default"

// Endpoint picks the engine a docker CLI command would talk to, in docker's
// order: the --context flag; the -H flag or DOCKER_HOST (the default
// context); DOCKER_CONTEXT; the configuration's current context
// (`docker context use`); the default context. A named context is read from
// the docker configuration directory: its host and TLS material. A context
// that does not exist or names no host is an error, never the local socket.
// getenv is os.Getenv outside tests.
func Endpoint(contextFlag, hostFlag string, getenv func(string) string) (Options, error) {
	if contextFlag != "" && hostFlag != "" {
		return Options{}, errors.New("conflicting options: give --host or --context, not both")
	}
	dir := DockerConfigDir(getenv)
	name := contextFlag
	switch {
	case name != "":
	case hostFlag != "" || getenv("DOCKER_HOST") != "":
		name = DefaultContext
	case getenv("DOCKER_CONTEXT") != "":
		name = getenv("DOCKER_CONTEXT")
	default:
		cfg, err := LoadDockerConfig(dir)
		if err != nil {
			return Options{}, err
		}
		name = cfg.CurrentContext()
	}
	if name == "" || name == DefaultContext {
		return Options{Host: hostFlag}, nil
	}
	return readContext(dir, name)
}

// contextMeta is a context's meta.json, as `docker context create` writes it.
type contextMeta struct {
	Name      string
	Endpoints map[string]struct {
		Host          string
		SkipTLSVerify bool
	}
}

// readContext reads a named context: its metadata lives in
// contexts/meta/<sha256 of the name>/meta.json, its TLS files in
// contexts/tls/<same>/docker/{ca,cert,key}.pem.
func readContext(dir, name string) (Options, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaFile := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaFile)
	if errors.Is(err, fs.ErrNotExist) {
		return Options{}, fmt.Errorf("docker context %q does not exist (no %s): create it with `docker context create`, or choose another with --context or DOCKER_CONTEXT", name, metaFile)
	}
	if err != nil {
		return Options{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	var meta contextMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return Options{}, fmt.Errorf("reading docker context %q: %s: %w", name, metaFile, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return Options{}, fmt.Errorf("docker context %q names no docker host (%s)", name, metaFile)
	}
	o := Options{Host: ep.Host, Context: name}
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	t := &TLS{SkipVerify: ep.SkipTLSVerify}
	for file, dst := range map[string]*string{"ca.pem": &t.CA, "cert.pem": &t.Cert, "key.pem": &t.Key} {
		p := filepath.Join(tlsDir, file)
		if _, err := os.Stat(p); err == nil {
			*dst = p
		}
	}
	if t.CA != "" || t.Cert != "" || t.SkipVerify {
		o.TLS = t
	}
	return o, nil
}
