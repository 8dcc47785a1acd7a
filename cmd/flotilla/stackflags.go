package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// stackFlags are the flags of every command that renders a stack file the way
// `docker stack deploy -c` takes it.
type stackFlags struct {
	files      []string
	vars       []string
	envFiles   []string
	identities []string
}

func (s *stackFlags) register(f *pflag.FlagSet) {
	f.StringArrayVarP(&s.files, "compose-file", "c", nil, "stack file; repeat to merge overlays in order")
	f.StringArrayVar(&s.vars, "var", nil, "variable for ${VAR} interpolation, KEY=VALUE; repeatable")
	f.StringArrayVar(&s.envFiles, "env-file", nil, "file of KEY=VALUE variables; repeatable (--var wins)")
	f.StringArrayVarP(&s.identities, "identity", "i", nil,
		"age identity (X25519 or SSH key) for .age and SOPS secret files; repeatable (env "+secrets.EnvIdentityFile+
			", "+secrets.EnvSOPSAgeKeyFile+", "+secrets.EnvSOPSAgeKey+")")
}

// identitySources are the identities given by flag or, without any, by
// the environment (FLOTILLA_AGE_IDENTITY_FILE, SOPS_AGE_KEY_FILE, and
// SOPS_AGE_KEY's key material); none is fine until a stack file uses an
// encrypted file (the loader then says so by name).
func (s *stackFlags) identitySources() ([]string, []secrets.InlineIdentities) {
	if len(s.identities) > 0 {
		return s.identities, nil
	}
	return secrets.IdentitiesFromEnv(os.Getenv)
}

// options checks the flags and turns them into stack.Options reading from the
// returned root directory: nothing outside it can be read, as with a Git
// checkout.
func (s *stackFlags) options(stackName, apiVersion string) (string, stack.Options, error) {
	if len(s.files) == 0 {
		return "", stack.Options{}, &exitError{code: 2, err: fmt.Errorf("at least one -c FILE is required")}
	}
	variables := map[string]string{}
	for _, kv := range s.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", stack.Options{}, &exitError{code: 2, err: fmt.Errorf("--var %q: want KEY=VALUE", kv)}
		}
		variables[k] = v
	}
	root, rel, err := renderRoot(append(append([]string{}, s.files...), s.envFiles...))
	if err != nil {
		return "", stack.Options{}, err
	}
	return root, stack.Options{
		Files:      rel[:len(s.files)],
		EnvFiles:   rel[len(s.files):],
		Stack:      stackName,
		Variables:  variables,
		APIVersion: apiVersion,
	}, nil
}

// load renders the stack from the local files, decrypting .age files in
// memory with the identities given.
func (s *stackFlags) load(ctx context.Context, g *globals, stackName, apiVersion string) (*stack.Desired, error) {
	root, opts, err := s.options(stackName, apiVersion)
	if err != nil {
		return nil, err
	}
	files, inline := s.identitySources()
	keys, err := secrets.NewSetup(files, os.Getenv(secrets.EnvVersionKeyFile), inline...)
	if err != nil {
		return nil, err
	}
	log := g.logger()
	for _, w := range keys.Warnings {
		log.Warn(w)
	}
	if keys.Note != "" {
		log.Debug(keys.Note)
	}
	opts.Version = keys.Versioner.Version
	if keys.Decrypter != nil {
		opts.Decrypt = keys.Decrypter.Decrypt
	}
	return stack.Load(ctx, os.DirFS(root), opts)
}

// plan connects to the engine, renders the stack files, reads the live
// stack and compares them. The caller closes the connection.
func (s *stackFlags) plan(ctx context.Context, g *globals, stackName string) (*cluster.Docker, diff.Plan, error) {
	d, err := g.docker(ctx)
	if err != nil {
		return nil, diff.Plan{}, err
	}
	desired, err := s.load(ctx, g, stackName, d.APIVersion())
	if err == nil {
		var live *stack.Live
		if live, err = d.ReadStack(ctx, stackName); err == nil {
			return d, diff.Compute(desired, live), nil
		}
	}
	d.Close()
	return nil, diff.Plan{}, err
}
