package environments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates the configuration file at path. Its error is
// Problems, listing every mistake with its line, when the file could be read.
func Load(path string) (*Config, error) { return load(path, true) }

// LoadOffline is Load without looking at the files the configuration names
// (keys, tokens, identities): for tools that run where the operator's
// secrets are not, such as CI checking a stack against an environment's
// policy. Such a Config is for reading, never for running the operator.
func LoadOffline(path string) (*Config, error) { return load(path, false) }

func load(path string, files bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration %s: %w", path, err)
	}
	d := &decoder{problems: &problems{file: path}}
	c, parsed := parse(d, data, filepath.Dir(abs))
	c.File = path
	c.applyDefaults()
	if !parsed {
		return nil, d.err()
	}
	if err := d.err(); err != nil {
		// Also validate what did decode: the operator gets every mistake at once.
		var ps Problems
		if errors.As(c.validate(files), &ps) {
			d.list = append(d.list, ps...)
		}
		return nil, d.err()
	}
	if err := c.validate(files); err != nil {
		return nil, err
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML syntax error at its line.
func (d *decoder) syntax(err error) {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.add(Pos{Line: line, Column: 1}, "%s", m[2])
		return
	}
	d.add(Pos{}, "%v", err)
}

// parse decodes what it can; parsed is false when there was no document to decode.
func parse(d *decoder, data []byte, dir string) (c *Config, parsed bool) {
	c = &Config{at: fieldPos{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.syntax(err)
		return c, false
	}
	if len(doc.Content) == 0 {
		d.add(Pos{}, "the configuration is empty")
		return c, false
	}
	r := &reader{decoder: d, dir: dir}
	r.config(c, doc.Content[0])
	return c, true
}

// reader decodes the sections of the file; dir resolves relative paths.
type reader struct {
	*decoder
	dir string
}

// path resolves a file name against the configuration file's directory.
func (r *reader) path(n *yaml.Node, what string) string {
	s := r.str(n, what)
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(r.dir, s)
}

func (r *reader) config(c *Config, n *yaml.Node) {
	r.mapping(n, "the configuration", c.at, map[string]func(*yaml.Node){
		"cacheDir": func(v *yaml.Node) { c.CacheDir = r.path(v, "cacheDir") },
		"repos": func(v *yaml.Node) {
			c.Repos = map[string]*Repo{}
			r.named(v, "repo", func(name string, _, v *yaml.Node) { c.Repos[name] = r.repo(name, v) })
		},
		"clusters": func(v *yaml.Node) {
			c.Clusters = map[string]*Cluster{}
			r.named(v, "cluster", func(name string, _, v *yaml.Node) { c.Clusters[name] = r.cluster(name, v) })
		},
		"registries": func(v *yaml.Node) {
			c.Registries = map[string]*Registry{}
			r.named(v, "registry", func(host string, _, v *yaml.Node) { c.Registries[host] = r.registry(host, v) })
		},
		"defaults": func(v *yaml.Node) { c.Defaults = r.policy(v) },
		"environments": func(v *yaml.Node) {
			c.Environments = map[string]*EnvironmentSpec{}
			r.named(v, "environment", func(name string, k, v *yaml.Node) {
				s := r.environment(name, v)
				s.at["name"] = posOf(k)
				c.Environments[name] = s
			})
		},
		"include": func(v *yaml.Node) {
			r.each(v, "include", func(i int, item *yaml.Node) { c.Includes = append(c.Includes, r.include(item, i)) })
		},
		"discover": func(v *yaml.Node) {
			r.each(v, "discover", func(i int, item *yaml.Node) { c.Discover = append(c.Discover, r.discovery(item, i)) })
		},
		"server": func(v *yaml.Node) { c.Server = r.server(v) },
		"notifications": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				r.add(posOf(v), "notifications must be a list, not %s", kindName(v))
				return
			}
			for _, item := range v.Content {
				c.Notifications = append(c.Notifications, r.notification(resolve(item)))
			}
		},
		"sensitivePatterns": func(v *yaml.Node) {
			items, _ := r.strList(v, "sensitivePatterns")
			c.SensitivePatterns = append([]string{}, items...)
		},
		"history": func(v *yaml.Node) {
			c.History.at = fieldPos{}
			r.mapping(v, "history", c.History.at, map[string]func(*yaml.Node){
				"limit": func(v *yaml.Node) { c.History.Limit = r.integer(v, "history.limit") },
			})
		},
	})
}

func (r *reader) repo(name string, n *yaml.Node) *Repo {
	repo := &Repo{Name: name, at: fieldPos{}}
	what := fmt.Sprintf("repo %q", name)
	r.mapping(n, what, repo.at, map[string]func(*yaml.Node){
		"url": func(v *yaml.Node) { repo.URL = r.str(v, what+" url") },
		"insecure": func(v *yaml.Node) {
			if b := r.boolean(v, what+" insecure"); b != nil {
				repo.Insecure = *b
			}
		},
		"auth": func(v *yaml.Node) {
			a := &repo.Auth
			a.at = fieldPos{}
			r.mapping(v, what+" auth", a.at, map[string]func(*yaml.Node){
				"sshKeyFile":     func(v *yaml.Node) { a.SSHKeyFile = r.path(v, "sshKeyFile") },
				"knownHostsFile": func(v *yaml.Node) { a.KnownHostsFile = r.path(v, "knownHostsFile") },
				"tokenFile":      func(v *yaml.Node) { a.TokenFile = r.path(v, "tokenFile") },
				"username":       func(v *yaml.Node) { a.Username = r.str(v, "username") },
				"passwordFile":   func(v *yaml.Node) { a.PasswordFile = r.path(v, "passwordFile") },
			})
		},
	})
	return repo
}

func (r *reader) cluster(name string, n *yaml.Node) *Cluster {
	cl := &Cluster{Name: name, at: fieldPos{}}
	what := fmt.Sprintf("cluster %q", name)
	r.mapping(n, what, cl.at, map[string]func(*yaml.Node){
		"host":           func(v *yaml.Node) { cl.Host = r.str(v, what+" host") },
		"sshKeyFile":     func(v *yaml.Node) { cl.SSHKeyFile = r.path(v, what+" sshKeyFile") },
		"knownHostsFile": func(v *yaml.Node) { cl.KnownHostsFile = r.path(v, what+" knownHostsFile") },
		"insecure": func(v *yaml.Node) {
			if b := r.boolean(v, what+" insecure"); b != nil {
				cl.Insecure = *b
			}
		},
		"tls": func(v *yaml.Node) {
			t := &TLS{at: fieldPos{}}
			cl.TLS = t
			r.mapping(v, what+" tls", t.at, map[string]func(*yaml.Node){
				"ca":   func(v *yaml.Node) { t.CA = r.path(v, "tls.ca") },
				"cert": func(v *yaml.Node) { t.Cert = r.path(v, "tls.cert") },
				"key":  func(v *yaml.Node) { t.Key = r.path(v, "tls.key") },
			})
		},
	})
	return cl
}

func (r *reader) policy(n *yaml.Node) Policy {
	p := Policy{at: fieldPos{}}
	r.mapping(n, "defaults", p.at, map[string]func(*yaml.Node){
		"prune":            func(v *yaml.Node) { p.Prune = r.boolean(v, "defaults.prune") },
		"onFailure":        func(v *yaml.Node) { p.OnFailure = OnFailure(r.str(v, "defaults.onFailure")) },
		"progressDeadline": func(v *yaml.Node) { p.ProgressDeadline = r.duration(v, "defaults.progressDeadline") },
		"schedule":         func(v *yaml.Node) { p.Schedule = r.str(v, "defaults.schedule") },
		"interval":         func(v *yaml.Node) { p.Interval = r.duration(v, "defaults.interval") },
		"policy":           func(v *yaml.Node) { p.Policy = r.policySpec(v, "defaults.policy") },
		"resolveImage":     func(v *yaml.Node) { p.ResolveImage = ResolveImage(r.str(v, "defaults.resolveImage")) },
		"watchImages":      func(v *yaml.Node) { p.WatchImages = r.boolean(v, "defaults.watchImages") },
	})
	return p
}

func (r *reader) registry(host string, n *yaml.Node) *Registry {
	reg := &Registry{Host: host, at: fieldPos{}}
	what := fmt.Sprintf("registry %q", host)
	r.mapping(n, what, reg.at, map[string]func(*yaml.Node){
		"username":     func(v *yaml.Node) { reg.Username = r.str(v, what+" username") },
		"passwordFile": func(v *yaml.Node) { reg.PasswordFile = r.path(v, what+" passwordFile") },
		"tokenFile":    func(v *yaml.Node) { reg.TokenFile = r.path(v, what+" tokenFile") },
	})
	return reg
}

// DefaultListen is where the server listens when server.listen is not set.
const DefaultListen = ":8080"

func (c *Config) applyDefaults() {
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir()
	}
	if _, written := c.History.at["limit"]; !written {
		c.History.Limit = DefaultHistoryLimit
	}
	if c.Server != nil && c.Server.Listen == "" && fieldOK(c.Server.at, "listen") {
		c.Server.Listen = DefaultListen
	}
}

// DefaultCacheDir is the user's cache directory's flotilla folder, or
// /var/lib/flotilla for a service user without a home.
func DefaultCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "flotilla")
	}
	return "/var/lib/flotilla"
}
