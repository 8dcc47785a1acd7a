package environments

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// gitBase is a configuration with two repositories and a key file beside it.
func gitBase(t *testing.T, rest string) *Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "age.key"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "flotilla.yml")
	yml := "repos:\n  platform: {url: https://git.example.com/platform.git}\n  shop: {url: https://git.example.com/shop.git}\n" + rest
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}

func TestExpandIncludesEnvironmentsFromGit(t *testing.T) {
	t.Parallel()
	base := gitBase(t, `defaults: {interval: 2m}
include:
  - repo: platform
    branch: main
    files: ["flotilla/*.yml", extra.yml]
    identities: [age.key]
    policy: {externalNetworks: [proxy]}
environments:
  tools: {repo: shop, branch: tools, files: [tools.yml], stack: tools}
`)
	tree := mapFS(map[string]string{
		"flotilla/a.yml": "environments:\n  dev: {repo: shop, branch: dev, files: [stack.yml], stack: shop-dev}\n" +
			"  qa: {files: [qa/stack.yml], stack: qa, interval: 30s}\n",
		"flotilla/empty.yml": "",
		"extra.yml":          "environments:\n  stage: {repo: shop, ref: refs/tags/v2, files: [stack.yml], stack: shop-stage}\n",
		"flotilla/README.md": "not yaml: [",
	})
	c, err := Expand(base, Trees{Include: []fs.FS{tree}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dev", "qa", "stage", "tools"}, c.EnvironmentNames()); d != "" {
		t.Errorf("environments (-want +got):\n%s", d)
	}
	if len(base.Environments) != 1 {
		t.Errorf("Expand changed its base: %v", base.EnvironmentNames())
	}
	key := filepath.Join(filepath.Dir(base.File), "age.key")
	qa, err := c.Environment("qa")
	if err != nil {
		t.Fatal(err)
	}
	// Without a repo, an environment deploys from the one declaring it.
	if qa.Repo.Name != "platform" || qa.Ref != "refs/heads/main" || qa.Interval != 30*time.Second {
		t.Errorf("qa: repo %s ref %s interval %s", qa.Repo.Name, qa.Ref, qa.Interval)
	}
	dev, err := c.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	if dev.Repo.Name != "shop" || dev.Ref != "refs/heads/dev" || dev.Interval != 2*time.Minute ||
		!cmp.Equal(dev.Identities, []string{key}) || dev.Policy.Name != "the policy of include platform@main" ||
		!cmp.Equal(dev.Policy.ExternalNetworks, []string{"proxy"}) {
		t.Errorf("dev: %+v", dev)
	}
	// The include's key file is the operator's secret: no stack bind-mounts it.
	if p := dev.Policy.DeniedBindMounts; p[len(p)-1] != filepath.Dir(key) {
		t.Errorf("denied bind mounts %v lack %s", p, filepath.Dir(key))
	}
	tools, _ := c.Environment("tools")
	if len(tools.Identities) != 0 || tools.Policy.Name == dev.Policy.Name || tools.Policy.ExternalNetworks != nil {
		t.Errorf("tools got the include's identities or policy: %+v", tools)
	}
}

func TestExpandProblems(t *testing.T) {
	t.Parallel()
	base := gitBase(t, `include:
  - repo: platform
    branch: main
    files: [envs/*.yml, missing.yml]
environments:
  dev: {repo: shop, branch: dev, files: [stack.yml], stack: shop-dev}
`)
	tree := mapFS(map[string]string{
		"envs/a.yml": `environments:
  dev: {repo: shop, branch: x, files: [s.yml], stack: other}
  keys:
    repo: shop
    branch: keys
    files: [s.yml]
    stack: keys
    identities: [/run/secrets/age_prod]
    policy: {privileged: true}
  bad: {repo: nope, branch: b, files: [../s.yml], stack: Bad}
  twin: {repo: shop, branch: t, files: [s.yml], stack: shop-dev}
`,
		"envs/b.yml": "environments:\n  keys: {repo: shop, branch: k2, files: [s.yml], stack: k2}\nrepos: {}\n",
		"envs/c.yml": "environments: [\n",
	})
	_, err := Expand(base, Trees{Include: []fs.FS{tree}})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Expand() = %v, want Problems", err)
	}
	type problem struct {
		File string
		Line int
		Msg  string
	}
	want := []problem{
		{base.File, 7, "include platform@main: missing.yml is not in the repository"},
		// Problems in included files name them and their lines.
		{"platform@main:envs/a.yml", 2, `environment "dev" is already defined in ` + base.File + ":9"},
		{"platform@main:envs/a.yml", 8, `environment "keys": identities can't be given in Git`},
		{"platform@main:envs/a.yml", 9, `environment "keys": policy can't be given in Git`},
		{"platform@main:envs/a.yml", 10, `environment "bad": unknown repo "nope"`},
		{"platform@main:envs/a.yml", 10, `environment "bad": files "../s.yml"`},
		{"platform@main:envs/a.yml", 10, `environment "bad": stack name "Bad"`},
		{"platform@main:envs/a.yml", 11, `environment "twin": stack "shop-dev" on cluster "local" is already deployed by environment "dev"`},
		{"platform@main:envs/b.yml", 2, `environment "keys" is already defined in platform@main:envs/a.yml:3`},
		{"platform@main:envs/b.yml", 3, `unknown field "repos" in an included file`},
		{"platform@main:envs/c.yml", 1, "did not find expected node content"},
	}
	var got []problem
	for _, p := range ps {
		got = append(got, problem{p.File, p.Pos.Line, p.Msg})
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if g := got[i]; g.File != w.File || g.Line != w.Line || !strings.Contains(g.Msg, w.Msg) {
			t.Errorf("problem %d = %s:%d: %s\nwant %s:%d: …%s…", i, g.File, g.Line, g.Msg, w.File, w.Line, w.Msg)
		}
	}
}

func TestDiscoverStacks(t *testing.T) {
	t.Parallel()
	tree := mapFS(map[string]string{
		"stacks/shop/stack.yml":          "services: {}",
		"stacks/shop/docker-compose.yml": "services: {}", // stack.yml comes first
		"stacks/blog/docker-compose.yml": "services: {}",
		"stacks/docs/README.md":          "no stack here",
		"stacks/notes.txt":               "a file, not a directory",
		"elsewhere/x/stack.yml":          "services: {}",
	})
	found, err := DiscoverStacks(tree, "stacks/*", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Found{{Dir: "stacks/blog", File: "docker-compose.yml"}, {Dir: "stacks/shop", File: "stack.yml"}}
	if d := cmp.Diff(want, found); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	found, err = DiscoverStacks(tree, "stacks/*", []string{"docker-compose.yml"})
	if err != nil || len(found) != 2 || found[1].File != "docker-compose.yml" {
		t.Errorf("with stackFiles: %v, %v", found, err)
	}
	if _, err := DiscoverStacks(tree, "stacks/[", nil); err == nil {
		t.Error("a bad pattern is accepted")
	}
}

func TestExpandDiscovers(t *testing.T) {
	t.Parallel()
	base := gitBase(t, `discover:
  - repo: shop
    branch: main
    dirs: stacks/*
    namePrefix: apps-
    identities: [age.key]
environments:
  apps-blog: {repo: shop, branch: blog, files: [stack.yml], stack: blog}
`)
	tree := mapFS(map[string]string{
		"stacks/shop/stack.yml":      "services: {}",
		"stacks/Über App/stack.yml":  "services: {}",
		"stacks/blog/compose.yaml":   "services: {}",
		"stacks/nothing/config.json": "{}",
	})
	_, err := Expand(base, Trees{Discover: []fs.FS{tree}})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Pos.Line != 7 ||
		!strings.Contains(ps[0].Msg, `directory stacks/blog makes environment "apps-blog", which is already defined in `+base.File+":11") {
		t.Fatalf("Expand() = %v, want the name taken by apps-blog, at the discover entry", err)
	}

	delete(tree, "stacks/blog/compose.yaml")
	c, err := Expand(base, Trees{Discover: []fs.FS{tree}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"apps-ber-app", "apps-blog", "apps-shop"}, c.EnvironmentNames()); d != "" {
		t.Errorf("environments (-want +got):\n%s", d)
	}
	shop, err := c.Environment("apps-shop")
	if err != nil {
		t.Fatal(err)
	}
	if shop.Repo.Name != "shop" || shop.Ref != "refs/heads/main" || shop.Path != "stacks/shop" ||
		!cmp.Equal(shop.Files, []string{"stack.yml"}) || shop.Stack != "apps-shop" || shop.Cluster.Name != LocalCluster ||
		len(shop.Identities) != 1 || shop.Schedule != DefaultSchedule || shop.Prune {
		t.Errorf("apps-shop: %+v", shop)
	}
}

func TestIncludeAndDiscoverEntries(t *testing.T) {
	t.Parallel()
	_, err := loadString(t, base+`include:
  - {repo: nope, branch: main, ref: refs/heads/main}
  - {repo: shop, branch: main, files: ["../x.yml", "a/[.yml"]}
discover:
  - {repo: shop, ref: main, dirs: "stacks/*", namePrefix: Apps, cluster: far, stackFiles: [a/b.yml]}
  - {repo: shop, branch: main}
`)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load() = %v, want Problems", err)
	}
	want := []wantProblem{
		{4, `include 1: unknown repo "nope"`},
		{4, "include 1: give branch or ref, not both"},
		{4, "include 1: files is required"},
		{5, `include 2 files "../x.yml"`},
		{5, `include 2 files "a/[.yml"`},
		{7, `discover 1: ref "main" must be a full ref name`},
		{7, `discover 1: namePrefix "Apps"`},
		{7, `discover 1: unknown cluster "far"`},
		{7, `discover 1: stackFiles "a/b.yml"`},
		{8, "discover 2: dirs is required"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for _, w := range want {
		if !hasProblem(ps, w) {
			t.Errorf("no problem on line %d containing %q; got:\n%v", w.line, w.msg, err)
		}
	}
	// Without environments of its own, a configuration may take them all from Git.
	if _, err := loadString(t, base+"include:\n  - {repo: shop, branch: main, files: [envs.yml]}\n"); err != nil {
		t.Errorf("a configuration with only include: %v", err)
	}
}
