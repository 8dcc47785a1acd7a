package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/stack"
)

// policyFlags are --policy and --config of deploy and diff. A person who
// runs `flotilla deploy` can already do anything on the engine, so no
// policy applies unless asked: --policy default checks the stack as an
// environment without a policy of its own would be, --policy env:NAME as
// environment NAME of the operator's configuration is — useful in CI, where
// the stack files come from someone with less access than the job.
type policyFlags struct {
	spec   string
	config configFlag
}

func (p *policyFlags) register(f *pflag.FlagSet) {
	f.StringVar(&p.spec, "policy", "none",
		"check the stack against a policy before anything is written: none, default (the operator's built-in one), or env:NAME (environment NAME's, from --config)")
	p.config.register(f)
}

// policy resolves the flag; nil means none.
func (p *policyFlags) policy() (*stack.Policy, error) {
	switch name, isEnv := strings.CutPrefix(p.spec, "env:"); {
	case p.spec == "none":
		return nil, nil
	case p.spec == "default":
		pol := stack.DefaultPolicy()
		return &pol, nil
	case isEnv && name != "":
		// CI has the configuration, not the operator's keys and tokens.
		cfg, err := environments.LoadOffline(p.config.path)
		if err != nil {
			return nil, fmt.Errorf("--policy %s: %w", p.spec, err)
		}
		e, err := cfg.Environment(name)
		if err != nil {
			return nil, fmt.Errorf("--policy %s: %w", p.spec, err)
		}
		return &e.Policy, nil
	}
	return nil, &exitError{code: 2, err: fmt.Errorf("--policy %q: want none, default or env:NAME", p.spec)}
}
