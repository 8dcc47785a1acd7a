package environments

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environments can also be declared in Git, as Argo CD's app of apps and
// Flux's Kustomizations are: include: names files of a repository whose
// environments: are added to the configuration's own, and discover: makes
// an environment of every directory of a repository that holds a stack
// file. Reading the repositories is the operator's business; Expand adds
// what it read, with the same validation and file:line problems.

// Include names files in a repository whose environments: sections are
// added to the configuration (see Expand).
type Include struct {
	Repo string
	// Branch, or Ref (a full ref name): where to read the files.
	Branch string
	Ref    string
	// Files are paths or path.Match patterns inside the repository.
	Files []string
	// Identities and Policy are what every included environment gets. A
	// file in Git can name neither: a commit to the bootstrap repository
	// must not have the operator's keys decrypt its files, nor loosen the
	// policy.
	Identities []string
	Policy     *PolicySpec

	at fieldPos
}

// Discovery makes an environment of every directory of a repository that
// matches Dirs and holds a stack file: doco-cd's layout, one folder per
// stack.
type Discovery struct {
	Repo   string
	Branch string
	Ref    string
	// Dirs is a path.Match pattern of directories, such as stacks/*.
	Dirs string
	// StackFiles are the names looked for in each directory, in order; the
	// first found is the environment's stack file. Default:
	// DefaultStackFiles.
	StackFiles []string
	// NamePrefix goes before the directory's name to make the environment
	// and stack name: "apps-" and stacks/shop make apps-shop.
	NamePrefix string
	Cluster    string
	Identities []string
	Policy     *PolicySpec

	at fieldPos
}

// DefaultStackFiles are the stack file names discovery looks for.
var DefaultStackFiles = []string{"stack.yml", "stack.yaml", "docker-stack.yml", "docker-stack.yaml",
	"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// Where says which repository and ref an entry reads: "platform@main".
func (i *Include) Where() string { return where(i.Repo, i.Branch, i.Ref) }

// Where says which repository and ref an entry reads: "apps@main".
func (d *Discovery) Where() string { return where(d.Repo, d.Branch, d.Ref) }

func where(repo, branch, ref string) string {
	if branch != "" {
		return repo + "@" + branch
	}
	return repo + "@" + ref
}

// FullRef is the ref an entry reads, refs/heads/<branch> for a branch.
func (i *Include) FullRef() string { return fullRef(i.Branch, i.Ref) }

// FullRef is the ref an entry reads, refs/heads/<branch> for a branch.
func (d *Discovery) FullRef() string { return fullRef(d.Branch, d.Ref) }

func fullRef(branch, ref string) string {
	if branch != "" {
		return "refs/heads/" + branch
	}
	return ref
}

func (r *reader) include(n *yaml.Node, i int) *Include {
	inc := &Include{at: fieldPos{}}
	what := fmt.Sprintf("include %d", i+1)
	r.mapping(n, what, inc.at, map[string]func(*yaml.Node){
		"repo":       func(v *yaml.Node) { inc.Repo = r.str(v, what+" repo") },
		"branch":     func(v *yaml.Node) { inc.Branch = r.str(v, what+" branch") },
		"ref":        func(v *yaml.Node) { inc.Ref = r.str(v, what+" ref") },
		"files":      func(v *yaml.Node) { inc.Files, _ = r.strList(v, what+" files") },
		"identities": func(v *yaml.Node) { inc.Identities = r.paths(v, what+" identities") },
		"policy":     func(v *yaml.Node) { inc.Policy = r.policySpec(v, fmt.Sprintf("include[%d].policy", i)) },
	})
	return inc
}

func (r *reader) discovery(n *yaml.Node, i int) *Discovery {
	d := &Discovery{at: fieldPos{}}
	what := fmt.Sprintf("discover %d", i+1)
	r.mapping(n, what, d.at, map[string]func(*yaml.Node){
		"repo":       func(v *yaml.Node) { d.Repo = r.str(v, what+" repo") },
		"branch":     func(v *yaml.Node) { d.Branch = r.str(v, what+" branch") },
		"ref":        func(v *yaml.Node) { d.Ref = r.str(v, what+" ref") },
		"dirs":       func(v *yaml.Node) { d.Dirs = r.str(v, what+" dirs") },
		"stackFiles": func(v *yaml.Node) { d.StackFiles, _ = r.strList(v, what+" stackFiles") },
		"namePrefix": func(v *yaml.Node) { d.NamePrefix = r.str(v, what+" namePrefix") },
		"cluster":    func(v *yaml.Node) { d.Cluster = r.str(v, what+" cluster") },
		"identities": func(v *yaml.Node) { d.Identities = r.paths(v, what+" identities") },
		"policy":     func(v *yaml.Node) { d.Policy = r.policySpec(v, fmt.Sprintf("discover[%d].policy", i)) },
	})
	return d
}

// paths decodes a list of files on the operator's machine.
func (r *reader) paths(n *yaml.Node, what string) []string {
	list, _ := r.strList(n, what)
	out := make([]string, 0, len(list))
	for _, p := range list {
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.dir, p)
		}
		out = append(out, p)
	}
	return out
}

// source is where an environment was declared, when not in the
// configuration file itself.
type source struct {
	// file names the file in problems: "platform@main:envs/dev.yml", or
	// the configuration file for a discovered environment.
	file      string
	include   *Include
	discovery *Discovery
	// dir is a discovered environment's directory.
	dir string
}

// gitEntry checks what include and discover entries share: a known
// repository and a branch or ref.
func (v *validator) gitEntry(c *Config, at fieldPos, what, repo, branch, ref string) {
	if v.required(at, "repo", repo, what) && c.Repos[repo] == nil {
		v.add(at.of("repo"), "%s: unknown repo %q (defined: %s)", what, repo, names(sortedKeys(c.Repos)))
	}
	v.branchOrRef(at, what, branch, ref)
}

func (v *validator) include(c *Config, inc *Include, i int) {
	what := fmt.Sprintf("include %d", i+1)
	if !fieldOK(inc.at, "") {
		return
	}
	v.gitEntry(c, inc.at, what, inc.Repo, inc.Branch, inc.Ref)
	if len(inc.Files) == 0 && fieldOK(inc.at, "files") {
		v.add(inc.at.of("files"), "%s: files is required: paths or patterns (envs/*.yml) in the repository", what)
	}
	for _, f := range inc.Files {
		v.pattern(inc.at, "files", what+" files", f)
	}
	for _, id := range inc.Identities {
		v.file(inc.at, "identities", id, what+" identity")
	}
	v.policySpec(inc.Policy, fmt.Sprintf("include[%d].policy", i))
}

func (v *validator) discovery(c *Config, d *Discovery, i int) {
	what := fmt.Sprintf("discover %d", i+1)
	if !fieldOK(d.at, "") {
		return
	}
	v.gitEntry(c, d.at, what, d.Repo, d.Branch, d.Ref)
	if v.required(d.at, "dirs", d.Dirs, what) {
		v.pattern(d.at, "dirs", what+" dirs", d.Dirs)
	}
	for _, f := range d.StackFiles {
		if f == "" || strings.ContainsAny(f, `/\`) || f == "." || f == ".." {
			v.add(d.at.of("stackFiles"), "%s: stackFiles %q must be a file name, without a directory", what, f)
		}
	}
	if d.NamePrefix != "" && !stackName.MatchString(d.NamePrefix) {
		v.add(d.at.of("namePrefix"), "%s: namePrefix %q must be lowercase letters, digits, - and _, starting with a letter or digit", what, d.NamePrefix)
	}
	if d.Cluster != "" && d.Cluster != LocalCluster && c.Clusters[d.Cluster] == nil {
		v.add(d.at.of("cluster"), "%s: unknown cluster %q (defined: %s)", what, d.Cluster, names(append(sortedKeys(c.Clusters), LocalCluster)))
	}
	for _, id := range d.Identities {
		v.file(d.at, "identities", id, what+" identity")
	}
	v.policySpec(d.Policy, fmt.Sprintf("discover[%d].policy", i))
}

// pattern checks a path or path.Match pattern inside a repository.
func (v *validator) pattern(at fieldPos, key, what, p string) {
	if _, err := path.Match(p, ""); err != nil || !validRepoPath(p) {
		v.add(at.of(key), "%s %q must be a relative path or pattern (path.Match) inside the repository, without ..", what, p)
	}
}
