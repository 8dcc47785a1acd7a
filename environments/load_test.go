package environments

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flotilla-gitops/flotilla/stack"
)

var ignorePositions = cmpopts.IgnoreUnexported(Repo{}, Auth{}, Cluster{}, TLS{}, SyncWindow{}, PolicySpec{}, Registry{})

func TestLoadFull(t *testing.T) {
	t.Parallel()
	c, err := Load("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	sec := func(name string) string { return filepath.Join(dir, "secrets", name) }

	if got, want := c.EnvironmentNames(), []string{"dev", "edge", "prod", "tools"}; !cmp.Equal(got, want) {
		t.Errorf("EnvironmentNames() = %v, want %v", got, want)
	}
	if c.CacheDir != filepath.Join(dir, "cache") {
		t.Errorf("CacheDir = %q, want it resolved against the file's directory", c.CacheDir)
	}
	if c.History.Limit != 20 || c.Server.Listen != "127.0.0.1:9090" || len(c.Notifications) != 2 {
		t.Errorf("history/server/notifications not loaded: %+v %+v %d", c.History, c.Server, len(c.Notifications))
	}

	prod, err := c.Environment("prod")
	if err != nil {
		t.Fatal(err)
	}
	want := &Environment{
		Name: "prod",
		Repo: &Repo{Name: "shop", URL: "git@git.example.com:acme/shop-deploy.git",
			Auth: Auth{SSHKeyFile: sec("deploy_key"), KnownHostsFile: sec("known_hosts")}},
		Ref: "refs/heads/prod", Branch: "prod",
		Path:  "deploy/prod",
		Files: []string{"stack.yml"}, EnvFiles: []string{},
		Stack: "shop",
		Cluster: &Cluster{Name: "prod", Host: "tcp://10.0.0.10:2376",
			TLS: &TLS{CA: sec("ca.pem"), Cert: sec("cert.pem"), Key: sec("key.pem")}},
		Identities:       []string{sec("age_prod")},
		Prune:            false,
		OnFailure:        Pause,
		ProgressDeadline: 90 * time.Second,
		Schedule:         "*/5 * * * *",
		SyncWindows: []SyncWindow{
			{Kind: Deny, Schedule: "0 22 * * 5", Duration: 60 * time.Hour},
			{Kind: Allow, Schedule: "@daily", Duration: 2 * time.Hour},
		},
		SelfHeal:     SelfHealWarn,
		ResolveImage: ResolveAlways,
		WatchImages:  true,
		Registries: map[string]*Registry{
			"registry.example.com:5000": {Host: "registry.example.com:5000", Username: "deploy", PasswordFile: sec("password")},
			"ghcr.io":                   {Host: "ghcr.io", Username: "acme-bot", TokenFile: sec("token")},
		},
		Policy: stack.Policy{
			Name:       "environments.prod.policy",
			BindMounts: []string{"/srv/shop", "/var/run/docker.sock"},
			// The operator's own secrets and cache are never a stack's.
			DeniedBindMounts: append(slices.Clone(stack.DefaultDeniedBindMounts), filepath.Join(dir, "cache"), filepath.Join(dir, "secrets")),
			Capabilities:     []string{"NET_BIND_SERVICE"},
			ExternalSecrets:  []string{"shared_*"},
			ExternalConfigs:  []string{},
			ExternalNetworks: []string{"traefik_public"},
			ExternalVolumes:  []string{"shop_data"},
		},
	}
	if d := cmp.Diff(want, prod, ignorePositions); d != "" {
		t.Errorf("Environment(prod) mismatch (-want +got):\n%s", d)
	}

	// dev inherits defaults and deploys to the local engine.
	dev, err := c.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	if !dev.Prune || dev.OnFailure != Rollback || dev.ProgressDeadline != 5*time.Minute || dev.Path != "." ||
		dev.Cluster.Name != LocalCluster || dev.Cluster.Host != "" || dev.SelfHeal != SelfHealHeal ||
		dev.ResolveImage != ResolveChanged || dev.WatchImages {
		t.Errorf("dev did not get its defaults: %+v", dev)
	}
	if got := dev.Variables; !cmp.Equal(got, map[string]string{"REPLICAS": "1", "DEBUG": "true"}) {
		t.Errorf("dev variables = %v", got)
	}
	// dev's policy is defaults', and tools' stack on the same cluster is not its.
	if p := dev.Policy; p.Name != "defaults.policy" || !cmp.Equal(p.ExternalNetworks, []string{"traefik_public"}) ||
		p.ExternalSecrets != nil || !cmp.Equal(p.Stacks, []string{"tools"}) {
		t.Errorf("dev policy = %+v", p)
	}
	if c.Sensitive()[1] != "*PIN*" || c.Server.ReadTokenFile != sec("read_token") || c.Server.TLS.KeyFile != sec("key.pem") ||
		c.Server.UIEnabled() {
		t.Errorf("sensitivePatterns %v, server %+v", c.Sensitive(), c.Server)
	}
	tools, err := c.Environment("tools")
	if err != nil {
		t.Fatal(err)
	}
	if tools.Ref != "refs/tags/v1" || tools.Branch != "" || tools.Schedule != "@every 2m0s" || tools.Interval != 2*time.Minute {
		t.Errorf("tools: ref %q branch %q schedule %q", tools.Ref, tools.Branch, tools.Schedule)
	}
	if tools.ResolveImage != ResolveNever {
		t.Errorf("tools: resolveImage %q", tools.ResolveImage)
	}
	edge, err := c.Environment("edge")
	if err != nil {
		t.Fatal(err)
	}
	if edge.Cluster.Host != "ssh://deploy@10.0.0.20:2222" ||
		edge.Cluster.SSHKeyFile != sec("deploy_key") || edge.Cluster.KnownHostsFile != sec("known_hosts") {
		t.Errorf("edge: cluster %+v", edge.Cluster)
	}
	// The stacks of the local cluster are not in the way on another one.
	if len(edge.Policy.Stacks) != 0 {
		t.Errorf("edge policy stacks = %v, want none: no other environment deploys to cluster edge", edge.Policy.Stacks)
	}
	if _, err := c.Environment("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Environment(nope) error = %v", err)
	}
}

func TestLoadFourMistakes(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/four-mistakes.yml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error = %v, want Problems", err)
	}
	want := []string{
		`testdata/four-mistakes.yml:9:12: environment "dev": stack name "Shop_Dev" must be lowercase`,
		`testdata/four-mistakes.yml:11:11: environment "prod": unknown repo "shopp" (defined: shop)`,
		`testdata/four-mistakes.yml:15:23: environment "prod" progressDeadline: "5 minutes" is not a positive duration`,
		`testdata/four-mistakes.yml:16:5: unknown field "replica" in environment "prod"`,
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i, p := range ps {
		if !strings.HasPrefix(p.Error(), want[i]) {
			t.Errorf("problem %d = %q\nwant prefix %q", i, p.Error(), want[i])
		}
	}
}

func TestSecretsStayInFiles(t *testing.T) {
	t.Parallel()
	c, err := Load("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	env, err := c.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	printed := fmt.Sprintf("%+v %#v %+v %+v", c, c.Repos["tools"], env, c.Server)
	if strings.Contains(printed, "dummy-") {
		t.Fatalf("a secret's content was printed: %s", printed)
	}
	tok, err := c.Repos["tools"].Auth.Token()
	if err != nil {
		t.Fatal(err)
	}
	if string(tok.Bytes()) != "dummy-token" {
		t.Errorf("Token() = %q, want the file's content without the newline", tok.Bytes())
	}
	if s := fmt.Sprint(tok); strings.Contains(s, "dummy") {
		t.Errorf("token printed as %q", s)
	}
	if _, err := c.Repos["shop"].Auth.Token(); err == nil {
		t.Error("Token() without a tokenFile succeeded")
	}
	for host, want := range map[string]string{"ghcr.io": "dummy-token", "registry.example.com:5000": "dummy-password"} {
		reg := c.Registries[host]
		if s := fmt.Sprintf("%+v %#v", reg, reg); strings.Contains(s, "dummy") {
			t.Errorf("registry %s printed its secret: %s", host, s)
		}
		sec, err := reg.Secret()
		if err != nil {
			t.Fatal(err)
		}
		if string(sec.Bytes()) != want {
			t.Errorf("registry %s Secret() = %q, want %q", host, sec.Bytes(), want)
		}
	}
}

// The example's secrets don't exist here; every other line must be valid so
// the documentation stays in step with the code.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	_, err := Load("../examples/flotilla.yml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load(example) = %v, want only missing-file problems", err)
	}
	for _, p := range ps {
		if !strings.HasSuffix(p.Msg, "no such file or directory") {
			t.Errorf("example: %v", p)
		}
	}
}
