package diff_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// applyPlan stands in for the apply package in these tests: it executes a
// plan's changes in order through cluster's write methods, without waiting
// for tasks. It does what the plan says and nothing else.
func applyPlan(t testing.TB, d *cluster.Docker, p diff.Plan) {
	t.Helper()
	if err := execute(t.Context(), d, p); err != nil {
		t.Fatalf("applying plan: %v", err)
	}
}

// converge applies plans for desired until one is empty. The engine bumps a
// service's version right after creating it (allocating its endpoint), so an
// update planned from an older read fails "out of sequence": plan again then,
// as apply does.
func converge(t testing.TB, d *cluster.Docker, desired *stack.Desired) {
	t.Helper()
	ctx := t.Context()
	applied := false
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		live, err := d.ReadStack(ctx, desired.Stack)
		if err != nil {
			return false, "", err
		}
		p := diff.Compute(desired, live)
		switch {
		case !p.HasChanges():
			return true, "", nil
		case applied:
			return false, "", fmt.Errorf("after applying a plan, changes remain: %v", outline(p))
		}
		err = execute(ctx, d, p)
		if cluster.IsOutOfSequence(err) {
			return false, err.Error(), nil
		}
		applied = err == nil
		return false, "", err
	})
}

func execute(ctx context.Context, d *cluster.Docker, p diff.Plan) error {
	if len(p.Conflicts()) > 0 {
		return fmt.Errorf("plan has conflicts: %s", p.Conflicts()[0].Conflict)
	}
	live, err := d.ReadStack(ctx, p.Stack)
	if err != nil {
		return err
	}
	secretIDs, configIDs := map[string]string{}, map[string]string{}
	for _, s := range live.Secrets {
		secretIDs[s.Spec.Name] = s.ID
	}
	for _, c := range live.Configs {
		configIDs[c.Spec.Name] = c.ID
	}
	// External secrets and configs are not part of the stack's live state.
	var extSecrets, extConfigs []string
	for _, c := range p.Changes {
		if c.Service == nil {
			continue
		}
		for _, r := range c.Service.Spec.TaskTemplate.ContainerSpec.Secrets {
			if secretIDs[r.SecretName] == "" {
				extSecrets = append(extSecrets, r.SecretName)
			}
		}
		for _, r := range c.Service.Spec.TaskTemplate.ContainerSpec.Configs {
			if configIDs[r.ConfigName] == "" {
				extConfigs = append(extConfigs, r.ConfigName)
			}
		}
	}
	if len(extSecrets) > 0 {
		ids, err := d.SecretIDs(ctx, extSecrets)
		if err != nil {
			return err
		}
		maps.Copy(secretIDs, ids)
	}
	if len(extConfigs) > 0 {
		ids, err := d.ConfigIDs(ctx, extConfigs)
		if err != nil {
			return err
		}
		maps.Copy(configIDs, ids)
	}
	for _, c := range p.Changes {
		if c.Action == diff.ActionReplace || c.Action == diff.ActionDelete {
			if err := remove(ctx, d, c); err != nil {
				return err
			}
		}
		if c.Action != diff.ActionCreate && c.Action != diff.ActionReplace && c.Action != diff.ActionUpdate {
			continue
		}
		create := c.Action != diff.ActionUpdate
		var err error
		switch c.Kind {
		case diff.KindNetwork:
			_, err = d.CreateNetwork(ctx, c.Name, c.Network.Create)
		case diff.KindSecret:
			spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: c.Name, Labels: c.Secret.Labels}}
			if !create {
				err = d.UpdateSecret(ctx, c.Live.ID, c.Live.Version, spec)
				break
			}
			spec.Data = c.Secret.Data.Bytes()
			secretIDs[c.Name], err = d.CreateSecret(ctx, spec)
		case diff.KindConfig:
			spec := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: c.Name, Labels: c.Config.Labels}, Data: c.Config.Data.Bytes()}
			if !create {
				err = d.UpdateConfig(ctx, c.Live.ID, c.Live.Version, spec)
				break
			}
			configIDs[c.Name], err = d.CreateConfig(ctx, spec)
		case diff.KindService:
			spec := c.Service.Spec
			cs := *spec.TaskTemplate.ContainerSpec
			cs.Secrets, cs.Configs = nil, nil
			for _, r := range spec.TaskTemplate.ContainerSpec.Secrets {
				r := *r
				r.SecretID = secretIDs[r.SecretName]
				cs.Secrets = append(cs.Secrets, &r)
			}
			for _, r := range spec.TaskTemplate.ContainerSpec.Configs {
				r := *r
				r.ConfigID = configIDs[r.ConfigName]
				cs.Configs = append(cs.Configs, &r)
			}
			spec.TaskTemplate.ContainerSpec = &cs
			if create {
				_, _, err = d.CreateService(ctx, spec, cluster.ServiceOptions{})
				break
			}
			spec.TaskTemplate.ForceUpdate = c.Live.Spec.TaskTemplate.ForceUpdate
			_, err = d.UpdateService(ctx, c.Live.ID, c.Live.Version, spec, cluster.ServiceOptions{})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func remove(ctx context.Context, d *cluster.Docker, c diff.Change) error {
	switch c.Kind {
	case diff.KindNetwork:
		return d.RemoveNetwork(ctx, c.Live.ID)
	case diff.KindSecret:
		return d.RemoveSecret(ctx, c.Live.ID)
	case diff.KindConfig:
		return d.RemoveConfig(ctx, c.Live.ID)
	default:
		return d.RemoveService(ctx, c.Live.ID)
	}
}
