package server

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// scpLike is git's short SSH form, user@host:path, which has no scheme.
var scpLike = regexp.MustCompile(`^(?:[^@/]+@)?([^:/]+):(.*)$`)

// defaultPorts are dropped so that https://host:443/x and https://host/x
// name the same repository.
var defaultPorts = map[string]string{"http": "80", "https": "443", "ssh": "22", "git+ssh": "22", "ssh+git": "22", "git": "9418"}

// NormalizeURL reduces a repository URL to a form in which the different
// ways a forge spells one repository compare equal: the clone, SSH, git and
// web URLs a push payload lists, and the URL an environment was configured
// with. Scheme, user info, default ports, a trailing ".git" and trailing
// slashes are dropped, the host is lowercased, and scp-like git@host:path
// becomes host/path. A file:// URL or an absolute path is kept as
// "file:" and its cleaned path, since only the path identifies it.
func NormalizeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if p, ok := strings.CutPrefix(raw, "file://"); ok {
		return "file:" + path.Clean("/"+strings.TrimPrefix(p, "localhost/"))
	}
	if strings.HasPrefix(raw, "/") {
		return "file:" + path.Clean(raw)
	}
	if !strings.Contains(raw, "://") {
		if m := scpLike.FindStringSubmatch(raw); m != nil {
			return join(strings.ToLower(m[1]), m[2])
		}
		return trimRepoPath(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return trimRepoPath(raw)
	}
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && port != defaultPorts[strings.ToLower(u.Scheme)] {
		host += ":" + port
	}
	return join(host, u.Path)
}

func join(host, p string) string {
	return host + "/" + trimRepoPath(p)
}

// trimRepoPath drops the slashes around a repository path and its ".git".
func trimRepoPath(p string) string {
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	return strings.Trim(p, "/")
}

// sameRepo compares two repository URLs. Paths compare without regard to
// case: GitHub and GitLab treat them so, and a false match on a
// case-sensitive server costs one pass that finds nothing new, while a miss
// leaves a push waiting for the next scheduled poll.
func sameRepo(a, b string) bool {
	na, nb := NormalizeURL(a), NormalizeURL(b)
	return na != "" && strings.EqualFold(na, nb)
}
