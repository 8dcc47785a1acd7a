package environments

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Validate checks the whole configuration and returns Problems listing every
// mistake, or nil. Load calls it; call it again after changing a Config in code.
func (c *Config) Validate() error {
	return c.validate(true)
}

func (c *Config) validate(files bool) error {
	v := &validator{problems: &problems{file: c.File}, files: files}
	v.config(c)
	return v.err()
}

type validator struct {
	*problems
	// files: check that the files named exist, and that tokens and
	// secrets are long enough.
	files bool
}

// fieldOK says whether a field should be checked: not if it already failed
// to decode.
func fieldOK(at fieldPos, key string) bool {
	_, bad := at[badKey(key)]
	return !bad
}

// required reports a missing field, unless it was there but undecodable.
func (v *validator) required(at fieldPos, key, value, what string) bool {
	if value != "" {
		return true
	}
	if fieldOK(at, key) {
		v.add(at.of(key), "%s: %s is required", what, key)
	}
	return false
}

// file checks that a file named in the configuration exists now, so a typo
// shows up at load time with its line rather than at the first sync.
func (v *validator) file(at fieldPos, key, path, what string) {
	if path == "" || !fieldOK(at, key) || !v.files {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		v.add(at.of(key), "%s %s: %v", what, path, pathError(err))
	case fi.IsDir():
		v.add(at.of(key), "%s %s is a directory, not a file", what, path)
	}
}

func pathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (v *validator) config(c *Config) {
	if c.CacheDir != "" && !filepath.IsAbs(c.CacheDir) {
		v.add(c.at.of("cacheDir"), "cacheDir %s must be an absolute path", c.CacheDir)
	}
	for _, name := range sortedKeys(c.Repos) {
		v.repo(c.Repos[name])
	}
	for _, name := range sortedKeys(c.Clusters) {
		v.cluster(c.Clusters[name])
	}
	v.registries(c.Registries)
	v.policy(c.Defaults.at, "defaults", c.Defaults.OnFailure)
	v.when(c.Defaults.at, "defaults", c.Defaults.Schedule, c.Defaults.Interval)
	v.policySpec(c.Defaults.Policy, "defaults.policy")
	for _, p := range c.SensitivePatterns {
		if strings.TrimSpace(strings.ReplaceAll(p, "*", "")) == "" {
			v.add(c.at.of("sensitivePatterns"), "sensitivePatterns: %q matches every name or none; give part of a name, such as *PASSWORD*", p)
		}
	}
	v.images(c.Defaults.at, "defaults", c.Defaults.ResolveImage, c.Defaults.WatchImages, "", nil)
	if len(c.Environments) == 0 && len(c.Includes) == 0 && len(c.Discover) == 0 && fieldOK(c.at, "environments") {
		v.add(c.at.of("environments"), "no environments defined (nor include: or discover:)")
	}
	for i, inc := range c.Includes {
		v.include(c, inc, i)
	}
	for i, d := range c.Discover {
		v.discovery(c, d, i)
	}
	v.environments(c)
	if c.Server != nil {
		v.server(c.Server)
	}
	for _, n := range c.Notifications {
		v.notification(c, n)
	}
	if _, written := c.History.at["limit"]; (written || c.History.Limit != 0) && c.History.Limit < 1 && fieldOK(c.History.at, "limit") {
		v.add(c.History.at.of("limit"), "history.limit must be at least 1")
	}
}

func (v *validator) policy(at fieldPos, what string, onFailure OnFailure) {
	if onFailure != "" && onFailure != Rollback && onFailure != Pause && fieldOK(at, "onFailure") {
		v.add(at.of("onFailure"), "%s: onFailure %q must be %s or %s", what, onFailure, Rollback, Pause)
	}
}

var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^/\\]`)

// repoScheme returns the transport a repository URL uses: http, ssh, git or file.
func repoScheme(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		if scpLike.MatchString(raw) {
			return "ssh", nil
		}
		return "", fmt.Errorf("%q is not a URL (https://…, ssh://…, git@host:path or file://…)", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", raw, pathError(err))
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("%q has no host", raw)
		}
		if u.User != nil {
			// A credential in the URL ends up in logs and error messages.
			return "", fmt.Errorf("%s://…: put credentials in auth (tokenFile, or username and passwordFile), not in the URL", u.Scheme)
		}
		return "http", nil
	case "ssh", "git":
		if u.Host == "" {
			return "", fmt.Errorf("%q has no host", raw)
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return "", fmt.Errorf("ssh://…: use auth.sshKeyFile, not a password in the URL")
		}
		return u.Scheme, nil
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return "", fmt.Errorf("%q: a file URL needs an absolute path, file:///path/to/repo", raw)
		}
		return "file", nil
	}
	return "", fmt.Errorf("%q: unsupported scheme %q (use https, http, ssh, git or file)", raw, u.Scheme)
}

func (v *validator) repo(r *Repo) {
	what := fmt.Sprintf("repo %q", r.Name)
	if !fieldOK(r.at, "") {
		return
	}
	if !v.required(r.at, "url", r.URL, what) {
		return
	}
	scheme, err := repoScheme(r.URL)
	if err != nil {
		v.add(r.at.of("url"), "%s: url %v", what, err)
		return
	}
	a := r.Auth
	at := a.at
	if at == nil {
		at = fieldPos{"": r.at.of("url")}
	}
	v.file(at, "sshKeyFile", a.SSHKeyFile, what+" auth.sshKeyFile")
	v.file(at, "knownHostsFile", a.KnownHostsFile, what+" auth.knownHostsFile")
	v.file(at, "tokenFile", a.TokenFile, what+" auth.tokenFile")
	v.file(at, "passwordFile", a.PasswordFile, what+" auth.passwordFile")
	ssh := a.SSHKeyFile != "" || a.KnownHostsFile != ""
	basic := a.TokenFile != "" || a.PasswordFile != "" || a.Username != ""
	switch {
	case ssh && basic:
		v.add(at.of(""), "%s: auth mixes SSH (sshKeyFile, knownHostsFile) with HTTP (tokenFile, username, passwordFile)", what)
	case a.TokenFile != "" && a.PasswordFile != "":
		v.add(at.of("passwordFile"), "%s: auth has both tokenFile and passwordFile; give one", what)
	case a.PasswordFile != "" && a.Username == "":
		v.add(at.of("passwordFile"), "%s: auth.passwordFile needs auth.username", what)
	case a.Username != "" && a.PasswordFile == "" && a.TokenFile == "":
		v.add(at.of("username"), "%s: auth.username needs auth.passwordFile or auth.tokenFile", what)
	case scheme == "ssh" && (a.SSHKeyFile == "" || a.KnownHostsFile == ""):
		// Host keys are always checked; there is no way to skip it.
		v.add(at.of(""), "%s: an SSH URL needs auth.sshKeyFile and auth.knownHostsFile", what)
	case ssh && scheme != "ssh":
		v.add(at.of(""), "%s: auth.sshKeyFile and auth.knownHostsFile only apply to SSH URLs, not %s", what, scheme)
	case basic && scheme != "http":
		v.add(at.of(""), "%s: auth.tokenFile, username and passwordFile only apply to http(s) URLs, not %s", what, scheme)
	case basic && strings.HasPrefix(r.URL, "http://") && !r.Insecure && !loopback(r.URL):
		// Anyone on the path reads the credential, and can serve other commits.
		v.add(r.at.of("url"), "%s: credentials over plain http:// are refused: use https://, or set insecure: true on the repo", what)
	}
}

// loopback reports whether a URL's host is this machine: nothing crosses a
// network (a Git server beside the operator, or a test's).
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func (v *validator) cluster(cl *Cluster) {
	what := fmt.Sprintf("cluster %q", cl.Name)
	if !fieldOK(cl.at, "") {
		return
	}
	scheme := ""
	if cl.Host != "" {
		u, err := url.Parse(cl.Host)
		switch {
		case err != nil || !slices.Contains([]string{"unix", "tcp", "ssh", "npipe", "http", "https"}, u.Scheme):
			v.add(cl.at.of("host"), "%s: host %q must be a Docker host such as tcp://10.0.0.10:2376 or unix:///var/run/docker.sock", what, cl.Host)
		default:
			scheme = u.Scheme
		}
	}
	v.file(cl.at, "sshKeyFile", cl.SSHKeyFile, what+" sshKeyFile")
	v.file(cl.at, "knownHostsFile", cl.KnownHostsFile, what+" knownHostsFile")
	if (cl.SSHKeyFile != "" || cl.KnownHostsFile != "") && scheme != "ssh" && fieldOK(cl.at, "host") {
		key := "sshKeyFile"
		if cl.SSHKeyFile == "" {
			key = "knownHostsFile"
		}
		v.add(cl.at.of(key), "%s: sshKeyFile and knownHostsFile only apply to an ssh:// host", what)
	}
	if cl.TLS == nil {
		if (scheme == "tcp" || scheme == "http") && !cl.Insecure {
			// The engine's API is root on every node; without TLS anyone who
			// can reach the port has it.
			v.add(cl.at.of("host"), "%s: host %s has no tls: the engine's API would be open to anyone who can reach it; add tls (ca, cert, key), or set insecure: true", what, cl.Host)
		}
		return
	}
	t := cl.TLS
	v.file(t.at, "ca", t.CA, what+" tls.ca")
	v.file(t.at, "cert", t.Cert, what+" tls.cert")
	v.file(t.at, "key", t.Key, what+" tls.key")
	switch {
	case (t.Cert == "") != (t.Key == ""):
		v.add(t.at.of(""), "%s: tls needs both cert and key, or neither", what)
	case t.CA == "" && t.Cert == "":
		v.add(t.at.of(""), "%s: tls names no files (ca, cert, key)", what)
	case scheme != "" && scheme != "tcp" && scheme != "https":
		v.add(cl.at.of("tls"), "%s: tls only applies to a tcp:// host, not %s://", what, scheme)
	}
}

// registryHost is a registry as image references name it: a host name or
// address, maybe with a port; no scheme, no path.
var registryHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$`)

// dockerHubAliases are the other names of Docker Hub's registry; image
// references call it docker.io.
var dockerHubAliases = []string{"docker.io", "index.docker.io", "registry-1.docker.io"}

func (v *validator) registries(regs map[string]*Registry) {
	seen := map[string]string{}
	for _, host := range sortedKeys(regs) {
		r := regs[host]
		what := fmt.Sprintf("registry %q", host)
		if !fieldOK(r.at, "") {
			continue
		}
		if !registryHost.MatchString(host) {
			v.add(r.at.of(""), "%s: give the registry as image references name it, such as ghcr.io, registry.example.com:5000 or docker.io (no scheme, no path)", what)
			continue
		}
		norm := strings.ToLower(host)
		if slices.Contains(dockerHubAliases, norm) {
			norm = "docker.io"
		}
		if other, dup := seen[norm]; dup {
			v.add(r.at.of(""), "%s: the same registry as %q", what, other)
		}
		seen[norm] = host
		v.required(r.at, "username", r.Username, what)
		switch {
		case r.PasswordFile != "" && r.TokenFile != "":
			v.add(r.at.of("tokenFile"), "%s: give passwordFile or tokenFile, not both", what)
		case r.PasswordFile == "" && r.TokenFile == "" && fieldOK(r.at, "passwordFile") && fieldOK(r.at, "tokenFile"):
			v.add(r.at.of(""), "%s: passwordFile (or tokenFile) is required", what)
		}
		v.file(r.at, "passwordFile", r.PasswordFile, what+" passwordFile")
		v.file(r.at, "tokenFile", r.TokenFile, what+" tokenFile")
	}
}

// images checks resolveImage and watchImages as written at one level, given
// what that level inherits (nothing for defaults). A combination made only
// of inherited values is reported where it was written.
func (v *validator) images(at fieldPos, what string, resolve ResolveImage, watch *bool, inheritedResolve ResolveImage, inheritedWatch *bool) {
	if resolve != "" && !slices.Contains([]ResolveImage{ResolveAlways, ResolveChanged, ResolveNever}, resolve) {
		if fieldOK(at, "resolveImage") {
			v.add(at.of("resolveImage"), "%s: resolveImage %q must be always, changed or never", what, resolve)
		}
		return
	}
	if resolve == "" && watch == nil {
		return
	}
	effResolve := firstOf(resolve, inheritedResolve, DefaultResolveImage)
	effWatch := watch
	if effWatch == nil {
		effWatch = inheritedWatch
	}
	if effWatch == nil || !*effWatch || effResolve == ResolveAlways {
		return
	}
	// A moved tag is deployed by pinning its new digest, which only
	// resolveImage: always does when the reference itself is unchanged.
	key := "watchImages"
	if watch == nil {
		key = "resolveImage"
	}
	v.add(at.of(key), "%s: watchImages needs resolveImage: always, not %s", what, effResolve)
}
