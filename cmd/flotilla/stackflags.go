package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
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
		"age identity (X25519 or SSH key) for .age secret and config files; repeatable (env "+secrets.EnvIdentityFile+")")
}

// identityFiles are the identities given by flag or, without any, by
// the environment; none is fine until a stack file uses a .age file (the
// loader then says so by name).
func (s *stackFlags) identityFiles() []string {
	if len(s.identities) > 0 {
		return s.identities
	}
	var paths []string
	for _, p := range filepath.SplitList(os.Getenv(secrets.EnvIdentityFile)) {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// options checks the flags and turns them into stack.Options reading from the
// returned root directory, the first stack file's (stackRoot): nothing
// outside it can be read, as with a Git checkout. The --env-file files are
// the person's own, read here wherever they are.
func (s *stackFlags) options(stackName, apiVersion string) (string, stack.Options, error) {
	if len(s.files) == 0 {
		return "", stack.Options{}, &exitError{code: 2, err: fmt.Errorf("at least one -c FILE is required")}
	}
	variables := map[string]string{}
	for _, f := range s.envFiles {
		b, err := readCapped(f, stack.MaxFileSize)
		if err != nil {
			return "", stack.Options{}, fmt.Errorf("--env-file: %w", err)
		}
		parsed, err := stack.ParseEnvFile(f, b, variables)
		if err != nil {
			return "", stack.Options{}, err
		}
		maps.Copy(variables, parsed)
	}
	for _, kv := range s.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", stack.Options{}, &exitError{code: 2, err: fmt.Errorf("--var %q: want KEY=VALUE", kv)}
		}
		variables[k] = v
	}
	root, rel, err := stackRoot(s.files)
	if err != nil {
		return "", stack.Options{}, err
	}
	return root, stack.Options{
		Files:      rel,
		Stack:      stackName,
		Variables:  variables,
		APIVersion: apiVersion,
	}, nil
}

// readCapped reads a file of at most limit bytes, checking before it reads.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the limit of %d", path, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the limit of %d bytes", path, limit)
	}
	return b, nil
}

// load renders the stack from the local files, decrypting .age files in
// memory with the identities given.
func (s *stackFlags) load(ctx context.Context, g *globals, stackName, apiVersion string) (*stack.Desired, error) {
	root, opts, err := s.options(stackName, apiVersion)
	if err != nil {
		return nil, err
	}
	keys, err := secrets.NewSetup(s.identityFiles(), os.Getenv(secrets.EnvVersionKeyFile))
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

// plan connects to the engine, renders the stack files, checks them
// against policy (when not nil), reads the live stack and compares them.
// The caller closes the connection.
func (s *stackFlags) plan(ctx context.Context, g *globals, stackName string, policy *stack.Policy) (*cluster.Docker, diff.Plan, error) {
	d, err := g.docker(ctx)
	if err != nil {
		return nil, diff.Plan{}, err
	}
	desired, err := s.load(ctx, g, stackName, d.APIVersion())
	if err == nil && policy != nil {
		err = stack.CheckPolicy(desired, *policy)
	}
	if err == nil {
		var live *stack.Live
		if live, err = d.ReadStack(ctx, stackName); err == nil {
			return d, diff.Compute(desired, live), nil
		}
	}
	d.Close()
	return nil, diff.Plan{}, err
}
