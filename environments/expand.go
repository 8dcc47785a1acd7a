package environments

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Trees are the repository trees an operator read for a configuration's
// include: and discover: entries, in their order: each at the commit its
// branch or ref pointed to.
type Trees struct {
	Include  []fs.FS
	Discover []fs.FS
}

// MaxIncludedFile caps a file of environments read from Git.
const MaxIncludedFile = 1 << 20

// Expand returns a copy of base with the environments its include: and
// discover: entries declare in trees added, validated as one
// configuration. Its error is Problems: a mistake in an included file is
// reported with that file ("platform@main:envs/dev.yml") and its line, one
// in a discovered environment at its discover: entry. base is not changed:
// an operator keeps it, and its last good expansion, when a commit to the
// bootstrap repository is refused.
func Expand(base *Config, trees Trees) (*Config, error) {
	if len(trees.Include) != len(base.Includes) || len(trees.Discover) != len(base.Discover) {
		return nil, fmt.Errorf("expanding %s: %d include and %d discover trees for %d and %d entries",
			base.File, len(trees.Include), len(trees.Discover), len(base.Includes), len(base.Discover))
	}
	c := *base
	c.Environments = maps.Clone(base.Environments)
	if c.Environments == nil {
		c.Environments = map[string]*EnvironmentSpec{}
	}
	// declared says where each environment came from, for a clear
	// "defined twice".
	declared := map[string]string{}
	for name, s := range base.Environments {
		declared[name] = fmt.Sprintf("%s:%d", base.File, s.at.of("name").Line)
	}
	var all Problems
	for i, inc := range base.Includes {
		all = append(all, c.include(inc, trees.Include[i], declared)...)
	}
	for i, d := range base.Discover {
		all = append(all, c.discover(d, trees.Discover[i], declared)...)
	}
	if len(all) > 0 {
		// Also validate what was read: every mistake at once.
		var ps Problems
		if errors.As(c.Validate(), &ps) {
			all = append(all, ps...)
		}
		return nil, (&problems{file: base.File, list: all}).err()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// include reads the files of inc in fsys and adds their environments.
func (c *Config) include(inc *Include, fsys fs.FS, declared map[string]string) Problems {
	entry := &problems{file: c.File}
	what := "include " + inc.Where()
	var files []string
	for _, pattern := range inc.Files {
		matches, err := fs.Glob(fsys, pattern)
		if err != nil {
			entry.add(inc.at.of("files"), "%s: files %q: %v", what, pattern, err)
			continue
		}
		// A pattern may match nothing (every environment removed); a path
		// must be there.
		if len(matches) == 0 && !hasMeta(pattern) {
			entry.add(inc.at.of("files"), "%s: %s is not in the repository", what, pattern)
		}
		for _, m := range matches {
			if !slices.Contains(files, m) {
				files = append(files, m)
			}
		}
	}
	slices.Sort(files)
	list := entry.list
	for _, f := range files {
		list = append(list, c.includeFile(inc, fsys, f, declared)...)
	}
	return list
}

func hasMeta(pattern string) bool { return strings.ContainsAny(pattern, `*?[\`) }

// includeFile decodes one file of environments, as the configuration's
// own environments: are decoded, and adds them.
func (c *Config) includeFile(inc *Include, fsys fs.FS, name string, declared map[string]string) Problems {
	display := inc.Where() + ":" + name
	d := &decoder{problems: &problems{file: display}}
	data, err := readIncluded(fsys, name)
	if err != nil {
		d.add(Pos{}, "%v", err)
		return d.list
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.syntax(err)
		return d.list
	}
	if len(doc.Content) == 0 {
		return nil // an empty file declares nothing
	}
	r := &reader{decoder: d, dir: "/"} // no path in an included file is on the operator's machine
	specs := map[string]*EnvironmentSpec{}
	r.mapping(doc.Content[0], "an included file (which holds environments: only)", nil, map[string]func(*yaml.Node){
		"environments": func(v *yaml.Node) {
			r.named(v, "environment", func(name string, k, v *yaml.Node) {
				s := r.environment(name, v)
				s.at["name"] = posOf(k)
				specs[name] = s
			})
		},
	})
	for _, name := range sortedKeys(specs) {
		s := specs[name]
		// A file in Git can't name the operator's keys, nor loosen its policy.
		for _, key := range []string{"identities", "policy"} {
			if _, written := s.at[key]; written {
				d.add(s.at.of(key), "environment %q: %s can't be given in Git: an included environment gets its include's (in %s)", name, key, c.File)
			}
		}
		if other, dup := declared[name]; dup {
			d.add(s.at.of("name"), "environment %q is already defined in %s", name, other)
			continue
		}
		declared[name] = fmt.Sprintf("%s:%d", display, s.at.of("name").Line)
		// Without a repository, an environment deploys from the one that
		// declares it, at the same ref unless it says another.
		if s.Repo == "" {
			s.Repo = inc.Repo
			if s.Branch == "" && s.Ref == "" {
				s.Branch, s.Ref = inc.Branch, inc.Ref
			}
		}
		s.Identities = slices.Clone(inc.Identities)
		s.Policy = inc.Policy
		s.source = &source{file: display, include: inc}
		c.Environments[name] = s
	}
	return d.list
}

func readIncluded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxIncludedFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if len(data) > MaxIncludedFile {
		return nil, fmt.Errorf("over %d bytes: not a file of environments", MaxIncludedFile)
	}
	return data, nil
}

// discover adds an environment for every directory d finds in fsys.
func (c *Config) discover(d *Discovery, fsys fs.FS, declared map[string]string) Problems {
	ps := &problems{file: c.File}
	at := d.at.of("dirs")
	found, err := DiscoverStacks(fsys, d.Dirs, d.StackFiles)
	if err != nil {
		ps.add(at, "discover %s: %v", d.Where(), err)
		return ps.list
	}
	for _, f := range found {
		name, ok := discoveredName(d.NamePrefix, f.Dir)
		if !ok {
			ps.add(at, "discover %s: directory %s gives no stack name (lowercase letters, digits, - and _)", d.Where(), f.Dir)
			continue
		}
		if other, dup := declared[name]; dup {
			ps.add(at, "discover %s: directory %s makes environment %q, which is already defined in %s", d.Where(), f.Dir, name, other)
			continue
		}
		declared[name] = fmt.Sprintf("%s:%d (directory %s of %s)", c.File, at.Line, f.Dir, d.Where())
		c.Environments[name] = &EnvironmentSpec{
			Name: name, Repo: d.Repo, Branch: d.Branch, Ref: d.Ref,
			Path: f.Dir, Files: []string{f.File}, Stack: name, Cluster: d.Cluster,
			Identities: slices.Clone(d.Identities), Policy: d.Policy,
			// Its problems point at the discover: entry that made it.
			at:     fieldPos{"": at, "name": at},
			source: &source{file: c.File, discovery: d, dir: f.Dir},
		}
	}
	return ps.list
}

// Found is a directory holding a stack file.
type Found struct {
	// Dir is the directory, slash-separated from the repository's root.
	Dir string
	// File is the stack file's name in it.
	File string
}

// DiscoverStacks lists the directories of fsys matching the pattern dirs
// (path.Match, as stacks/*) that hold one of the stack files named (in
// order; nil is DefaultStackFiles), sorted by directory. A directory
// without one is not an environment, and not an error.
func DiscoverStacks(fsys fs.FS, dirs string, stackFiles []string) ([]Found, error) {
	if stackFiles == nil {
		stackFiles = DefaultStackFiles
	}
	matches, err := fs.Glob(fsys, dirs)
	if err != nil {
		return nil, fmt.Errorf("dirs %q: %w", dirs, err)
	}
	var out []Found
	for _, dir := range matches {
		fi, err := fs.Stat(fsys, dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		for _, name := range stackFiles {
			if fi, err := fs.Stat(fsys, path.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
				out = append(out, Found{Dir: dir, File: name})
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b Found) int { return strings.Compare(a.Dir, b.Dir) })
	return out, nil
}

// discoveredName is prefix and the directory's last element, lowercased,
// with anything a stack name can't hold made a '-'.
func discoveredName(prefix, dir string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(path.Base(dir)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := prefix + strings.Trim(b.String(), "-_")
	return name, stackName.MatchString(name)
}
