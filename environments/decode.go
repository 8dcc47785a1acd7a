package environments

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns yaml.Nodes into values by hand, rather than with
// yaml.Unmarshal, so that every mistake is reported with its line and the
// decoding goes on after one.
type decoder struct {
	*problems
	// known, when set, is told the keys each mapping accepts: the schema
	// test checks docs/flotilla.schema.json names them all.
	known func(n *yaml.Node, keys []string)
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a scalar"
	}
	return "a document"
}

// mapping calls fields[key] for each key of a mapping node, reporting
// unknown and repeated keys. It records each value's position in at.
func (d *decoder) mapping(n *yaml.Node, what string, at fieldPos, fields map[string]func(v *yaml.Node)) {
	n = resolve(n)
	if d.known != nil {
		d.known(n, slices.Collect(maps.Keys(fields)))
	}
	if at != nil {
		at[""] = posOf(n)
	}
	if n.Kind != yaml.MappingNode {
		d.add(posOf(n), "%s must be a mapping, not %s", what, kindName(n))
		if at != nil {
			at[badKey("")] = posOf(n)
		}
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		f, ok := fields[k.Value]
		switch {
		case !ok:
			d.add(posOf(k), "unknown field %q in %s (known: %s)", k.Value, what, knownKeys(fields))
		case seen[k.Value]:
			d.add(posOf(k), "field %q given twice in %s", k.Value, what)
		default:
			seen[k.Value] = true
			before := len(d.list)
			f(v)
			if at != nil {
				at[k.Value] = posOf(v)
				if len(d.list) > before {
					// Validate skips checks on a field that already failed to decode,
					// so one mistake is reported once.
					at[badKey(k.Value)] = posOf(v)
				}
			}
		}
	}
}

func badKey(key string) string { return "!" + key }

func knownKeys(fields map[string]func(*yaml.Node)) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// named calls each for every entry of a mapping of names (repos:, clusters:, …).
func (d *decoder) named(n *yaml.Node, what string, each func(name string, k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(posOf(n), "%s must be a mapping of names, not %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if seen[k.Value] {
			d.add(posOf(k), "%s %q defined twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		each(k.Value, k, v)
	}
}

// each calls fn for every item of a sequence of mappings.
func (d *decoder) each(n *yaml.Node, what string, fn func(i int, item *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		d.add(posOf(n), "%s must be a list, not %s", what, kindName(n))
		return
	}
	for i, item := range n.Content {
		fn(i, resolve(item))
	}
}

// str accepts any non-empty scalar: "branch: 2024" is a branch name, not a number.
func (d *decoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		d.add(posOf(n), "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, what string) *bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.add(posOf(n), "%s must be true or false", what)
		return nil
	}
	return &b
}

func (d *decoder) integer(n *yaml.Node, what string) int {
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		d.add(posOf(n), "%s must be a whole number", what)
		return 0
	}
	return i
}

// duration wants a Go duration such as 90s or 5m; 0 means unset.
func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s := d.str(n, what)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		d.add(posOf(n), "%s: %q is not a positive duration such as 90s or 5m", what, s)
		return 0
	}
	return v
}

// list decodes a sequence of scalars, with the position of each item.
func (d *decoder) strList(n *yaml.Node, what string) ([]string, []Pos) {
	if n.Kind != yaml.SequenceNode {
		d.add(posOf(n), "%s must be a list, not %s", what, kindName(n))
		return nil, nil
	}
	var out []string
	var at []Pos
	for _, item := range n.Content {
		item = resolve(item)
		if s := d.str(item, what+" item"); s != "" {
			out = append(out, s)
			at = append(at, posOf(item))
		} else if item.Kind == yaml.ScalarNode {
			d.add(posOf(item), "%s has an empty item", what)
		}
	}
	return out, at
}

// strMap decodes a mapping of scalars; values may be written as numbers or
// booleans but are kept as the text written.
func (d *decoder) strMap(n *yaml.Node, what string) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.add(posOf(n), "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if _, dup := out[k.Value]; dup {
			d.add(posOf(k), "%s: %q given twice", what, k.Value)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			d.add(posOf(v), "%s: %q must be a string", what, k.Value)
			continue
		}
		out[k.Value] = v.Value
	}
	return out
}
