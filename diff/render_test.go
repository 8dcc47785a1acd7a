package diff_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// mixedPlan has one change of every action, for the rendering tests.
func mixedPlan() diff.Plan {
	return diff.Plan{
		Stack: "shop",
		Changes: []diff.Change{
			{Kind: diff.KindNetwork, Name: "shop_backend", Action: diff.ActionCreate, Effect: diff.EffectNone},
			{Kind: diff.KindNetwork, Name: "shop_default", Action: diff.ActionNoop, Effect: diff.EffectNone},
			{Kind: diff.KindSecret, Name: "shop_db_pw", Action: diff.ActionReplace, Effect: diff.EffectRecreate,
				Reasons: []string{"a secret's data can't be changed in place: it is removed and created again; services using it: shop_api"},
				Fields:  []diff.Field{{Path: "Data", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}},
				Live:    &diff.Live{ID: "ly4ynjnflw155uqeypq5ame7n"}},
			{Kind: diff.KindService, Name: "shop_api", Action: diff.ActionUpdate, Effect: diff.EffectRolling,
				Reasons: []string{"drift: changed on the engine since Flotilla applied it"},
				Fields: []diff.Field{
					{Path: "Mode.Replicated.Replicas", Old: "2", New: "3"},
					{Path: "TaskTemplate.ContainerSpec.Env[VERSION]", Old: "v1", New: "v2"},
					{Path: "TaskTemplate.ContainerSpec.Image", Old: "flotilla-test/app:v1", New: "flotilla-test/app:v2"},
				},
				Live: &diff.Live{ID: "i2i9534irwvhc1l19qtqj8zxo"}},
			{Kind: diff.KindService, Name: "shop_web", Action: diff.ActionConflict, Effect: diff.EffectNone,
				Conflict: "service shop_web exists but was not created by docker stack deploy or Flotilla",
				Live:     &diff.Live{ID: "u7u3we2kn9kikkym3hwpklnuy"}},
			{Kind: diff.KindService, Name: "shop_worker", Action: diff.ActionCreate, Effect: diff.EffectNone},
			{Kind: diff.KindService, Name: "shop_old", Action: diff.ActionDelete, Effect: diff.EffectRemove,
				Live: &diff.Live{ID: "ogfgopb4z9s0y94f3q3luwcf6"}},
			{Kind: diff.KindConfig, Name: "shop_old_conf", Action: diff.ActionDelete, Effect: diff.EffectNone,
				Live: &diff.Live{ID: "zn0sf6tf4hub671ih3bj0w237"}},
		},
		Warnings: []string{"service shop_api: build: ignored by docker stack deploy"},
	}
}

func TestRender(t *testing.T) {
	plans := map[string]func(t *testing.T) diff.Plan{
		"mixed": func(t *testing.T) diff.Plan { return mixedPlan() },
		"adopt": func(t *testing.T) diff.Plan { return diff.Compute(shopDesired("shop"), liveFixture(t, "docker")) },
		"drift": func(t *testing.T) diff.Plan {
			return diff.Compute(shopDesired("shop"), liveFixture(t, "drift-env-scale"))
		},
		"none": func(t *testing.T) diff.Plan { return diff.Compute(shopDesired("shop"), liveFixture(t, "applied")) },
		"create": func(t *testing.T) diff.Plan {
			return diff.Compute(shopDesired("shop"), &stack.Live{Stack: "shop"})
		},
		"mixed.prune": func(t *testing.T) diff.Plan {
			p := mixedPlan()
			p.Prune = true
			return p
		},
		// A plan whose only differences are objects the stack files
		// dropped: nothing happens without prune.
		"pruneonly": func(t *testing.T) diff.Plan {
			live := liveFixture(t, "applied")
			desired := shopDesired("shop")
			desired.Services = desired.Services[:1]
			return diff.Compute(desired, live)
		},
	}
	for name, plan := range plans {
		t.Run(name, func(t *testing.T) {
			p := plan(t)
			var text, color, js bytes.Buffer
			if err := p.WriteText(&text, diff.TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteText(&color, diff.TextOptions{Color: true}); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", text.Bytes())
			golden(t, name+".json", js.Bytes())
			if name == "mixed" {
				golden(t, name+".color.txt", color.Bytes())
			}
			if strings.Contains(text.String(), "\x1b[") {
				t.Error("text without colour contains escape sequences")
			}
			if !json.Valid(js.Bytes()) {
				t.Error("JSON output is not valid JSON")
			}
		})
	}
}

// TestRenderNeverShowsSecretContent renders plans whose desired secret and
// config hold a known value and checks it appears nowhere.
func TestRenderNeverShowsSecretContent(t *testing.T) {
	desired := shopDesired("shop")
	desired.Secrets[0].Data = secretValue("s3cr3t-plaintext")
	desired.Configs[0].Data = secretValue("c0nf1g-plaintext")
	for _, live := range []string{"applied", "docker", "conflict"} {
		p := diff.Compute(desired, liveFixture(t, live))
		var text, js bytes.Buffer
		if err := p.WriteText(&text, diff.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{text.String(), js.String()} {
			if strings.Contains(out, "plaintext") {
				t.Errorf("plan against %s shows content:\n%s", live, out)
			}
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; run with -update if intended):\n%s", path, d)
	}
}
