package operator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"go.yaml.in/yaml/v3"
)

// operatorConfig is flotilla.yml from this folder, pointed at the test's
// repository and stack: everything else (cache, secret paths, server) is
// what a user deploys.
func operatorConfig(t *testing.T, gitURL, stackName string, port int) string {
	t.Helper()
	b, err := os.ReadFile("flotilla.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Rest         map[string]any            `yaml:",inline"`
		Repos        map[string]map[string]any `yaml:"repos"`
		Server       map[string]any            `yaml:"server"`
		Environments map[string]map[string]any `yaml:"environments"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("flotilla.yml: %v", err)
	}
	repo, dev := cfg.Repos["deploy"], cfg.Environments["dev"]
	if repo == nil || dev == nil {
		t.Fatal("flotilla.yml: the test wants a repo named deploy and an environment named dev")
	}
	repo["url"] = gitURL
	// The test runs the operator on the host's network: it listens on a
	// loopback port of its own, and reaches the test's Git server on loopback.
	cfg.Server["listen"] = fmt.Sprintf("127.0.0.1:%d", port)
	dev["stack"] = stackName
	dev["schedule"] = "@every 1h"
	dev["progressDeadline"] = "1m"
	cfg.Environments = map[string]map[string]any{"dev": dev}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// hostNetwork is the test's overlay on stack.yml: the operator joins the
// host's network, so everything it talks to and everything that talks to it
// stays on loopback, and its healthcheck asks the port the test gave it.
func hostNetwork(port int) string {
	return fmt.Sprintf(`services:
  flotilla:
    networks: [hostnet]
    ports: !reset []
    healthcheck:
      test: ["CMD", "/flotilla", "healthcheck", "--url", "http://127.0.0.1:%d/healthz"]
networks:
  hostnet:
    external: true
    name: host
`, port)
}

// showLogsOnFailure prints the last lines of the service's logs if the test
// fails: what the operator said is the first thing to read then.
func showLogsOnFailure(t *testing.T, api client.APIClient, service string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc, err := api.ServiceLogs(ctx, service, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "100"})
		if err != nil {
			t.Logf("logs of %s: %v", service, err)
			return
		}
		defer rc.Close()
		var buf bytes.Buffer
		stdcopy.StdCopy(&buf, &buf, rc)
		t.Logf("logs of %s:\n%s", service, buf.String())
	})
}

func encrypt(t *testing.T, id *age.X25519Identity, plaintext string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plaintext)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func random(t *testing.T) string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// secretFiles are the files stack.yml makes Docker secrets of, by name.
type secretFiles map[string]string

func (s secretFiles) write(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range s {
		writeFile(t, filepath.Join(dir, name), content+"\n")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// call makes one HTTP request and returns the status code (0 when nothing
// answered) and the body or the error.
func call(t *testing.T, method, url string, h http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
