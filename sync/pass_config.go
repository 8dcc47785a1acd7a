package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// configDigest fingerprints what e's configuration adds to a commit to make
// the desired state: the files rendered and how (path, files, variables,
// identities, policy, prune, image pinning, registries). The desired state
// is commit + configuration: when this changes under a deployed commit, the
// pass deploys it like a new commit (trigger config) — it is not drift.
// Schedules, windows, selfHeal and deadlines say when and how to deploy,
// not what, and are left out.
func configDigest(e *environments.Environment) string {
	// What the operator derives for the policy — its own secret paths, the
	// other stacks on the cluster — changes with other environments, not
	// with this one's.
	policy := e.Policy
	policy.Name, policy.DeniedBindMounts, policy.Stacks = "", nil, nil
	var registries []string
	for _, host := range slices.Sorted(maps.Keys(e.Registries)) {
		registries = append(registries, host+"="+e.Registries[host].Username)
	}
	b, _ := json.Marshal(struct {
		Path, Stack, ResolveImage string
		Files, EnvFiles           []string
		Variables                 map[string]string
		Identities                []string
		Policy                    stack.Policy
		Prune                     bool
		Registries                []string
	}{e.Path, e.Stack, string(e.ResolveImage), e.Files, e.EnvFiles, e.Variables, e.Identities, policy, e.Prune, registries})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// CheckKeys loads every environment's identities and the version key, as a
// pass will: `flotilla validate` and a configuration reload (SIGHUP) refuse
// a configuration whose keys do not load, instead of failing every pass.
func CheckKeys(cfg *environments.Config, versionKeyFile string) error {
	var errs []error
	for _, name := range cfg.EnvironmentNames() {
		e, err := cfg.Environment(name)
		if err == nil {
			_, err = secrets.NewSetup(e.Identities, versionKeyFile)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("environment %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
