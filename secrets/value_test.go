package secrets

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

const secretText = "hunter2-Sup3rS3cret"

// leakForms are the ways secretText could show up once printed: itself,
// as hex (%x), as a byte list (%v of a []byte) and as Go bytes (%#v).
var leakForms = []string{
	secretText,
	hex.EncodeToString([]byte(secretText)),
	strings.ToUpper(hex.EncodeToString([]byte(secretText))),
	strings.Trim(fmt.Sprint([]byte(secretText)), "[]"),
	strings.Trim(fmt.Sprintf("%#v", []byte(secretText)), "[]byte{}"),
	"S3cret",
}

func assertRedacted(t *testing.T, what, out string) {
	t.Helper()
	for _, form := range leakForms {
		if strings.Contains(out, form) {
			t.Errorf("%s leaks the secret: %s", what, out)
			return
		}
	}
}

type exported struct {
	Name   string
	Secret Value
}

type unexported struct {
	name   string
	secret Value
}

type nested struct {
	Inner  exported
	inner  unexported
	ptr    *unexported
	values []Value
	byName map[string]Value
}

func holders() map[string]any {
	v := NewValue([]byte(secretText))
	u := unexported{name: "db", secret: v}
	return map[string]any{
		"value":              v,
		"pointer":            &v,
		"exported field":     exported{Name: "db", Secret: v},
		"pointer to struct":  &exported{Name: "db", Secret: v},
		"unexported field":   u,
		"pointer unexported": &u,
		"nested":             nested{Inner: exported{Secret: v}, inner: u, ptr: &u, values: []Value{v}, byName: map[string]Value{"db": v}},
		"pointer nested":     &nested{Inner: exported{Secret: v}, inner: u, ptr: &u, values: []Value{v}, byName: map[string]Value{"db": v}},
		"slice":              []Value{v, v},
		"map":                map[string]Value{"db": v},
		"map of structs":     map[string]unexported{"db": u},
		"slice of structs":   []unexported{u},
		"interface slice":    []any{v, u},
	}
}

func TestValueFmt(t *testing.T) {
	for name, h := range holders() {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%10.3v", "%T"} {
			assertRedacted(t, name+" with "+verb, fmt.Sprintf(verb, h))
		}
		assertRedacted(t, name+" with Sprint", fmt.Sprint(h))
		assertRedacted(t, name+" with Sprintln", fmt.Sprintln(h))
		//lint:ignore S1028 this is the pattern under test
		assertRedacted(t, name+" in an error", errors.New(fmt.Sprintf("loading %v", h)).Error())
		assertRedacted(t, name+" in a wrapped error", fmt.Errorf("loading %+v: %w", h, errors.New("boom")).Error())
	}
	if got := fmt.Sprint(NewValue([]byte(secretText))); got != Redacted {
		t.Errorf("Sprint(Value) = %q, want %q", got, Redacted)
	}
}

func TestValueSlog(t *testing.T) {
	for name, h := range holders() {
		for handler, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			log := slog.New(newHandler(&buf))
			log.Info("deploying", "holder", h, slog.Group("g", "v", h))
			log.With("bound", h).Warn("again")
			assertRedacted(t, name+" through slog "+handler, buf.String())
			if name == "value" && !strings.Contains(buf.String(), Redacted) {
				t.Errorf("slog %s does not say %s: %s", handler, Redacted, buf.String())
			}
		}
	}
}

func TestValueEncoders(t *testing.T) {
	for name, h := range holders() {
		out, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("json %s: %v", name, err)
		}
		assertRedacted(t, name+" as JSON", string(out))
		y, err := yaml.Marshal(h)
		if err != nil {
			t.Fatalf("yaml %s: %v", name, err)
		}
		assertRedacted(t, name+" as YAML", string(y))
		var tb strings.Builder
		if err := template.Must(template.New("").Parse("{{.}}")).Execute(&tb, h); err != nil {
			t.Fatalf("template %s: %v", name, err)
		}
		assertRedacted(t, name+" through text/template", tb.String())
	}
	out, err := json.Marshal(exported{Name: "db", Secret: NewValue([]byte(secretText))})
	if err != nil || string(out) != `{"Name":"db","Secret":"REDACTED"}` {
		t.Errorf("json field = %s, %v", out, err)
	}
}

func TestValueCmp(t *testing.T) {
	a := exported{Name: "db", Secret: NewValue([]byte(secretText))}
	b := exported{Name: "db", Secret: NewValue([]byte(secretText + "!"))}
	if d := cmp.Diff(a, a); d != "" {
		t.Errorf("equal values differ: %s", d)
	}
	d := cmp.Diff(a, b)
	if d == "" {
		t.Fatal("different values compare equal")
	}
	assertRedacted(t, "cmp.Diff", d)
}

func TestValueContent(t *testing.T) {
	v := NewValue([]byte(secretText))
	if string(v.Bytes()) != secretText || v.Len() != len(secretText) {
		t.Errorf("Bytes/Len do not give the content back")
	}
	if !v.Equal(NewValue([]byte(secretText))) || v.Equal(NewValue([]byte("other"))) {
		t.Errorf("Equal compares wrongly")
	}
	var zero Value
	if zero.Bytes() != nil || zero.Len() != 0 || !zero.Equal(NewValue(nil)) {
		t.Errorf("zero Value is not empty")
	}
}
