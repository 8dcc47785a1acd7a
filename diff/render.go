package diff

import (
	"fmt"
	"io"
	"strings"
)

// TextOptions shape the human plan. Color is for terminals only; the caller
// decides (isatty, --no-color).
type TextOptions struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiFaint  = "\x1b[2m"
)

// symbols are Terraform's markers for each action.
var symbols = map[Action]struct{ mark, color string }{
	ActionCreate:   {"+", ansiGreen},
	ActionUpdate:   {"~", ansiYellow},
	ActionReplace:  {"-/+", ansiCyan},
	ActionDelete:   {"-", ansiRed},
	ActionConflict: {"!", ansiRed + ansiBold},
}

// WriteText writes the plan for humans, in the style of `terraform plan`:
// one block per change (noops left out) with its fields aligned, the
// warnings, and a summary line. The output depends on the plan only.
func (p Plan) WriteText(w io.Writer, opts TextOptions) error {
	var b strings.Builder
	paint := func(color, s string) string {
		if !opts.Color || color == "" {
			return s
		}
		return color + s + ansiReset
	}
	sum := p.Summary()
	switch {
	case p.HasChanges():
		fmt.Fprintf(&b, "Stack %s:\n", p.Stack)
	case sum.PruneOnly > 0:
		fmt.Fprintf(&b, "No changes to apply to stack %s.\n", p.Stack)
	default:
		fmt.Fprintf(&b, "No changes. Stack %s matches its desired state.\n", p.Stack)
	}
	for _, c := range p.Changes {
		if c.Action == ActionNoop {
			continue
		}
		sym := symbols[c.Action]
		effect := ""
		if c.Effect != "" && c.Effect != EffectNone {
			effect = string(c.Effect)
		}
		if p.PruneOnly(c) {
			// Shown, so nobody is surprised by what stays; not counted.
			sym.color, effect = ansiFaint, "only with --prune"
		}
		fmt.Fprintf(&b, "\n%s %s %s", paint(sym.color, fmt.Sprintf("%3s", sym.mark)), c.Kind, paint(ansiBold, c.Name))
		if effect != "" {
			fmt.Fprintf(&b, " %s", paint(ansiFaint, "("+effect+")"))
		}
		b.WriteString("\n")
		if c.Conflict != "" {
			fmt.Fprintf(&b, "      %s\n", paint(ansiRed, c.Conflict))
		}
		for _, r := range c.Reasons {
			fmt.Fprintf(&b, "      # %s\n", r)
		}
		writeAttributes(&b, c.Attributes)
		width := 0
		for _, f := range c.Fields {
			width = max(width, len(f.Path))
		}
		for _, f := range c.Fields {
			pad := strings.Repeat(" ", width-len(f.Path))
			if f.Sensitive && f.Old == f.New {
				fmt.Fprintf(&b, "      %s:%s %s\n", f.Path, pad, SensitiveChanged)
				continue
			}
			fmt.Fprintf(&b, "      %s:%s %s => %s\n", f.Path, pad, paint(ansiRed, f.Old), paint(ansiGreen, f.New))
		}
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, warning := range p.Warnings {
			fmt.Fprintf(&b, "  - %s\n", warning)
		}
	}
	if p.HasChanges() || sum.PruneOnly > 0 {
		fmt.Fprintf(&b, "\n%s\n", sum.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAttributes lists a created object's key attributes, aligned.
func writeAttributes(b *strings.Builder, attrs []Attribute) {
	width := 0
	for _, a := range attrs {
		width = max(width, len(a.Name))
	}
	for _, a := range attrs {
		fmt.Fprintf(b, "      %s:%s %s\n", a.Name, strings.Repeat(" ", width-len(a.Name)), a.Value)
	}
}

// String is the summary line: "Plan: 2 to create, 1 to update, 0 to delete."
// Deletes left for want of prune, replaces and conflicts are named only when
// there are some.
func (s Summary) String() string {
	line := fmt.Sprintf("Plan: %d to create, %d to update, %d to delete", s.Create, s.Update, s.Delete)
	if s.PruneOnly > 0 {
		line += fmt.Sprintf(" (%d more only with --prune)", s.PruneOnly)
	}
	if s.Replace > 0 {
		line += fmt.Sprintf(", %d to replace", s.Replace)
	}
	line += "."
	if s.Conflict > 0 {
		line += fmt.Sprintf(" %d conflict(s) block this plan.", s.Conflict)
	}
	return line
}
