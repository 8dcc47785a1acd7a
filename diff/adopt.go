package diff

import (
	"bytes"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// adoptDockerNames keeps the secrets and configs `docker stack deploy`
// created (<stack>_<key>) under their names, so adopting a docker-deployed
// stack changes only labels and restarts nothing. A config is adopted only
// when its data — which the engine returns — is what the stack wants; a
// secret's data never comes back, so it is adopted as is, and the plan says
// so. Adopting records the content version in a label; while the stack file's
// content keeps that version the docker name stays, so the deploy after the
// adoption has nothing to do. A new content gets a versioned name like any
// rotation, and the docker-named object is removed as superseded once the
// deploy succeeds. desired is not modified.
func adoptDockerNames(desired *stack.Desired, live *stack.Live) (*stack.Desired, map[string]string) {
	liveSecrets := indexBy(live.Secrets, func(s swarm.Secret) string { return s.Spec.Name })
	liveConfigs := indexBy(live.Configs, func(c swarm.Config) string { return c.Spec.Name })
	// Never adopted (no version label), or adopted at the content the
	// stack file still has.
	adoptable := func(live, want map[string]string) bool {
		v := live[stack.LabelVersion]
		return live[stack.LabelNamespace] == desired.Stack && (v == "" || v == want[stack.LabelVersion])
	}
	secretNames, configNames := map[string]string{}, map[string]string{}
	notes := map[string]string{}
	for _, s := range desired.Secrets {
		if l, ok := liveSecrets[s.DockerName]; ok && s.DockerName != "" && adoptable(l.Spec.Labels, s.Labels) {
			secretNames[s.Name] = s.DockerName
			if l.Spec.Labels[stack.LabelVersion] == "" {
				notes[s.DockerName] = "adopted under the name docker stack deploy gave it; Swarm never returns a secret's data, so its content is assumed to be the stack file's"
			}
		}
	}
	for _, c := range desired.Configs {
		if l, ok := liveConfigs[c.DockerName]; ok && c.DockerName != "" && adoptable(l.Spec.Labels, c.Labels) && bytes.Equal(l.Spec.Data, c.Data.Bytes()) {
			configNames[c.Name] = c.DockerName
		}
	}
	if len(secretNames)+len(configNames) == 0 {
		return desired, nil
	}

	out := *desired
	out.Secrets = append([]stack.Secret(nil), desired.Secrets...)
	for i, s := range out.Secrets {
		if n, ok := secretNames[s.Name]; ok {
			out.Secrets[i].Name = n
		}
	}
	out.Configs = append([]stack.Config(nil), desired.Configs...)
	for i, c := range out.Configs {
		if n, ok := configNames[c.Name]; ok {
			out.Configs[i].Name = n
		}
	}
	out.Services = make([]stack.Service, len(desired.Services))
	for i, svc := range desired.Services {
		out.Services[i] = svc
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if cs == nil || !refersTo(cs, secretNames, configNames) {
			continue
		}
		// deepCopy copies the references, so renaming them leaves desired alone.
		spec := deepCopy(svc.Spec)
		for _, r := range spec.TaskTemplate.ContainerSpec.Secrets {
			if n, ok := secretNames[r.SecretName]; ok {
				r.SecretName = n
			}
		}
		for _, r := range spec.TaskTemplate.ContainerSpec.Configs {
			if n, ok := configNames[r.ConfigName]; ok {
				r.ConfigName = n
			}
		}
		out.Services[i].Spec = spec
	}
	return &out, notes
}

func refersTo(cs *swarm.ContainerSpec, secretNames, configNames map[string]string) bool {
	for _, r := range cs.Secrets {
		if _, ok := secretNames[r.SecretName]; ok {
			return true
		}
	}
	for _, r := range cs.Configs {
		if _, ok := configNames[r.ConfigName]; ok {
			return true
		}
	}
	return false
}
