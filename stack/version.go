package stack

import (
	"fmt"
	"sort"
)

// versionObjects renames the stack's secrets and configs to
// <stack>_<name>_<version>, the version a keyed hash of the content, and
// points the services at the new names. Swarm never changes a secret's or
// config's data, so new content must be a new object: versioned names let
// it roll out (and roll back) like an image change. Objects with a fixed
// `name:`, external ones and driver-provided ones keep their names.
func versionObjects(d *Desired, version func([]byte) string) error {
	secretNames, configNames := map[string]string{}, map[string]string{}
	for i := range d.Secrets {
		s := &d.Secrets[i]
		if s.Source.Kind != SourceFile || s.Name != d.Stack+"_"+s.Key {
			continue
		}
		name, err := versioned(d.Stack, "secret", s.Key, s.Source.Path, version(s.Data.Bytes()), s.Labels)
		if err != nil {
			return err
		}
		s.DockerName, s.Name = s.Name, name
		secretNames[s.DockerName] = name
	}
	for i := range d.Configs {
		c := &d.Configs[i]
		if c.Source.Kind != SourceFile || c.Name != d.Stack+"_"+c.Key {
			continue
		}
		name, err := versioned(d.Stack, "config", c.Key, c.Source.Path, version(c.Data.Bytes()), c.Labels)
		if err != nil {
			return err
		}
		c.DockerName, c.Name = c.Name, name
		configNames[c.DockerName] = name
	}
	for _, svc := range d.Services {
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		for _, ref := range cs.Secrets {
			if n, ok := secretNames[ref.SecretName]; ok {
				ref.SecretName = n
			}
		}
		for _, ref := range cs.Configs {
			if n, ok := configNames[ref.ConfigName]; ok {
				ref.ConfigName = n
			}
		}
	}
	sort.Slice(d.Secrets, func(i, j int) bool { return d.Secrets[i].Name < d.Secrets[j].Name })
	sort.Slice(d.Configs, func(i, j int) bool { return d.Configs[i].Name < d.Configs[j].Name })
	return nil
}

// versioned names one object and records its logical name and version in
// labels (never its content).
func versioned(stack, kind, key, file, version string, labels map[string]string) (string, error) {
	name := stack + "_" + key + "_" + version
	if len(name) > 64 {
		return "", fmt.Errorf("%s %s (%s): its versioned name %s is %d characters, Swarm allows 64: shorten the %s's key or the stack name",
			kind, key, file, name, len(name), kind)
	}
	labels[LabelName] = key
	labels[LabelVersion] = version
	return name, nil
}
