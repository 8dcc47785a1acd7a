package diff

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// DefaultSensitivePatterns name the environment variables, labels and
// driver options whose values MaskSensitive hides: "*" is any text, and
// matching ignores case.
var DefaultSensitivePatterns = []string{"*PASSWORD*", "*PASSWD*", "*SECRET*", "*TOKEN*", "*KEY*", "*CREDENTIAL*"}

// SensitiveValue stands in for a masked value that was added or removed;
// a masked change of value shows SensitiveChanged on both sides.
const SensitiveValue = "(sensitive value)"

// MaskSensitive returns a copy of p for people who do not hold the stack
// files — the API, notifications, history: the values of environment
// variables, labels and driver options whose names match patterns (and any
// value holding a URL with a password) are replaced, and those fields are
// marked Sensitive. Names, paths, actions and the rest are kept. Apply p,
// never the copy; p is not changed.
func MaskSensitive(p Plan, patterns []string) Plan {
	out := p
	out.Changes = make([]Change, len(p.Changes))
	for i, c := range p.Changes {
		c.Fields = MaskFields(c.Fields, patterns)
		out.Changes[i] = c
	}
	return out
}

// MaskFields masks a list of fields as MaskSensitive does; fields is not
// changed.
func MaskFields(fields []Field, patterns []string) []Field {
	if fields == nil {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = maskField(f, patterns)
	}
	return out
}

// keyedPath finds the map a field belongs to and the entry's name:
// "TaskTemplate.ContainerSpec.Env[DB_PASSWORD]" → Env, DB_PASSWORD.
var keyedPath = regexp.MustCompile(`(?:^|\.)(Env|Labels|Options|DriverOpts)\[(.*)\]$`)

func maskField(f Field, patterns []string) Field {
	if f.Sensitive {
		return f
	}
	if m := keyedPath.FindStringSubmatch(f.Path); m != nil && SensitiveName(m[2], patterns) {
		return masked(f)
	}
	if holdsPassword(f.Old) || holdsPassword(f.New) {
		return masked(f)
	}
	// A struct or list element present on one side is shown whole, as
	// JSON: mask inside it.
	f.Old, f.New = maskJSON(f.Old, patterns), maskJSON(f.New, patterns)
	return f
}

func masked(f Field) Field {
	f.Sensitive = true
	switch {
	case f.Old == absent:
		f.New = SensitiveValue
	case f.New == absent:
		f.Old = SensitiveValue
	default:
		f.Old, f.New = SensitiveChanged, SensitiveChanged
	}
	return f
}

// SensitiveName reports whether a variable's, label's or option's name
// matches one of patterns, ignoring case.
func SensitiveName(name string, patterns []string) bool {
	name = strings.ToUpper(name)
	for _, p := range patterns {
		if wildcard(strings.ToUpper(p), name) {
			return true
		}
	}
	return false
}

// wildcard matches s against a pattern whose only wildcard is "*".
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// holdsPassword spots "postgres://user:pw@db/x" whatever the variable is
// called.
func holdsPassword(v string) bool {
	i := strings.Index(v, "://")
	if i < 0 {
		return false
	}
	// The URL may be part of a longer value ("--db=postgres://…").
	start := strings.LastIndexAny(v[:i], " =\"'") + 1
	u, err := url.Parse(strings.Fields(v[start:])[0])
	if err != nil || u.User == nil {
		return false
	}
	_, has := u.User.Password()
	return has
}

// maskableMaps are the JSON keys of maps whose entries MaskSensitive masks
// by name.
var maskableMaps = map[string]bool{"Env": true, "Labels": true, "Options": true, "DriverOpts": true}

// maskJSON masks sensitive entries inside a value shown as JSON; other
// values come back as they were.
func maskJSON(v string, patterns []string) string {
	if !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") {
		return v
	}
	var tree any
	if json.Unmarshal([]byte(v), &tree) != nil {
		return v
	}
	if !maskTree(tree, "", patterns) {
		return v
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return SensitiveChanged // nothing half-masked
	}
	return string(b)
}

// maskTree masks in place and reports whether it changed anything.
func maskTree(v any, key string, patterns []string) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if maskableMaps[key] && SensitiveName(k, patterns) {
				v[k] = SensitiveValue
				changed = true
				continue
			}
			if s, ok := e.(string); ok && holdsPassword(s) {
				v[k] = SensitiveValue
				changed = true
				continue
			}
			changed = maskTree(e, k, patterns) || changed
		}
	case []any:
		for i, e := range v {
			// Env as a list of "NAME=value".
			if s, ok := e.(string); ok && key == "Env" {
				if name, _, found := strings.Cut(s, "="); found && (SensitiveName(name, patterns) || holdsPassword(s)) {
					v[i] = name + "=" + SensitiveValue
					changed = true
				}
				continue
			}
			changed = maskTree(e, key, patterns) || changed
		}
	}
	return changed
}
