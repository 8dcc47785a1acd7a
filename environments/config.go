package environments

import (
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
)

// Config is the operator's configuration file, as loaded. Paths to files on
// disk are absolute (resolved against the file's directory); secrets are
// referenced by file and only read on demand, so printing a Config never
// shows one.
type Config struct {
	// File is the configuration file's path, as given to Load.
	File string
	// CacheDir holds the Git object caches.
	CacheDir string
	Repos    map[string]*Repo
	Clusters map[string]*Cluster
	// Registries are container registries' credentials, by host.
	Registries   map[string]*Registry
	Defaults     Policy
	Environments map[string]*EnvironmentSpec
	// Includes and Discover declare environments in Git: Expand adds them.
	Includes      []*Include
	Discover      []*Discovery
	Server        *Server
	Notifications []*Notification
	History       History
	// SensitivePatterns are the names of environment variables, labels and
	// driver options whose values plans shown outside the CLI (the API,
	// notifications, history) mask: "*" is any text, matching ignores
	// case. Nil means diff.DefaultSensitivePatterns (see Sensitive); an
	// empty list written in the file masks nothing by name.
	SensitivePatterns []string

	at fieldPos
}

// Repo is a Git repository that environments deploy from.
type Repo struct {
	Name string
	// URL is https://…, http://…, ssh://…, git@host:path or file://….
	URL  string
	Auth Auth
	// Insecure allows credentials over plain http://.
	Insecure bool

	at fieldPos
}

// Auth says how to authenticate to a repository. At most one way is set:
// an SSH key (with the known_hosts file that pins the server's key), a token,
// or a username and password. The zero Auth means anonymous.
type Auth struct {
	SSHKeyFile     string
	KnownHostsFile string
	TokenFile      string
	// Username goes with PasswordFile, or with TokenFile for servers that
	// want a particular user name next to a token.
	Username     string
	PasswordFile string

	at fieldPos
}

// Cluster is a Docker Engine to deploy to. The zero Cluster is the engine the
// docker CLI would use in the operator's environment: DOCKER_HOST (with
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else DOCKER_CONTEXT, else the
// current docker context, else the local socket.
type Cluster struct {
	Name string
	// Host is unix://…, tcp://… or ssh://user@host[:port].
	Host string
	TLS  *TLS
	// Insecure allows a tcp:// host without TLS: whoever can reach the
	// port is root on every node.
	Insecure bool
	// SSHKeyFile and KnownHostsFile are for an ssh:// host; without them
	// ssh's own configuration (~/.ssh) applies.
	SSHKeyFile     string
	KnownHostsFile string

	at fieldPos
}

// Registry is the credentials for one container registry, used to resolve
// image tags to digests and sent with every service so that each node can
// pull (docker's --with-registry-auth). The secret is read from its file each
// time it is needed.
type Registry struct {
	// Host is the registry as image references name it: "ghcr.io",
	// "registry.example.com:5000", or "docker.io" for Docker Hub.
	Host     string
	Username string
	// PasswordFile holds a password; TokenFile an access token (GitHub or
	// GitLab token, ECR or ACR token), sent the same way. Exactly one.
	PasswordFile string
	TokenFile    string

	at fieldPos
}

// TLS names the PEM files of a TLS-protected engine.
type TLS struct {
	CA, Cert, Key string

	at fieldPos
}

// LocalCluster is the cluster an environment deploys to when it names none.
const LocalCluster = "local"

// OnFailure is what happens when a deploy fails.
type OnFailure string

const (
	// Rollback returns the services to their previous spec.
	Rollback OnFailure = "rollback"
	// Pause leaves the failed update where it stopped, for a human to look at.
	Pause OnFailure = "pause"
)

// SelfHeal is what a pass does about drift: live objects changed by hand.
type SelfHeal string

const (
	SelfHealOff  SelfHeal = "off"
	SelfHealWarn SelfHeal = "warn"
	SelfHealHeal SelfHeal = "heal"
)

// ResolveImage says when a deploy pins image tags to the digests the
// registry gives: always, only for images whose reference changed, or never.
type ResolveImage string

const (
	ResolveAlways  ResolveImage = "always"
	ResolveChanged ResolveImage = "changed"
	ResolveNever   ResolveImage = "never"
)

// Policy holds the settings an environment inherits from defaults. In
// EnvironmentSpec a nil field means "inherit".
type Policy struct {
	Prune            *bool
	OnFailure        OnFailure
	ProgressDeadline time.Duration
	ResolveImage     ResolveImage
	WatchImages      *bool
	// Schedule (cron) or Interval (a duration): when environments that say
	// neither poll Git. At most one is set.
	Schedule string
	Interval time.Duration
	// Policy is defaults.policy, what environments' policies inherit.
	Policy *PolicySpec

	at fieldPos
}

// SyncWindowKind says whether a sync window allows or denies automatic syncs.
type SyncWindowKind string

const (
	Allow SyncWindowKind = "allow"
	Deny  SyncWindowKind = "deny"
)

// SyncWindow opens at each time Schedule (a cron expression) fires and
// stays open for Duration.
type SyncWindow struct {
	Kind     SyncWindowKind
	Schedule string
	Duration time.Duration

	at fieldPos
}

// EnvironmentSpec is one entry of environments: as written. Config.Environment
// gives the resolved form with defaults applied.
type EnvironmentSpec struct {
	Name   string
	Repo   string
	Branch string
	// Ref is a full ref name (refs/heads/x, refs/tags/v1), as an alternative to Branch.
	Ref  string
	Path string
	// Files and EnvFiles are relative to Path, inside the repository.
	Files    []string
	EnvFiles []string
	Stack    string
	Cluster  string
	// Variables are given to the stack files' interpolation.
	Variables map[string]string
	// Identities are age identity files on disk, absolute.
	Identities       []string
	Prune            *bool
	OnFailure        OnFailure
	ProgressDeadline time.Duration
	// Schedule is a cron expression; Interval a duration between polls,
	// as Flux and doco-cd users write it. At most one is set.
	Schedule     string
	Interval     time.Duration
	SyncWindows  []*SyncWindow
	SelfHeal     SelfHeal
	ResolveImage ResolveImage
	WatchImages  *bool
	// Policy limits what the environment's stack may do; its unset fields
	// inherit from defaults.policy.
	Policy *PolicySpec

	at fieldPos
	// source is set for an environment declared in Git (Expand).
	source *source
}

// Server is the HTTP endpoint: health, metrics, API, webhooks.
type Server struct {
	Listen string
	// TokenFile holds the bearer token the API wants for everything:
	// reads, syncs, rollbacks, resumes.
	TokenFile string
	// ReadTokenFile holds a second token that allows reads only.
	ReadTokenFile string
	// PublicRead opens the reads to anyone who can reach the server; they
	// then see no error text, commit message or author e-mail.
	PublicRead bool
	// TLS serves HTTPS with these files.
	TLS      *ServerTLS
	Webhooks map[WebhookKind]*Webhook
	// UI is server.ui: the web dashboard at /, on unless set to false.
	// Use UIEnabled to read it.
	UI *bool

	at fieldPos
}

// UIEnabled reports whether the server serves the web dashboard: yes,
// unless server.ui is false.
func (s *Server) UIEnabled() bool { return s.UI == nil || *s.UI }

// ServerTLS names the server's certificate and key, PEM files. They are read
// again when they change, so a renewed certificate needs no restart.
type ServerTLS struct {
	CertFile, KeyFile string

	at fieldPos
}

// MinSecretLen is the shortest API token or webhook secret accepted, in
// bytes: a shorter one can be guessed.
const MinSecretLen = 32

// WebhookKind is a Git forge whose push events the server understands.
type WebhookKind string

const (
	GitHub  WebhookKind = "github"
	GitLab  WebhookKind = "gitlab"
	Gitea   WebhookKind = "gitea"
	Generic WebhookKind = "generic"
)

// Webhook is one forge's webhook endpoint.
type Webhook struct {
	SecretFile string

	at fieldPos
}

// NotificationType is where a notification goes.
type NotificationType string

const (
	WebhookNotification NotificationType = "webhook"
	SlackNotification   NotificationType = "slack"
	// ShoutrrrNotification sends to any service a shoutrrr URL names:
	// discord://, teams://, telegram://, ntfy://, gotify://, matrix://,
	// mattermost://, smtp://, generic://…
	ShoutrrrNotification NotificationType = "shoutrrr"
)

// Notification sends the results of passes somewhere.
type Notification struct {
	Type NotificationType
	// URL, or URLFile when the URL itself is a secret (a Slack webhook, a
	// shoutrrr URL with a token).
	URL     string
	URLFile string
	// Environments limits the notification to these; empty means all.
	Environments []string
	// Events limits it to these results; empty means all.
	Events []string

	at fieldPos
}

// History says how much deploy history to keep per environment.
type History struct {
	Limit int

	at fieldPos
}

// Built-in defaults, used where neither the environment nor defaults: says.
const (
	DefaultOnFailure        = Rollback
	DefaultProgressDeadline = 5 * time.Minute
	DefaultSchedule         = "@every 1m"
	DefaultSelfHeal         = SelfHealWarn
	DefaultResolveImage     = ResolveAlways
	DefaultHistoryLimit     = 50
	DefaultPath             = "."
)

// MinInterval is the shortest interval accepted: every poll lists the
// repository's refs, and forges rate-limit clients that poll faster.
const MinInterval = 5 * time.Second

// DefaultPrune is false: removing what Git no longer lists is opt-in, so a
// mistaken commit can't delete a running service unless the operator asked.
const DefaultPrune = false

// notificationEvents are the results a notification can filter on.
var notificationEvents = []string{"succeeded", "failed", "rolledBack", "paused", "drift"}

// fieldPos remembers where each field's value was written, keyed by its YAML
// name; "" is the position of the whole entry.
type fieldPos map[string]Pos

func (f fieldPos) of(key string) Pos {
	if p, ok := f[key]; ok {
		return p
	}
	return f[""]
}

// Sensitive is the patterns to mask plans with (diff.MaskSensitive):
// SensitivePatterns, or the defaults when the file gives none.
func (c *Config) Sensitive() []string {
	if c == nil || c.SensitivePatterns == nil {
		return diff.DefaultSensitivePatterns
	}
	return c.SensitivePatterns
}
