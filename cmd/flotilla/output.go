package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

// color decides, once for every command, whether w gets colour: never with
// --no-color or NO_COLOR set (https://no-color.org), else on a terminal.
func (g *globals) color(w io.Writer) bool {
	return !g.noColor && os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// outputFlag is -o/--output: text for people, json for programs (the
// API's schema, docs/api.md).
type outputFlag struct{ format string }

func (o *outputFlag) register(f *pflag.FlagSet, what string) {
	f.StringVarP(&o.format, "output", "o", "text", what+" format: text or json")
}

// check refuses a format other than text or json.
func (o *outputFlag) check() error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("--output must be text or json, not %q", o.format)
	}
	return nil
}

func (o *outputFlag) json() bool { return o.format == "json" }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
