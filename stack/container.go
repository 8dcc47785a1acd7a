package stack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
)

// environment merges the service's env_file entries (read from the FS) and
// its environment, which wins, into docker's sorted KEY=VALUE list; a key
// without a value stays a bare KEY, as with docker.
func (r *renderer) environment(svc types.ServiceConfig) ([]string, error) {
	env := map[string]*string{}
	for _, f := range svc.EnvFiles {
		p, b, err := readFile(r.fsys, r.dir, f.Path, MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
		vars, err := parseServiceEnvFile(b, p, r.vars)
		if err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
		r.mergeEnv(env, vars)
	}
	r.mergeEnv(env, svc.Environment)
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == nil {
			out = append(out, k)
		} else {
			out = append(out, k+"="+*v)
		}
	}
	sort.Strings(out)
	return out, nil
}

// mergeEnv adds vars to env as docker/cli's loader does: a value that is
// missing or empty is taken from the variables when they define it (docker
// uses its process environment there), so `A: ""` with A=1 set yields A=1.
func (r *renderer) mergeEnv(env, vars map[string]*string) {
	for k, v := range vars {
		if v == nil || *v == "" {
			if val, ok := r.vars[k]; ok {
				env[k] = &val
				continue
			}
		}
		env[k] = v
	}
}

// effectiveCaps normalises capabilities like docker/cli's
// opts.EffectiveCapAddCapDrop: upper case with a CAP_ prefix, ALL wins,
// adding beats dropping, sorted and without duplicates.
func effectiveCaps(add, drop []string) ([]string, []string) {
	norm := func(caps []string) map[string]bool {
		m := map[string]bool{}
		for _, c := range caps {
			c = strings.ToUpper(strings.TrimSpace(c))
			if c != "ALL" && c != "RESET" && !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			m[c] = true
		}
		if m["ALL"] {
			m = map[string]bool{"ALL": true}
		}
		return m
	}
	a, d := norm(add), norm(drop)
	var capAdd, capDrop []string
	for c := range d {
		if !a[c] && c != "RESET" {
			capDrop = append(capDrop, c)
		}
	}
	for c := range a {
		if c != "RESET" {
			capAdd = append(capAdd, c)
		}
	}
	sort.Strings(capAdd)
	sort.Strings(capDrop)
	return capAdd, capDrop
}

func convertUlimits(in map[string]*types.UlimitsConfig) []*container.Ulimit {
	if len(in) == 0 {
		return nil
	}
	out := make([]*container.Ulimit, 0, len(in))
	for name, u := range in {
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		out = append(out, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
