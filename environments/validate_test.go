package environments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a valid head of a configuration the cases below append to.
const base = `repos:
  shop: {url: https://git.example.com/shop.git}
`

type wantProblem struct {
	line int
	msg  string
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{"syntax error", "repos:\n  shop: [\n", []wantProblem{{2, "did not find expected node content"}}},
		{"empty file", "", []wantProblem{{0, "the configuration is empty"}}},
		{"no environments", base, []wantProblem{{1, "no environments defined"}}},
		{"unknown top-level key", base + "enviroments: {}\n", []wantProblem{{3, `unknown field "enviroments"`}, {1, "no environments defined"}}},
		{"missing required fields", base + "environments:\n  dev: {cluster: local}\n", []wantProblem{
			{4, `"dev": repo is required`}, {4, "branch (or ref) is required"}, {4, "files is required"}, {4, "stack is required"}}},
		{"entries that are not mappings", "repos:\n  shop: https://h/shop.git\nenvironments:\n  dev: shop\n",
			[]wantProblem{{2, `repo "shop" must be a mapping`}, {4, `environment "dev" must be a mapping`}}},
		{"branch and ref", base + "environments:\n  dev: {repo: shop, branch: dev, ref: refs/heads/dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{4, "give branch or ref, not both"}}},
		{"bad ref names", base + "environments:\n  a: {repo: shop, branch: 'no space', files: [s.yml], stack: a}\n  b: {repo: shop, ref: main, files: [s.yml], stack: b}\n",
			[]wantProblem{{4, `branch "no space"`}, {5, `ref "main" must be a full ref name`}}},
		{"unknown cluster", base + "environments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev, cluster: prod}\n",
			[]wantProblem{{4, `unknown cluster "prod" (defined: local)`}}},
		{"duplicate stack on one cluster", base + "environments:\n  a: {repo: shop, branch: a, files: [s.yml], stack: shop}\n  b: {repo: shop, branch: b, files: [s.yml], stack: shop}\n",
			[]wantProblem{{5, `stack "shop" on cluster "local" is already deployed by environment "a"`}}},
		{"same stack on two clusters is fine", base + "clusters:\n  two: {host: tcp://10.0.0.2:2376, insecure: true}\nenvironments:\n  a: {repo: shop, branch: a, files: [s.yml], stack: shop}\n  b: {repo: shop, branch: b, files: [s.yml], stack: shop, cluster: two}\n", nil},
		{"paths leaving the repo", base + "environments:\n  dev:\n    repo: shop\n    branch: dev\n    path: /abs\n    files: [../x.yml, ok.yml]\n    envFiles: [a/../../b.env]\n    stack: dev\n",
			[]wantProblem{{7, `path "/abs"`}, {8, `files "../x.yml"`}, {9, `envFiles "a/../../b.env"`}}},
		{"wrong types reported once", base + "environments:\n  dev: {repo: shop, branch: dev, files: s.yml, stack: dev, prune: yes please, variables: [A]}\n",
			[]wantProblem{{4, "files must be a list"}, {4, "prune must be true or false"}, {4, "variables must be a mapping"}}},
		{"missing identity file", base + "environments:\n  dev:\n    repo: shop\n    branch: dev\n    files: [s.yml]\n    stack: dev\n    identities:\n      - key\n      - missing.key\n",
			[]wantProblem{{11, "missing.key: no such file or directory"}}},
		{"bad urls", "repos:\n  a: {url: 'not a url'}\n  b: {url: 'https://user:secret@git.example.com/b.git'}\n  c: {url: 'ftp://x/y'}\n  d: {url: 'git@host:d.git'}\nenvironments:\n  dev: {repo: a, branch: dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{2, "is not a URL"}, {3, "put credentials in auth"}, {4, `unsupported scheme "ftp"`}, {5, "needs auth.sshKeyFile and auth.knownHostsFile"}}},
		{"auth mismatches", "repos:\n  a: {url: 'https://h/a.git', auth: {sshKeyFile: key, knownHostsFile: key}}\n  b: {url: 'https://h/b.git', auth: {passwordFile: key}}\n  c: {url: 'https://h/c.git', auth: {tokenFile: nope}}\nenvironments:\n  dev: {repo: a, branch: dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{2, "only apply to SSH URLs"}, {3, "needs auth.username"}, {4, "tokenFile "}}},
		{"policies and schedules", base + "defaults: {onFailure: retry}\nenvironments:\n  dev:\n    repo: shop\n    branch: dev\n    files: [s.yml]\n    stack: dev\n    selfHeal: maybe\n    schedule: every minute\n    syncWindows:\n      - {kind: open, schedule: '0 25 * * *'}\n",
			[]wantProblem{{3, `onFailure "retry"`}, {10, `selfHeal "maybe"`}, {11, `schedule "every minute"`}, {13, `kind "open"`}, {13, `schedule "0 25 * * *"`}, {13, "duration is required"}}},
		{"server and notifications", base + "environments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\nserver:\n  listen: localhost\n  webhooks:\n    github: {}\n    bitbucket: {secretFile: key}\nnotifications:\n  - {type: email, url: 'ftp://x', environments: [qa], events: [exploded]}\nhistory: {limit: 0}\n",
			[]wantProblem{{6, `listen "localhost"`}, {8, "secretFile is required"}, {9, `unknown field "bitbucket"`}, {11, `type "email"`}, {11, "url must be an http"}, {11, `unknown environment "qa"`}, {11, `unknown event "exploded"`}, {12, "history.limit must be at least 1"}}},
		{"registries", base + "registries:\n  https://ghcr.io: {username: a, tokenFile: key}\n  index.docker.io: {username: a, passwordFile: key}\n  docker.io: {username: b, passwordFile: key}\n  reg.example.com: {passwordFile: key, tokenFile: key}\n  r2.example.com: {username: c}\n  r3.example.com: {username: c, tokenFile: missing}\nenvironments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{4, "give the registry as image references name it"}, {5, `registry "index.docker.io": the same registry as "docker.io"`},
				{7, `registry "reg.example.com": username is required`}, {7, "give passwordFile or tokenFile, not both"},
				{8, "passwordFile (or tokenFile) is required"}, {9, "missing: no such file or directory"}}},
		{"resolveImage and watchImages", base + "defaults: {resolveImage: changed}\nenvironments:\n  a: {repo: shop, branch: a, files: [s.yml], stack: a, watchImages: true}\n  b: {repo: shop, branch: b, files: [s.yml], stack: b, resolveImage: sometimes}\n  c: {repo: shop, branch: c, files: [s.yml], stack: c, resolveImage: always, watchImages: true}\n  d: {repo: shop, branch: d, files: [s.yml], stack: d, watchImages: maybe}\n",
			[]wantProblem{{5, "watchImages needs resolveImage: always, not changed"}, {6, `resolveImage "sometimes" must be always, changed or never`}, {8, "watchImages must be true or false"}}},
		{"watchImages from defaults", base + "defaults: {watchImages: true}\nenvironments:\n  a: {repo: shop, branch: a, files: [s.yml], stack: a, resolveImage: never}\n  b: {repo: shop, branch: b, files: [s.yml], stack: b}\n",
			[]wantProblem{{5, "watchImages needs resolveImage: always, not never"}}},
		{"ssh cluster keys", base + "clusters:\n  a: {host: 'tcp://h:2376', insecure: true, sshKeyFile: key}\n  b: {host: 'ssh://me@h', knownHostsFile: nope}\nenvironments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{4, "only apply to an ssh:// host"}, {5, "nope: no such file or directory"}}},
		{"cluster tls", base + "clusters:\n  a: {host: 'unix:///var/run/docker.sock', tls: {ca: key}}\n  b: {host: 'tcp://h:2376', tls: {cert: key}}\n  c: {host: 'h:2376'}\nenvironments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\n",
			[]wantProblem{{4, "tls only applies to a tcp:// host"}, {5, "needs both cert and key"}, {6, "must be a Docker host"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "key"), []byte("k"), 0o600); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "flotilla.yml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(file)
			if tt.want == nil {
				if err != nil || c == nil {
					t.Fatalf("Load() = %v, want no error", err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load() error = %v, want Problems", err)
			}
			if len(ps) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !hasProblem(ps, w) {
					t.Errorf("no problem on line %d containing %q; got:\n%v", w.line, w.msg, err)
				}
			}
			for _, p := range ps {
				if p.File != file {
					t.Errorf("problem %q names file %q, want %q", p.Msg, p.File, file)
				}
				if strings.Contains(p.Msg, "secret@") {
					t.Errorf("problem %q repeats a credential", p.Msg)
				}
			}
		})
	}
}

func hasProblem(ps Problems, w wantProblem) bool {
	for _, p := range ps {
		if p.Pos.Line == w.line && strings.Contains(p.Msg, w.msg) {
			return true
		}
	}
	return false
}

// A Config built in code (no file, no positions) validates too.
func TestValidateInCode(t *testing.T) {
	t.Parallel()
	c := &Config{
		Repos: map[string]*Repo{"shop": {Name: "shop", URL: "https://git.example.com/shop.git"}},
		Environments: map[string]*EnvironmentSpec{
			"dev": {Name: "dev", Repo: "shop", Branch: "dev", Files: []string{"stack.yml"}, Stack: "shop-dev"},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	e, err := c.Environment("dev")
	if err != nil || e.Ref != "refs/heads/dev" || e.Path != "." || e.Prune != DefaultPrune || e.Cluster.Name != LocalCluster {
		t.Fatalf("Environment(dev) = %+v, %v", e, err)
	}
	c.Environments["dev"].Stack = "Shop"
	c.Environments["dev"].Cluster = "nowhere"
	err = c.Validate()
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 || ps[0].Pos != (Pos{}) {
		t.Fatalf("Validate() = %v, want 2 problems without positions", err)
	}
	if got := ps[0].Error(); strings.Contains(got, ":0:") {
		t.Errorf("problem without a position prints one: %q", got)
	}
}
