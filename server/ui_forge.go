package server

import (
	"net/url"
	"strings"
)

// forgeCommitURL is the web page of commit sha in the repository at
// repoURL, when the repository lives on a forge whose page is known:
// github.com, gitlab.com, codeberg.org, and hosts whose first label names
// GitHub Enterprise, GitLab, Gitea or Forgejo (github.example.com,
// gitlab.example.com, gitea.example.com). Anything else — file paths,
// loopback, unknown hosts — gets "": a wrong link is worse than none.
func forgeCommitURL(repoURL, sha string) string {
	if sha == "" {
		return ""
	}
	host, path, ok := splitRepoURL(repoURL)
	if !ok {
		return ""
	}
	web := "https://" + host + "/" + path
	switch forgeOf(host) {
	case "github", "gitea":
		return web + "/commit/" + url.PathEscape(sha)
	case "gitlab":
		return web + "/-/commit/" + url.PathEscape(sha)
	}
	return ""
}

// splitRepoURL splits a clone URL (https://, ssh://, scp-like git@host:path)
// into its host and repository path, without credentials, port or ".git".
func splitRepoURL(raw string) (host, path string, ok bool) {
	raw = strings.TrimSpace(raw)
	switch {
	case strings.Contains(raw, "://"):
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		switch strings.ToLower(u.Scheme) {
		case "https", "http", "ssh", "git+ssh", "ssh+git":
		default:
			return "", "", false
		}
		host, path = strings.ToLower(u.Hostname()), u.Path
	default:
		m := scpLike.FindStringSubmatch(raw)
		if m == nil {
			return "", "", false
		}
		host, path = strings.ToLower(m[1]), m[2]
	}
	path = trimRepoPath(path)
	// owner/repo at least; GitLab groups nest deeper.
	if forgeOf(host) == "" || !strings.Contains(path, "/") || strings.Contains(path, "..") {
		return "", "", false
	}
	return host, path, true
}

// forgeOf names the forge software a host runs, from its name.
func forgeOf(host string) string {
	switch host {
	case "github.com":
		return "github"
	case "gitlab.com":
		return "gitlab"
	case "codeberg.org", "gitea.com":
		return "gitea"
	}
	first, _, found := strings.Cut(host, ".")
	if !found {
		return ""
	}
	switch first {
	case "github":
		return "github"
	case "gitlab":
		return "gitlab"
	case "gitea", "forgejo", "codeberg":
		return "gitea"
	}
	return ""
}

// displayRepo is a repository URL fit to show: without user info, which
// may hold a password or token.
func displayRepo(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw // a path, or scp-like user@host:path with no password
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
