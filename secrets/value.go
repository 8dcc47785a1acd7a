package secrets

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Value prints in place of its content, everywhere.
const Redacted = "REDACTED"

// Value holds secret bytes. Every way of printing it — fmt verbs, slog,
// JSON, errors that format it — yields REDACTED; only Bytes gives the content.
type Value struct {
	b []byte
}

// NewValue wraps b. The Value keeps b; callers must not change it afterwards.
func NewValue(b []byte) Value { return Value{b: b} }

// Bytes returns the content, for handing to the Docker API and nothing else.
func (v Value) Bytes() []byte { return v.b }

// Len is the content's length in bytes.
func (v Value) Len() int { return len(v.b) }

func (v Value) String() string               { return Redacted }
func (v Value) GoString() string             { return "secrets.Value(" + Redacted + ")" }
func (v Value) Format(f fmt.State, _ rune)   { f.Write([]byte(Redacted)) }
func (v Value) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

var (
	_ fmt.Stringer   = Value{}
	_ fmt.Formatter  = Value{}
	_ slog.LogValuer = Value{}
)
