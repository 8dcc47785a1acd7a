package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

const corpusDir = "testdata/conformance"

// TestConformance deploys every stack file of the corpus with `docker stack
// deploy`, then with Flotilla's rendering as it is and with the whole
// `flotilla deploy` pipeline (see deployModes), and requires the live objects
// to be the same once stack names, IDs, versions, timestamps,
// engine-assigned subnets, io.flotilla.* labels and the version suffix of
// Flotilla's versioned secret and config names are normalised. Deliberate
// differences are listed in docs/conformance-differences.md; there are none
// in this corpus.
func TestConformance(t *testing.T) {
	c := swarmtest.Client(t)
	// The corpus publishes fixed ports: one deployer of it at a time.
	swarmtest.Exclusive(t, "conformance-corpus")
	swarmtest.Images(t)
	labelNode(t, c)

	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), ".override.") {
			cases = append(cases, filepath.Base(f))
		}
	}
	if len(cases) < 15 {
		t.Fatalf("corpus has %d stack files, want at least 15", len(cases))
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(file, ".yml"), func(t *testing.T) {
			t.Parallel()
			stackFiles := []string{file}
			override := strings.TrimSuffix(file, ".yml") + ".override.yml"
			if _, err := os.Stat(filepath.Join(corpusDir, override)); err == nil {
				stackFiles = append(stackFiles, override)
			}
			vars := externals(t, c)

			ref := swarmtest.Stack(t)
			out := swarmtest.DockerStackDeploy(t, corpusDir, ref, vars, stackFiles...)
			want := normalise(t, snapshot(t, c, ref), ref)
			removeStack(t, c, ref)

			// One mode after the other: names the corpus fixes (`name:`)
			// exist once per swarm.
			for _, m := range deployModes {
				// Named like ref: docker orders a service's secrets and
				// configs by name, so the stack name must sort the same
				// against the corpus's fixed names.
				ours := swarmtest.Stack(t)
				t.Run(string(m), func(t *testing.T) {
					t.Cleanup(func() { removeStack(t, c, ours) })
					d := m.deploy(t, c, ours, stackFiles, vars)
					got := normalise(t, snapshot(t, c, ours), ours)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("docker stack deploy (-) and %s (+) differ:\n%s", m, diff)
					}
					warned := map[string]bool{}
					for _, w := range d.Warnings {
						warned[w.Key] = true
					}
					for _, key := range dockerIgnored(out) {
						if !warned[key] {
							t.Errorf("docker ignores %q but Desired.Warnings does not say so", key)
						}
					}
				})
			}
		})
	}
}

// externals creates the external objects the corpus refers to, and names for
// objects the corpus names itself, unique to this test.
func externals(t *testing.T, c *client.Client) map[string]string {
	t.Helper()
	ctx := t.Context()
	var b [4]byte
	rand.Read(b[:])
	id := "ftconf" + hex.EncodeToString(b[:])
	vars := map[string]string{
		"EXT_NET": id + "_extnet", "EXT_SECRET": id + "_extsecret", "EXT_CONFIG": id + "_extconfig",
		"EXT_VOLUME": id + "_extvol", "CUSTOM_NET": id + "_customnet", "CUSTOM_SECRET": id + "_customsecret",
		"CUSTOM_CONFIG": id + "_customconfig", "CUSTOM_VOLUME": id + "_customvol",
		"BACKEND_SUBNET": subnet(b), "GREETING": "hello", "TAG": "v2",
	}
	net, err := c.NetworkCreate(ctx, vars["EXT_NET"], network.CreateOptions{Driver: "overlay", Attachable: true})
	if err != nil {
		t.Fatalf("creating external network: %v", err)
	}
	sec, err := c.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: vars["EXT_SECRET"]}, Data: []byte("external")})
	if err != nil {
		t.Fatalf("creating external secret: %v", err)
	}
	cfg, err := c.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: vars["EXT_CONFIG"]}, Data: []byte("external")})
	if err != nil {
		t.Fatalf("creating external config: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The stacks' cleanups registered later run first, so nothing uses these now.
		for what, rm := range map[string]func() error{
			"network": func() error { return c.NetworkRemove(ctx, net.ID) },
			"secret":  func() error { return c.SecretRemove(ctx, sec.ID) },
			"config":  func() error { return c.ConfigRemove(ctx, cfg.ID) },
			"volume": func() error {
				err := c.VolumeRemove(ctx, vars["EXT_VOLUME"], true)
				if err != nil && strings.Contains(err.Error(), "no such volume") {
					return nil
				}
				return err
			},
		} {
			if err := swarmtest.Poll(ctx, 30*time.Second, func() (bool, string, error) {
				err := rm()
				return err == nil, "removing external " + what + ": " + errString(err), nil
			}); err != nil {
				t.Errorf("%v", err)
			}
		}
	})
	return vars
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// subnet picks a /24 unlikely to collide with the engine's 10.0.0.0/8 pool
// or another parallel test.
func subnet(b [4]byte) string {
	return "172.29." + strconv.Itoa(int(b[0])) + ".0/24"
}

func removeStack(t *testing.T, c *client.Client, name string) {
	t.Helper()
	// Also called from t.Cleanup, when t.Context is already cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := swarmtest.RemoveStack(ctx, c, name); err != nil {
		t.Fatalf("removing stack %s: %v", name, err)
	}
	// RemoveStack finds secrets and configs by name prefix; those the stack
	// file names itself (`name:`) carry only the namespace label.
	byLabel := filters.NewArgs(filters.Arg("label", stack.LabelNamespace+"="+name))
	secrets, err := c.SecretList(ctx, swarm.SecretListOptions{Filters: byLabel})
	if err != nil {
		t.Fatalf("listing secrets: %v", err)
	}
	for _, s := range secrets {
		if err := c.SecretRemove(ctx, s.ID); err != nil {
			t.Fatalf("removing secret %s: %v", s.Spec.Name, err)
		}
	}
	configs, err := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: byLabel})
	if err != nil {
		t.Fatalf("listing configs: %v", err)
	}
	for _, s := range configs {
		if err := c.ConfigRemove(ctx, s.ID); err != nil {
			t.Fatalf("removing config %s: %v", s.Spec.Name, err)
		}
	}
}

// dockerIgnored reads the keys `docker stack deploy` says it ignores:
// "Ignoring unsupported options: build, links" and, after "Ignoring
// deprecated options:", lines "container_name: …". `restart` is listed as
// unsupported although docker turns it into a restart policy, so it is left
// out.
func dockerIgnored(out string) []string {
	var keys []string
	deprecated := false
	for _, line := range strings.Split(out, "\n") {
		if list, ok := strings.CutPrefix(line, "Ignoring unsupported options: "); ok {
			for _, k := range strings.Split(list, ", ") {
				if k != "restart" {
					keys = append(keys, strings.TrimSpace(k))
				}
			}
			continue
		}
		if strings.HasPrefix(line, "Ignoring deprecated options:") {
			deprecated = true
			continue
		}
		if k, _, ok := strings.Cut(line, ": "); deprecated && ok && !strings.Contains(k, " ") {
			keys = append(keys, k)
		}
		if strings.HasPrefix(line, "Creating ") {
			deprecated = false
		}
	}
	return keys
}
