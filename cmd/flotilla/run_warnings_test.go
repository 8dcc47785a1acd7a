package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
)

func TestWarnUnkeyed(t *testing.T) {
	cfg := &environments.Config{Environments: map[string]*environments.EnvironmentSpec{
		"dev":  {Name: "dev"},
		"prod": {Name: "prod", Identities: []string{"/run/secrets/age"}},
		"qa":   {Name: "qa"},
	}}
	var buf bytes.Buffer
	t.Setenv(secrets.EnvVersionKeyFile, "")
	warnUnkeyed(slog.New(slog.NewTextHandler(&buf, nil)), cfg)
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "environments=dev,qa") {
		t.Errorf("want one WARN naming dev and qa, got %q", out)
	}
	buf.Reset()
	t.Setenv(secrets.EnvVersionKeyFile, "/run/secrets/version_key")
	warnUnkeyed(slog.New(slog.NewTextHandler(&buf, nil)), cfg)
	if buf.Len() != 0 {
		t.Errorf("with a version key file: %q, want nothing", buf.String())
	}
}
