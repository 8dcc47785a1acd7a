package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Field paths are computed on a generic tree of a spec's JSON form (whose keys
// are the Go field names). Lists whose elements have a stable identity are
// turned into keyed maps first, so that a change shows as Env[VERSION] rather
// than Env[3], and reordering is not a change.

// keyed is a map whose keys are data (labels, env names, port keys), printed
// as Path[key]; a plain map[string]any is a struct, printed as Path.Field.
type keyed map[string]any

// absent is how a missing value is shown.
const absent = "(none)"

// mapKeys are JSON keys whose object values are maps of data, not structs.
var mapKeys = map[string]bool{"Labels": true, "Options": true, "Sysctls": true, "DriverOpts": true}

// modeKeys are the service modes, kept even when empty.
var modeKeys = map[string]bool{"Replicated": true, "Global": true, "ReplicatedJob": true, "GlobalJob": true}

// listKeys turns lists with a stable element identity into keyed maps.
var listKeys = map[string]func(elem any) string{
	"Env": func(e any) string {
		s, _ := e.(string)
		k, _, _ := strings.Cut(s, "=")
		return k
	},
	"Mounts":   func(e any) string { return str(e, "Target") },
	"Ulimits":  func(e any) string { return str(e, "Name") },
	"Networks": func(e any) string { return str(e, "Target") },
	"Secrets": func(e any) string {
		if f := str(e, "File", "Name"); f != "" {
			return f
		}
		return str(e, "SecretName")
	},
	"Configs": func(e any) string {
		if f := str(e, "File", "Name"); f != "" {
			return f
		}
		return "runtime:" + str(e, "ConfigName")
	},
	"Ports": func(e any) string {
		return str(e, "TargetPort") + "/" + str(e, "Protocol")
	},
}

// tree converts v to its generic JSON form, with keyed lists and without the
// zero values that omitempty and a nil-versus-empty pointer would make differ.
func tree(v any) any {
	dec := json.NewDecoder(bytes.NewReader(encode(v)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		panic(fmt.Sprintf("decoding spec: %v", err))
	}
	return shape(out, "")
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Swarm specs are plain data; this cannot happen.
		panic(fmt.Sprintf("encoding spec: %v", err))
	}
	return b
}

func shape(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		if mapKeys[key] {
			m := keyed{}
			for k, e := range v {
				m[k] = e // values of data maps are kept even when empty
			}
			return emptyToNil(m)
		}
		m := map[string]any{}
		for k, e := range v {
			if e = shape(e, k); e != nil {
				m[k] = e
			}
		}
		if modeKeys[key] {
			return m // an empty Global{} is the whole of its meaning
		}
		return emptyToNil(m)
	case []any:
		if len(v) == 0 {
			return nil
		}
		if keyOf, ok := listKeys[key]; ok {
			m := keyed{}
			for _, e := range v {
				k := keyOf(e)
				if _, dup := m[k]; dup {
					k += "#" + strconv.Itoa(len(m))
				}
				if key == "Env" {
					s := e.(string)
					if _, val, ok := strings.Cut(s, "="); ok {
						m[k] = val
					} else {
						m[k] = s
					}
					continue
				}
				m[k] = shape(e, "")
			}
			return m
		}
		return v
	case string:
		if v == "" {
			return nil
		}
	case bool:
		if !v {
			return nil
		}
	case json.Number:
		if v == "0" {
			return nil
		}
	}
	return v
}

func emptyToNil[M ~map[string]any](m M) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// str digs a scalar out of a decoded JSON object.
func str(v any, path ...string) string {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// compareTrees appends a Field for every leaf that differs between old and
// new. Whole lists without element identity are one leaf.
func compareTrees(path, key string, old, new any, out *[]Field) {
	om, oIsMap := asMap(old)
	nm, nIsMap := asMap(new)
	_, oKeyed := old.(keyed)
	_, nKeyed := new.(keyed)
	bracket := oKeyed || nKeyed
	// A struct or list element present on one side only is one change,
	// shown whole, not one per sub-field; data maps are always per key.
	if (oIsMap && nIsMap) || bracket {
		keys := map[string]bool{}
		for k := range om {
			keys[k] = true
		}
		for k := range nm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			child := path + "." + k
			if bracket {
				child = path + "[" + k + "]"
			} else if path == "" {
				child = k
			}
			compareTrees(child, k, om[k], nm[k], out)
		}
		return
	}
	o, n := format(key, old, new), format(key, new, old)
	if o != n {
		*out = append(*out, Field{Path: path, Old: o, New: n})
	}
}

func asMap(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case keyed:
		return v, true
	case map[string]any:
		return v, true
	}
	return nil, false
}
