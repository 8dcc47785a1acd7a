package stack_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

var own = map[string]string{stack.LabelNamespace: "s", stack.LabelManaged: "true", stack.LabelStack: "s"}

func withOwn(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range own {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// ignoreData compares secret values by content, which their String hides.
var ignoreData = cmp.Comparer(func(a, b secrets.Value) bool { return string(a.Bytes()) == string(b.Bytes()) })

func TestNetworks(t *testing.T) {
	d := render(t, `services:
  a:
    image: img
    networks: [back, ext, named]
  b:
    image: img
networks:
  back:
    driver_opts: {encrypted: "true"}
    internal: true
    attachable: true
    labels: {tier: back}
    ipam:
      driver: default
      config: [{subnet: 10.9.0.0/24}]
  ext:
    external: true
    name: shared
  named:
    name: fixed
    driver: overlay
  unused:
`, nil, stack.Options{})
	want := []stack.Network{
		{Key: "named", Name: "fixed", Create: network.CreateOptions{Driver: "overlay", Labels: own}},
		{Key: "back", Name: "s_back", Create: network.CreateOptions{Driver: "overlay", Internal: true, Attachable: true,
			Options: map[string]string{"encrypted": "true"}, Labels: withOwn(map[string]string{"tier": "back"}),
			IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: "10.9.0.0/24"}}}}},
		{Key: "default", Name: "s_default", Create: network.CreateOptions{Driver: "overlay", Labels: own}},
		{Key: "ext", Name: "shared", External: true},
	}
	if diff := cmp.Diff(want, d.Networks, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}
}

func TestSecretsConfigsVolumes(t *testing.T) {
	d := render(t, `services:
  a:
    image: img
secrets:
  pw:
    file: files/pw.txt
    labels: {k: v}
  named:
    file: files/pw.txt
    name: custom
    template_driver: golang
  ext:
    external: true
  driven:
    driver: vault
    driver_opts: {path: x}
configs:
  conf:
    file: ./files/app.conf
  extc:
    external: true
    name: shared-conf
volumes:
  data:
    driver: local
    labels: {backup: "yes"}
  extv:
    external: true
`, map[string]string{"files/pw.txt": "hunter2", "files/app.conf": "x=1"}, stack.Options{})
	wantSecrets := []stack.Secret{
		{Key: "named", Name: "custom", Source: stack.Source{Kind: stack.SourceFile, Path: "files/pw.txt"}, Labels: own,
			TemplateDriver: "golang", Data: secrets.NewValue([]byte("hunter2"))},
		{Key: "ext", Name: "ext", Source: stack.Source{Kind: stack.SourceExternal}},
		{Key: "driven", Name: "s_driven", Source: stack.Source{Kind: stack.SourceDriver}, Labels: own, Driver: "vault",
			DriverOpts: map[string]string{"path": "x"}, Data: secrets.NewValue(nil)},
		{Key: "pw", Name: "s_pw", Source: stack.Source{Kind: stack.SourceFile, Path: "files/pw.txt"},
			Labels: withOwn(map[string]string{"k": "v"}), Data: secrets.NewValue([]byte("hunter2"))},
	}
	if diff := cmp.Diff(wantSecrets, d.Secrets, cmpopts.EquateEmpty(), ignoreData); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	wantConfigs := []stack.Config{
		{Key: "conf", Name: "s_conf", Source: stack.Source{Kind: stack.SourceFile, Path: "files/app.conf"}, Labels: own,
			Data: secrets.NewValue([]byte("x=1"))},
		{Key: "extc", Name: "shared-conf", Source: stack.Source{Kind: stack.SourceExternal}},
	}
	if diff := cmp.Diff(wantConfigs, d.Configs, cmpopts.EquateEmpty(), ignoreData); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
	wantVolumes := []stack.Volume{
		{Key: "extv", Name: "extv", External: true},
		{Key: "data", Name: "s_data", Driver: "local", Labels: map[string]string{"backup": "yes", stack.LabelNamespace: "s"}},
	}
	if diff := cmp.Diff(wantVolumes, d.Volumes, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
}

func TestIgnoredKeysAreWarnings(t *testing.T) {
	d := render(t, `services:
  a:
    image: img
    build: .
    depends_on: [b]
    container_name: fixed
    networks:
      default:
        ipv4_address: 10.0.0.5
  b:
    image: img
    privileged: true
    restart: always
    deploy:
      restart_policy: {condition: none}
`, nil, stack.Options{})
	var got []string
	for _, w := range d.Warnings {
		got = append(got, w.Service+"."+w.Key)
	}
	want := []string{"a.build", "a.container_name", "a.depends_on", "a.networks.ipv4_address", "b.privileged", "b.restart"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestOverlayFiles merges files in order, like -c base.yml -c prod.yml, with
// paths relative to the first file's directory and variables from env files.
func TestOverlayFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"deploy/base.yml": {Data: []byte("services:\n  api:\n    image: api:${TAG}\n    environment: {A: base, B: base}\n    secrets: [pw]\nsecrets:\n  pw:\n    file: pw.txt\n")},
		"deploy/prod.yml": {Data: []byte("services:\n  api:\n    environment: {B: prod}\n    deploy:\n      replicas: ${REPLICAS}\n")},
		"deploy/pw.txt":   {Data: []byte("pw")},
		"prod.env":        {Data: []byte("TAG=from-file\nREPLICAS=\"3\"\n")},
	}
	d, err := stack.Load(t.Context(), fsys, stack.Options{
		Files: []string{"deploy/base.yml", "deploy/prod.yml"}, Stack: "shop",
		EnvFiles: []string{"prod.env"}, Variables: map[string]string{"TAG": "v2"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	spec := d.Services[0].Spec
	got := []any{spec.TaskTemplate.ContainerSpec.Image, *spec.Mode.Replicated.Replicas, spec.TaskTemplate.ContainerSpec.Env, d.Secrets[0].Source.Path}
	want := []any{"api:v2", uint64(3), []string{"A=base", "B=prod"}, "deploy/pw.txt"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestEnvironIsTheLowestPrecedence: the CLI's process environment gives
// variables as with docker; env files and Variables win over it, and it
// fills `environment: [KEY]` entries as docker's process environment does.
func TestEnvironIsTheLowestPrecedence(t *testing.T) {
	fsys := fstest.MapFS{
		"stack.yml": {Data: []byte("services:\n  api:\n    image: api:${TAG}\n    environment:\n      - FROM_ENV\n      - LEVEL=${LEVEL}\n      - OWNER=${OWNER}\n")},
		"prod.env":  {Data: []byte("LEVEL=from-file\n")},
	}
	d, err := stack.Load(t.Context(), fsys, stack.Options{
		Files: []string{"stack.yml"}, Stack: "shop", EnvFiles: []string{"prod.env"},
		Environ:   map[string]string{"TAG": "env", "LEVEL": "env", "OWNER": "env", "FROM_ENV": "x"},
		Variables: map[string]string{"OWNER": "var"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	spec := d.Services[0].Spec
	got := []any{spec.TaskTemplate.ContainerSpec.Image, spec.TaskTemplate.ContainerSpec.Env}
	want := []any{"api:env", []string{"FROM_ENV=x", "LEVEL=from-file", "OWNER=var"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without Environ (the operator), an unset variable is an error.
	_, err = stack.Load(t.Context(), fsys, stack.Options{Files: []string{"stack.yml"}, Stack: "shop"})
	if err == nil || !strings.Contains(err.Error(), "variable TAG is not set") {
		t.Errorf("Load without the variable = %v, want TAG not set", err)
	}
}
