package stack

import (
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// Labels that `docker stack deploy` sets, and Flotilla's own. Flotilla's labels
// all start with LabelPrefix; conformance tests strip exactly those.
const (
	// LabelNamespace is set by `docker stack deploy` on every object of a stack.
	LabelNamespace = "com.docker.stack.namespace"
	// LabelImage records the image as written in the stack file, because the
	// daemon may pin a digest in the spec.
	LabelImage = "com.docker.stack.image"

	LabelPrefix = "io.flotilla."
	// LabelManaged marks an object Flotilla owns ("true").
	LabelManaged = LabelPrefix + "managed"
	// LabelStack is the stack an object belongs to (same value as LabelNamespace).
	LabelStack = LabelPrefix + "stack"
	// LabelSpecHash is the hash of the desired service spec Flotilla applied,
	// so an unchanged service is recognised without a field-by-field compare.
	LabelSpecHash = LabelPrefix + "spec-hash"
	// LabelName is a secret's or config's logical name in the stack file.
	LabelName = LabelPrefix + "name"
	// LabelVersion is a secret's or config's content version (a keyed hash).
	LabelVersion = LabelPrefix + "version"
)

// Desired is everything one stack should consist of, as `docker stack deploy`
// would create it. Every slice is sorted by Name. It holds secret and config
// contents as secrets.Value, which never prints.
type Desired struct {
	Stack string
	// Files are the stack files it was rendered from, for messages.
	Files    []string `json:"-"`
	Services []Service
	Networks []Network
	Volumes  []Volume
	Secrets  []Secret
	Configs  []Config
	// Warnings are keys that `docker stack deploy` ignores (build,
	// depends_on, container_name, …), reported as data, not logged.
	Warnings []Warning
}

// Service is one service's full spec, named in the stack's scope ("shop_api").
type Service struct {
	Name string
	Spec swarm.ServiceSpec
}

// Network is a network the stack uses. External networks must exist and are
// never created; the others are created as Create says.
type Network struct {
	Key      string // key in the stack file: "default", "backend"
	Name     string // name on the engine: "shop_backend", or the `name:` given
	External bool
	Create   network.CreateOptions
}

// Volume is a named volume from the stack file. Swarm creates volumes on each
// node when a task mounts them; the service mounts carry these options.
type Volume struct {
	Key        string
	Name       string
	External   bool
	Driver     string
	DriverOpts map[string]string
	Labels     map[string]string
}

// SourceKind says where a secret's or config's content comes from.
type SourceKind string

const (
	SourceFile     SourceKind = "file"     // a file in the stack's FS (maybe age-encrypted)
	SourceExternal SourceKind = "external" // an object that already exists; never created
	SourceEnv      SourceKind = "environment"
	SourceInline   SourceKind = "content" // `content:` in the stack file
	// SourceDriver is a secret whose content a secret driver provides.
	SourceDriver SourceKind = "driver"
)

// Source is where an object's content comes from; it never holds the content.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Path is the file, relative to the FS root, for SourceFile; the
	// variable's name for SourceEnv.
	Path string `json:"path,omitempty"`
	// Encrypted is set for age-encrypted files (`.age`) and SOPS files.
	Encrypted bool `json:"encrypted,omitempty"`
}

// Secret is a Docker secret the stack uses.
type Secret struct {
	Key  string // key in the stack file
	Name string // name on the engine, as service references use it
	// DockerName is the name `docker stack deploy` gives it (<stack>_<key>),
	// set when Name is versioned: a stack deployed by docker is adopted
	// under it.
	DockerName string `json:",omitempty"`
	Source     Source
	Labels     map[string]string
	Driver     string // secret driver, if any
	// DriverOpts are the secret driver's options.
	DriverOpts map[string]string `json:",omitempty"`
	// TemplateDriver is e.g. "golang" for templated secrets.
	TemplateDriver string
	// Data is the content; empty for external secrets.
	Data secrets.Value `json:"-"`
}

// Config is a Docker config the stack uses; like Secret.
type Config struct {
	Key            string
	Name           string
	DockerName     string `json:",omitempty"`
	Source         Source
	Labels         map[string]string
	TemplateDriver string
	Data           secrets.Value `json:"-"`
}

// Warning is a stack-file key that has no effect on a swarm.
type Warning struct {
	Service string `json:"service,omitempty"`
	Key     string `json:"key"`
	Message string `json:"message"`
}
