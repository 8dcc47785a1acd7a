package environments

import (
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// stackName is what docker stack deploy accepts (compose project names).
var stackName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// scheduleParser accepts five-field cron expressions and descriptors such
// as @hourly and @every 30s.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (v *validator) environments(c *Config) {
	// stacks maps cluster → stack → the environment deploying it: two
	// environments on one stack would undo each other's deploys forever.
	stacks := map[string]map[string]string{}
	top := v
	for _, name := range sortedKeys(c.Environments) {
		s := c.Environments[name]
		// An environment from Git is reported in its own file.
		v := top
		if s.source != nil && s.source.file != top.problems.file {
			v = &validator{problems: &problems{file: s.source.file}}
			defer func() { top.list = append(top.list, v.list...) }()
		}
		v.environment(c, s)
		if s.Stack == "" {
			continue
		}
		cl := s.Cluster
		if cl == "" {
			cl = LocalCluster
		}
		if stacks[cl] == nil {
			stacks[cl] = map[string]string{}
		}
		if other, dup := stacks[cl][s.Stack]; dup {
			v.add(s.at.of("stack"), "environment %q: stack %q on cluster %q is already deployed by environment %q", name, s.Stack, cl, other)
			continue
		}
		stacks[cl][s.Stack] = name
	}
}

// branchOrRef checks that exactly one of branch and ref is given, and valid.
func (v *validator) branchOrRef(at fieldPos, what, branch, ref string) {
	switch {
	case branch != "" && ref != "":
		v.add(at.of("ref"), "%s: give branch or ref, not both", what)
	case branch != "":
		if err := checkRefName("refs/heads/" + branch); err != nil {
			v.add(at.of("branch"), "%s: branch %q: %v", what, branch, err)
		}
	case ref != "":
		if err := checkRefName(ref); err != nil || !strings.HasPrefix(ref, "refs/") {
			v.add(at.of("ref"), "%s: ref %q must be a full ref name such as refs/heads/main or refs/tags/v1", what, ref)
		}
	case fieldOK(at, "branch") && fieldOK(at, "ref"):
		v.add(at.of(""), "%s: branch (or ref) is required", what)
	}
}

func (v *validator) environment(c *Config, s *EnvironmentSpec) {
	what := fmt.Sprintf("environment %q", s.Name)
	at := s.at
	if !fieldOK(at, "") {
		return
	}
	if v.required(at, "repo", s.Repo, what) && c.Repos[s.Repo] == nil {
		v.add(at.of("repo"), "%s: unknown repo %q (defined: %s)", what, s.Repo, names(sortedKeys(c.Repos)))
	}
	v.branchOrRef(at, what, s.Branch, s.Ref)
	if s.Path != "" && !validRepoPath(s.Path) {
		v.add(at.of("path"), "%s: path %q must be a relative folder inside the repository, without ..", what, s.Path)
	}
	if len(s.Files) == 0 && fieldOK(at, "files") {
		v.add(at.of("files"), "%s: files is required (the stack files, relative to path)", what)
	}
	for key, list := range map[string][]string{"files": s.Files, "envFiles": s.EnvFiles} {
		for i, f := range list {
			if !validRepoPath(f) || path.Clean(f) == "." {
				v.add(at.of(fmt.Sprintf("%s.%d", key, i)), "%s: %s %q must be a relative file path inside the repository, without ..", what, key, f)
			}
		}
	}
	if v.required(at, "stack", s.Stack, what) && !stackName.MatchString(s.Stack) {
		v.add(at.of("stack"), "%s: stack name %q must be lowercase letters, digits, - and _, starting with a letter or digit", what, s.Stack)
	}
	if s.Cluster != "" && s.Cluster != LocalCluster && c.Clusters[s.Cluster] == nil {
		v.add(at.of("cluster"), "%s: unknown cluster %q (defined: %s)", what, s.Cluster, names(append(sortedKeys(c.Clusters), LocalCluster)))
	}
	for _, k := range sortedKeys(s.Variables) {
		if !variableName.MatchString(k) {
			v.add(at.of("variables"), "%s: variable name %q must be letters, digits and _, not starting with a digit", what, k)
		}
	}
	// Identities and policy of an environment from Git are its include's
	// or discover entry's, checked there.
	if s.source == nil {
		for i, id := range s.Identities {
			v.file(at, fmt.Sprintf("identities.%d", i), id, what+" identity")
		}
		v.policySpec(s.Policy, "environments."+s.Name+".policy")
	}
	v.policy(at, what, s.OnFailure)
	v.images(at, what, s.ResolveImage, s.WatchImages, c.Defaults.ResolveImage, c.Defaults.WatchImages)
	if s.SelfHeal != "" && !slices.Contains([]SelfHeal{SelfHealOff, SelfHealWarn, SelfHealHeal}, s.SelfHeal) && fieldOK(at, "selfHeal") {
		v.add(at.of("selfHeal"), "%s: selfHeal %q must be off, warn or heal", what, s.SelfHeal)
	}
	v.when(at, what, s.Schedule, s.Interval)
	for _, w := range s.SyncWindows {
		ww := what + " sync window"
		if w.Kind != Allow && w.Kind != Deny && fieldOK(w.at, "kind") {
			v.add(w.at.of("kind"), "%s: kind %q must be allow or deny", ww, w.Kind)
		}
		if v.required(w.at, "schedule", w.Schedule, ww) {
			v.schedule(w.at, "schedule", w.Schedule, ww)
		}
		if w.Duration <= 0 && fieldOK(w.at, "duration") {
			v.add(w.at.of("duration"), "%s: duration is required", ww)
		}
	}
}

// when checks the poll timing of an environment or of defaults: a cron
// schedule or an interval, not both.
func (v *validator) when(at fieldPos, what, schedule string, interval time.Duration) {
	switch {
	case schedule != "" && interval != 0:
		v.add(at.of("interval"), "%s: give schedule (cron) or interval (a duration), not both", what)
	case schedule != "":
		v.schedule(at, "schedule", schedule, what)
	case interval != 0 && interval < MinInterval:
		v.add(at.of("interval"), "%s: interval %s is shorter than %s: every poll lists the repository", what, interval, MinInterval)
	}
}

func (v *validator) schedule(at fieldPos, key, spec, what string) {
	if _, err := scheduleParser.Parse(spec); err != nil {
		v.add(at.of(key), "%s: %s %q: %v", what, key, spec, err)
	}
}

// validRepoPath accepts a slash-separated path inside the repository.
func validRepoPath(p string) bool {
	return !strings.HasPrefix(p, "/") && fs.ValidPath(path.Clean(p))
}

// checkRefName applies the rules of git check-ref-format that matter here.
func checkRefName(ref string) error {
	switch {
	case strings.ContainsAny(ref, " ~^:?*[\\\x7f") || strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.Contains(ref, "//"):
		return fmt.Errorf("not a valid Git ref name")
	case strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock"):
		return fmt.Errorf("not a valid Git ref name")
	}
	for _, part := range strings.Split(ref, "/") {
		if strings.HasPrefix(part, ".") || strings.HasPrefix(part, "-") {
			return fmt.Errorf("not a valid Git ref name")
		}
	}
	for _, r := range ref {
		if r < 0x20 {
			return fmt.Errorf("not a valid Git ref name")
		}
	}
	return nil
}

func names(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func (v *validator) server(s *Server) {
	if _, _, err := net.SplitHostPort(s.Listen); err != nil && fieldOK(s.at, "listen") {
		v.add(s.at.of("listen"), "server: listen %q must be host:port or :port", s.Listen)
	}
	v.secretFile(s.at, "tokenFile", s.TokenFile, "server.tokenFile")
	v.secretFile(s.at, "readTokenFile", s.ReadTokenFile, "server.readTokenFile")
	if s.TokenFile != "" && s.TokenFile == s.ReadTokenFile {
		v.add(s.at.of("readTokenFile"), "server: readTokenFile is tokenFile: give a different token for reads, or leave readTokenFile out")
	}
	if t := s.TLS; t != nil {
		v.required(t.at, "certFile", t.CertFile, "server.tls")
		v.required(t.at, "keyFile", t.KeyFile, "server.tls")
		v.file(t.at, "certFile", t.CertFile, "server.tls.certFile")
		v.file(t.at, "keyFile", t.KeyFile, "server.tls.keyFile")
	}
	for _, kind := range slices.Sorted(maps.Keys(s.Webhooks)) {
		h := s.Webhooks[kind]
		what := "server.webhooks." + string(kind)
		if v.required(h.at, "secretFile", h.SecretFile, what) {
			v.secretFile(h.at, "secretFile", h.SecretFile, what+".secretFile")
		}
	}
}

// secretFile checks a token or webhook secret now: it must exist and hold
// at least MinSecretLen bytes, or it can be guessed. Its content is never
// shown.
func (v *validator) secretFile(at fieldPos, key, path, what string) {
	if path == "" || !fieldOK(at, key) || !v.files {
		return
	}
	before := len(v.list)
	v.file(at, key, path, what)
	if len(v.list) > before {
		return
	}
	secret, err := readSecret(what, path)
	switch {
	case err != nil:
		v.add(at.of(key), "%v", err)
	case secret.Len() < MinSecretLen:
		v.add(at.of(key), "%s %s holds %d bytes: use at least %d random bytes (e.g. openssl rand -hex 32)", what, path, secret.Len(), MinSecretLen)
	}
}

func (v *validator) notification(c *Config, n *Notification) {
	const what = "notification"
	if !slices.Contains([]NotificationType{WebhookNotification, SlackNotification, ShoutrrrNotification}, n.Type) && fieldOK(n.at, "type") {
		v.add(n.at.of("type"), "%s: type %q must be webhook, slack or shoutrrr", what, n.Type)
	}
	switch {
	case n.URL != "" && n.URLFile != "":
		v.add(n.at.of("urlFile"), "%s: give url or urlFile, not both", what)
	case n.URL != "" && n.Type == ShoutrrrNotification:
		// The URL is not repeated: it may hold a token.
		if err := CheckShoutrrrURL(n.URL); err != nil {
			v.add(n.at.of("url"), "%s: url %v", what, err)
		}
	case n.URL != "":
		if u, err := url.Parse(n.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(n.at.of("url"), "%s: url must be an http:// or https:// URL", what)
		}
	case n.URLFile != "":
		v.file(n.at, "urlFile", n.URLFile, what+" urlFile")
	case fieldOK(n.at, "url") && fieldOK(n.at, "urlFile"):
		v.add(n.at.of(""), "%s: url (or urlFile) is required", what)
	}
	for _, e := range n.Environments {
		if c.Environments[e] == nil {
			v.add(n.at.of("environments"), "%s: unknown environment %q", what, e)
		}
	}
	for _, e := range n.Events {
		if !slices.Contains(notificationEvents, e) {
			v.add(n.at.of("events"), "%s: unknown event %q (known: %s)", what, e, strings.Join(notificationEvents, ", "))
		}
	}
}
