package diff_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
)

// TestMaskSensitiveDrift: a password changed by hand on the engine shows as
// drift, and the masked plan says which variable without either value.
func TestMaskSensitiveDrift(t *testing.T) {
	const fromGit, byHand = "s3cret-from-git", "changed-by-hand"
	desired := shopDesired("shop")
	api := service(t, desired, "shop_api")
	api.TaskTemplate.ContainerSpec.Env = append(api.TaskTemplate.ContainerSpec.Env,
		"POSTGRES_PASSWORD="+fromGit, "API_Token=tok-"+fromGit, "DATABASE_URL=postgres://app:"+fromGit+"@db/app", "LOG_LEVEL=debug")
	live := liveFixture(t, "applied")
	for i := range live.Services {
		if live.Services[i].Spec.Name == "shop_api" {
			cs := live.Services[i].Spec.TaskTemplate.ContainerSpec
			cs.Env = append(cs.Env, "POSTGRES_PASSWORD="+byHand, "DATABASE_URL=postgres://app:"+byHand+"@db/app", "LOG_LEVEL=info")
		}
	}
	plan := diff.Compute(desired, live)
	var before bytes.Buffer
	if err := plan.WriteJSON(&before); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before.String(), byHand) {
		t.Fatalf("the unmasked plan does not show the drift at all:\n%s", before.String())
	}

	masked := diff.MaskSensitive(plan, diff.DefaultSensitivePatterns)
	var text, js bytes.Buffer
	if err := masked.WriteText(&text, diff.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := masked.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		for _, secret := range []string{fromGit, byHand} {
			if strings.Contains(out, secret) {
				t.Errorf("masked plan shows %q:\n%s", secret, out)
			}
		}
	}
	var got []string
	for _, c := range masked.Changes {
		for _, f := range c.Fields {
			got = append(got, f.Path+": "+f.Old+" => "+f.New)
		}
	}
	want := []string{
		"TaskTemplate.ContainerSpec.Env[API_Token]: (none) => (sensitive value)",
		"TaskTemplate.ContainerSpec.Env[DATABASE_URL]: (sensitive value changed) => (sensitive value changed)",
		"TaskTemplate.ContainerSpec.Env[LOG_LEVEL]: info => debug",
		"TaskTemplate.ContainerSpec.Env[POSTGRES_PASSWORD]: (sensitive value changed) => (sensitive value changed)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("masked fields (-want +got):\n%s", d)
	}
	if !strings.Contains(text.String(), "Env[POSTGRES_PASSWORD]: (sensitive value changed)") {
		t.Errorf("text plan does not name the changed variable:\n%s", text.String())
	}

	// The plan to apply is untouched.
	var after bytes.Buffer
	if err := plan.WriteJSON(&after); err != nil {
		t.Fatal(err)
	}
	if after.String() != before.String() {
		t.Error("MaskSensitive changed the plan it was given")
	}
}

func TestMaskFields(t *testing.T) {
	tests := []struct {
		name     string
		in, want diff.Field
		patterns []string
	}{
		{"service label", diff.Field{Path: "Annotations.Labels[traefik.basic-auth.secret]", Old: "a", New: "b"},
			diff.Field{Path: "Annotations.Labels[traefik.basic-auth.secret]", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}, nil},
		{"removed variable", diff.Field{Path: "TaskTemplate.ContainerSpec.Env[MY_KEY]", Old: "a", New: "(none)"},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Env[MY_KEY]", Old: diff.SensitiveValue, New: "(none)", Sensitive: true}, nil},
		{"secret driver option", diff.Field{Path: "Driver.Options[vault_token]", Old: "a", New: "b"},
			diff.Field{Path: "Driver.Options[vault_token]", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}, nil},
		{"harmless variable", diff.Field{Path: "TaskTemplate.ContainerSpec.Env[PORT]", Old: "80", New: "81"},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Env[PORT]", Old: "80", New: "81"}, nil},
		{"own patterns", diff.Field{Path: "TaskTemplate.ContainerSpec.Env[PIN]", Old: "1", New: "2"},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Env[PIN]", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}, []string{"pin"}},
		{"a URL with a password under any name", diff.Field{Path: "TaskTemplate.ContainerSpec.Args", Old: `["--db=mysql://u:pw@h/x"]`, New: `["--db=mysql://u:pw2@h/x"]`},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Args", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}, nil},
		{"a URL without one", diff.Field{Path: "TaskTemplate.ContainerSpec.Env[UPSTREAM]", Old: "https://a.example", New: "https://b.example"},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Env[UPSTREAM]", Old: "https://a.example", New: "https://b.example"}, nil},
		{"inside an element shown whole", diff.Field{Path: "TaskTemplate.ContainerSpec.Mounts[/data]", Old: "(none)",
			New: `{"Source":"share","Target":"/data","Type":"volume","VolumeOptions":{"DriverConfig":{"Name":"cifs","Options":{"password":"pw","user":"u"}}}}`},
			diff.Field{Path: "TaskTemplate.ContainerSpec.Mounts[/data]", Old: "(none)",
				New: `{"Source":"share","Target":"/data","Type":"volume","VolumeOptions":{"DriverConfig":{"Name":"cifs","Options":{"password":"(sensitive value)","user":"u"}}}}`}, nil},
		{"already sensitive", diff.Field{Path: "Data", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true},
			diff.Field{Path: "Data", Old: diff.SensitiveChanged, New: diff.SensitiveChanged, Sensitive: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patterns := tt.patterns
			if patterns == nil {
				patterns = diff.DefaultSensitivePatterns
			}
			got := diff.MaskFields([]diff.Field{tt.in}, patterns)
			if d := cmp.Diff([]diff.Field{tt.want}, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{
		"POSTGRES_PASSWORD": true, "db_password_file": true, "AWS_SECRET_ACCESS_KEY": true, "GITHUB_TOKEN": true,
		"api.key": true, "PORT": false, "LOG_LEVEL": false, "passwd": true, "USER": false,
	} {
		if got := diff.SensitiveName(name, diff.DefaultSensitivePatterns); got != want {
			t.Errorf("SensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
	if !diff.SensitiveName("ABC", []string{"a*c"}) || diff.SensitiveName("ABCD", []string{"a*c"}) || !diff.SensitiveName("x", []string{"X"}) {
		t.Error("patterns: * is any text, the rest is matched whole, ignoring case")
	}
}
