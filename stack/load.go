package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// Options say which stack files to render and how.
type Options struct {
	// Files are stack files, paths inside the FS, merged in order like
	// `-c base.yml -c prod.yml`. Paths inside them are relative to the
	// directory of the first file, as with docker.
	Files []string
	// Stack is the stack name: lowercase letters, digits, - and _.
	Stack string
	// Variables are used for ${VAR} interpolation; the process environment
	// is never read.
	Variables map[string]string
	// Environ is a process environment, as `docker stack deploy` reads
	// variables from it: the lowest precedence, under EnvFiles and
	// Variables. The CLI passes its own; the operator none, so that what it
	// deploys depends on Git and its configuration only.
	Environ map[string]string
	// EnvFiles are env files (paths inside the FS) whose KEY=VALUE lines add
	// variables; Variables win.
	EnvFiles []string
	// APIVersion is the negotiated engine API version ("" means 1.41); keys
	// the engine cannot honour at that version are rejected.
	APIVersion string
	// Decrypt, when set, is called with the raw bytes of secret files that
	// end in ".age" or are SOPS files (secrets.IsSOPS); configs can be
	// neither.
	Decrypt func(path string, ciphertext []byte) (secrets.Value, error)
	// Version, when set, versions secret and config names by content:
	// <stack>_<key>_<Version(content)> (see secrets.Versioner). Without it
	// names are docker's, <stack>_<key>.
	Version func(content []byte) string
}

// DefaultAPIVersion is the engine API version assumed when none is given.
const DefaultAPIVersion = "1.41"

var stackName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Load renders stack files into the objects `docker stack deploy` would
// create. On any error it returns nil: never a partial stack.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*Desired, error) {
	if !stackName.MatchString(opts.Stack) {
		return nil, fmt.Errorf("invalid stack name %q: use lowercase letters, digits, - and _, starting with a letter or digit", opts.Stack)
	}
	if len(opts.Files) == 0 {
		return nil, errors.New("no stack file given")
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	vars, err := variables(fsys, opts)
	if err != nil {
		return nil, err
	}

	r := &renderer{fsys: fsys, stack: opts.Stack, vars: vars, opts: opts}
	details := types.ConfigDetails{Environment: vars}
	pos := positions{}
	for i, f := range opts.Files {
		p, content, err := readFile(fsys, ".", f, MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("reading stack file: %w", err)
		}
		if i == 0 {
			r.dir = path.Dir(p)
			// compose-go wants an absolute directory; nothing is resolved
			// against it because ResolvePaths is off.
			details.WorkingDir = path.Join("/", r.dir)
		}
		content, warnings, err := checkKeys(f, content, pos)
		if err != nil {
			return nil, err
		}
		r.warnings = append(r.warnings, warnings...)
		details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: f, Content: content})
	}

	project, hosts, err := loadProject(ctx, details, opts.Stack)
	if err != nil {
		return nil, err
	}
	if err := checkReserved(project, pos, opts.Files); err != nil {
		return nil, err
	}
	r.project = project
	d, err := r.render(hosts)
	if err != nil {
		// Name the stack files: an operator with several environments
		// needs to know which deploy the bad secret or service belongs to.
		return nil, fmt.Errorf("%s: %w", strings.Join(opts.Files, " + "), err)
	}
	d.Files = opts.Files
	if opts.Version != nil {
		if err := versionObjects(d, opts.Version); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// loadProject parses, merges, interpolates and normalises with compose-go.
// It also returns each service's extra_hosts in docker's order (the list as
// written, or a map's entries sorted), which compose-go's map loses.
func loadProject(ctx context.Context, details types.ConfigDetails, stack string) (*types.Project, map[string][]string, error) {
	optFuncs := []func(*loader.Options){
		func(o *loader.Options) {
			o.SetProjectName(stack, true)
			o.ResolvePaths = false
			o.SkipInclude = true
			o.SkipExtends = true
			o.SkipResolveEnvironment = true
			o.SkipResolveLabels = true
			// Defaults are docker's, applied by the converter: compose-go's
			// differ (secret targets under /run/secrets, port modes).
			o.SkipDefaultValues = true
			// compose-go's check refuses secrets that only name a driver,
			// which docker accepts; the converter reports undefined
			// networks, volumes, secrets and configs itself.
			o.SkipConsistencyCheck = true
			o.Interpolate.Substitute = strictSubstitute
			o.Interpolate.TypeCastMapping = dockerCasts()
		},
	}
	dict, err := loader.LoadModelWithContext(ctx, details, optFuncs...)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", fileList(details), err)
	}
	hosts := extraHostsOrder(dict)
	o := loader.ToOptions(&details, optFuncs)
	project, err := loader.ModelToProject(dict, o, details)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", fileList(details), err)
	}
	return project, hosts, nil
}

func fileList(d types.ConfigDetails) string {
	s := ""
	for i, f := range d.ConfigFiles {
		if i > 0 {
			s += ", "
		}
		s += f.Filename
	}
	return s
}

// extraHostsOrder converts extra_hosts "host:ip" entries to swarm's
// "ip host" in docker's order.
func extraHostsOrder(dict map[string]any) map[string][]string {
	out := map[string][]string{}
	services, _ := dict["services"].(map[string]any)
	for name, s := range services {
		svc, _ := s.(map[string]any)
		var entries []string
		switch v := svc["extra_hosts"].(type) {
		case []any:
			for _, e := range v {
				entries = append(entries, fmt.Sprint(e))
			}
		case map[string]any:
			for host, ip := range v {
				entries = append(entries, host+":"+fmt.Sprint(ip))
			}
			sort.Strings(entries)
		}
		hosts := make([]string, 0, len(entries))
		for _, e := range entries {
			if host, ip, ok := cutHost(e); ok {
				hosts = append(hosts, ip+" "+host)
			}
		}
		out[name] = hosts
	}
	return out
}

// cutHost splits "host:ip" at the first colon, as docker does, so IPv6
// addresses stay whole; compose's "host=ip" form is accepted too.
func cutHost(e string) (string, string, bool) {
	for i := 0; i < len(e); i++ {
		if e[i] == ':' || e[i] == '=' {
			return e[:i], e[i+1:], true
		}
	}
	return "", "", false
}
