package stack

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/template"
)

// variables builds the interpolation environment: opts.Environ, then the env
// files in order, then opts.Variables, which win. The process environment is
// never read here: a render depends on its options only.
func variables(fsys fs.FS, opts Options) (map[string]string, error) {
	vars := maps.Clone(opts.Environ)
	if vars == nil {
		vars = map[string]string{}
	}
	for _, f := range opts.EnvFiles {
		p, b, err := readFile(fsys, ".", f, MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("reading env file %s: %w", f, err)
		}
		parsed, err := ParseEnvFile(p, b, vars)
		if err != nil {
			return nil, err
		}
		maps.Copy(vars, parsed)
	}
	maps.Copy(vars, opts.Variables)
	return vars, nil
}

// ParseEnvFile reads a variables file (KEY=VALUE lines, as `docker stack
// deploy` reads .env) as Options.EnvFiles are read; ${VAR} inside it
// refers to vars, the variables read so far. name is for errors.
func ParseEnvFile(name string, content []byte, vars map[string]string) (map[string]string, error) {
	parsed, err := dotenv.ParseWithLookup(bytes.NewReader(content), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		return nil, fmt.Errorf("parsing env file %s: %w", name, err)
	}
	return parsed, nil
}

// strictSubstitute interpolates like compose-go's default, except that a
// variable that is unset and has no default is an error instead of a logged
// warning and an empty string: an empty image tag or replica count is never
// what the author meant. compose-go wraps the error with the key's path.
func strictSubstitute(tmpl string, mapping template.Mapping) (string, error) {
	return template.SubstituteWithOptions(tmpl, mapping,
		template.WithoutLogging,
		template.WithReplacementFunction(func(s string, m template.Mapping, cfg *template.Config) (string, error) {
			value, applied, err := template.DefaultReplacementAppliedFunc(s, m, cfg)
			if err != nil {
				return "", err
			}
			if !applied {
				return "", fmt.Errorf("variable %s is not set and has no default (in %q)", varName(s), tmpl)
			}
			return value, nil
		}))
}

// varName extracts NAME from "$NAME", "${NAME}" or "${NAME}rest".
func varName(s string) string {
	s = strings.TrimPrefix(s, "$")
	if strings.HasPrefix(s, "{") {
		s = s[1:]
		if i := strings.IndexAny(s, "}:-?+"); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

// parseServiceEnvFile reads a service's env_file the way docker/cli's
// opts.ParseEnvFile does: KEY=VALUE taken literally (no quote handling), blank
// lines and # comments skipped, a bare KEY taken from the variables when set.
func parseServiceEnvFile(b []byte, name string, vars map[string]string) (map[string]*string, error) {
	env := map[string]*string{}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(strings.TrimLeft(line, " \t"), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, hasValue := strings.Cut(line, "=")
		if k == "" {
			return nil, fmt.Errorf("%s:%d: no variable name before =", name, i+1)
		}
		if strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s:%d: variable %q contains whitespace", name, i+1, k)
		}
		if !hasValue {
			if vv, ok := vars[k]; ok {
				env[k] = &vv
			}
			continue
		}
		env[k] = &v
	}
	return env, nil
}
