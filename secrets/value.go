package secrets

import (
	"bytes"
	"fmt"
	"log/slog"
)

// Redacted is what a Value prints in place of its content, everywhere.
const Redacted = "REDACTED"

// Value holds secret bytes. Every way of printing it — fmt verbs, slog,
// JSON, YAML, errors that format it — yields REDACTED; only Bytes gives the
// content.
//
// The bytes sit behind a closure rather than in a field. fmt cannot call
// Format on a Value kept in an unexported field of another struct, and falls
// back to printing its fields by reflection — a slice as its bytes, and even
// a pointer's target when the verb does not fit (%s, %q). A func prints as an
// address whatever the verb. Being a func also makes Value incomparable with
// ==: compare with Equal.
type Value struct {
	content func() []byte
}

// NewValue wraps b. The Value keeps b; callers must not change it afterwards.
func NewValue(b []byte) Value {
	if b == nil {
		return Value{}
	}
	return Value{content: func() []byte { return b }}
}

// Bytes returns the content, for handing to the Docker API and nothing else.
func (v Value) Bytes() []byte {
	if v.content == nil {
		return nil
	}
	return v.content()
}

// Len is the content's length in bytes.
func (v Value) Len() int { return len(v.Bytes()) }

// Equal reports whether v and o hold the same content. go-cmp uses it, so
// comparing structs that hold Values needs no option and prints no bytes.
func (v Value) Equal(o Value) bool { return bytes.Equal(v.Bytes(), o.Bytes()) }

func (v Value) String() string               { return Redacted }
func (v Value) GoString() string             { return "secrets.Value(" + Redacted + ")" }
func (v Value) Format(f fmt.State, _ rune)   { f.Write([]byte(Redacted)) }
func (v Value) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalYAML keeps yaml.v3 from encoding the Value as a struct.
func (v Value) MarshalYAML() (any, error) { return Redacted, nil }

var (
	_ fmt.Stringer   = Value{}
	_ fmt.GoStringer = Value{}
	_ fmt.Formatter  = Value{}
	_ slog.LogValuer = Value{}
)
