package diff_test

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

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// corpusDir is the stack package's conformance corpus: a stack file for every
// key `docker stack deploy` supports.
const corpusDir = "../stack/testdata/conformance"

// TestNoNoiseAfterDockerDeploy deploys every stack file of the corpus with
// `docker stack deploy`, then diffs the same file: the plan may only add
// Flotilla's ownership labels. After applying that plan, nothing is left.
func TestNoNoiseAfterDockerDeploy(t *testing.T) {
	c := swarmtest.Client(t)
	// The corpus publishes fixed ports: one deployer of it at a time.
	swarmtest.Exclusive(t, "conformance-corpus")
	swarmtest.Images(t)
	d := cluster.NewFromClient(c)
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	for _, f := range files {
		file := filepath.Base(f)
		if strings.Contains(file, ".override.") {
			continue
		}
		t.Run(strings.TrimSuffix(file, ".yml"), func(t *testing.T) {
			t.Parallel()
			stackFiles := []string{file}
			if override := strings.TrimSuffix(file, ".yml") + ".override.yml"; exists(filepath.Join(corpusDir, override)) {
				stackFiles = append(stackFiles, override)
			}
			vars := corpusExternals(t, c)
			name := swarmtest.Stack(t)
			swarmtest.DockerStackDeploy(t, corpusDir, name, vars, stackFiles...)
			desired, err := stack.Load(t.Context(), os.DirFS(corpusDir), stack.Options{Files: stackFiles, Stack: name, Variables: vars})
			if err != nil {
				t.Fatal(err)
			}

			p := planFor(t, d, desired)
			for _, c := range p.Changes {
				if c.Action != diff.ActionNoop && c.Action != diff.ActionUpdate {
					t.Errorf("%s %s: %s, want an adopt update or nothing", c.Kind, c.Name, c.Action)
				}
				for _, f := range c.Fields {
					if !strings.HasPrefix(f.Path, "Annotations.Labels["+stack.LabelPrefix) {
						t.Errorf("%s %s: %s: %s => %s, want only io.flotilla.* labels", c.Kind, c.Name, f.Path, f.Old, f.New)
					}
				}
			}
			if t.Failed() {
				return
			}
			converge(t, d, desired)
		})
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// corpusExternals creates the external objects the corpus refers to and
// names, unique to the test, for the objects it names itself; they are
// removed, with the stack's label-only secrets and configs, after the stack.
func corpusExternals(t *testing.T, c *client.Client) map[string]string {
	t.Helper()
	ctx := t.Context()
	var b [4]byte
	rand.Read(b[:])
	id := "ftdiff" + hex.EncodeToString(b[:])
	vars := map[string]string{
		"EXT_NET": id + "_extnet", "EXT_SECRET": id + "_extsecret", "EXT_CONFIG": id + "_extconfig",
		"EXT_VOLUME": id + "_extvol", "CUSTOM_NET": id + "_customnet", "CUSTOM_SECRET": id + "_customsecret",
		"CUSTOM_CONFIG": id + "_customconfig", "CUSTOM_VOLUME": id + "_customvol",
		"BACKEND_SUBNET": "172.30." + itoa(int(b[0])) + ".0/24", "GREETING": "hello", "TAG": "v2",
	}
	if _, err := c.NetworkCreate(ctx, vars["EXT_NET"], network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: vars["EXT_SECRET"]}, Data: []byte("external")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: vars["EXT_CONFIG"]}, Data: []byte("external")}); err != nil {
		t.Fatal(err)
	}
	// Registered before swarmtest.Stack's cleanup, so it runs after it, when
	// no service uses these any more.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		byName := filters.NewArgs(filters.Arg("name", id))
		err := swarmtest.Poll(ctx, 30*time.Second, func() (bool, string, error) {
			var left []string
			secs, _ := c.SecretList(ctx, swarm.SecretListOptions{Filters: byName})
			for _, s := range secs {
				if c.SecretRemove(ctx, s.ID) != nil {
					left = append(left, s.Spec.Name)
				}
			}
			cfgs, _ := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: byName})
			for _, s := range cfgs {
				if c.ConfigRemove(ctx, s.ID) != nil {
					left = append(left, s.Spec.Name)
				}
			}
			nets, _ := c.NetworkList(ctx, network.ListOptions{})
			for _, n := range nets {
				if strings.HasPrefix(n.Name, id) && c.NetworkRemove(ctx, n.ID) != nil {
					left = append(left, n.Name)
				}
			}
			for _, v := range []string{vars["EXT_VOLUME"], vars["CUSTOM_VOLUME"]} {
				if err := c.VolumeRemove(ctx, v, true); err != nil && !strings.Contains(err.Error(), "no such volume") {
					left = append(left, v)
				}
			}
			return len(left) == 0, "still there: " + strings.Join(left, ", "), nil
		})
		if err != nil {
			t.Errorf("removing the corpus's external objects: %v", err)
		}
	})
	return vars
}

func itoa(n int) string { return strconv.Itoa(n) }
