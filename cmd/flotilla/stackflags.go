package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
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
	// Set by the commands that plan against a swarm (registerPlan).
	resolveImage string
	registryAuth bool
	// stdin is where -c - reads the stack file from.
	stdin io.Reader
}

func (s *stackFlags) register(f *pflag.FlagSet) {
	f.StringArrayVarP(&s.files, "compose-file", "c", nil, "stack file, - for standard input; repeat to merge overlays in order")
	f.StringArrayVar(&s.vars, "var", nil, "variable for ${VAR} interpolation, KEY=VALUE; repeatable (the process environment is read too, as by docker; --env-file and --var win)")
	f.StringArrayVar(&s.envFiles, "env-file", nil, "file of KEY=VALUE variables; repeatable (--var wins)")
	f.StringArrayVarP(&s.identities, "identity", "i", nil,
		"age identity (X25519 or SSH key) for .age and SOPS secret files; repeatable (env "+secrets.EnvIdentityFile+
			", "+secrets.EnvSOPSAgeKeyFile+", "+secrets.EnvSOPSAgeKey+")")
}

// registerPlan adds the flags of the commands that compare the stack files
// with a swarm: how images are resolved, and with which credentials.
func (s *stackFlags) registerPlan(f *pflag.FlagSet) {
	f.StringVar(&s.resolveImage, "resolve-image", string(cluster.ResolveAlways),
		"pin image tags to digests from the registry: always, changed (images whose reference changed) or never")
	f.BoolVar(&s.registryAuth, "with-registry-auth", false,
		"send the registry credentials of the docker configuration (docker login) to the swarm, for every node to pull with")
}

// auth is the registry credentials to use: those of the docker
// configuration with --with-registry-auth, else none (as docker: images are
// then resolved and pulled anonymously).
func (s *stackFlags) auth() (cluster.RegistryAuth, error) {
	if !s.registryAuth {
		return nil, nil
	}
	cfg, err := cluster.LoadDockerConfig(cluster.DockerConfigDir(os.Getenv))
	if err != nil {
		return nil, err
	}
	return cfg, nil
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
// returned FS: the first stack file's directory (stackRoot), plus the stack
// file from standard input for -c -. Nothing outside that directory can be
// read, as with a Git checkout. Variables come from the process
// environment, as for docker, with the --env-file files (the person's own,
// read wherever they are) and --var on top.
func (s *stackFlags) options(stackName, apiVersion string) (fs.FS, stack.Options, error) {
	if len(s.files) == 0 {
		return nil, stack.Options{}, &exitError{code: 2, err: fmt.Errorf("at least one -c FILE is required")}
	}
	variables := map[string]string{}
	for _, f := range s.envFiles {
		b, err := readCapped(f, stack.MaxFileSize)
		if err != nil {
			return nil, stack.Options{}, fmt.Errorf("--env-file: %w", err)
		}
		parsed, err := stack.ParseEnvFile(f, b, variables)
		if err != nil {
			return nil, stack.Options{}, err
		}
		maps.Copy(variables, parsed)
	}
	for _, kv := range s.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, stack.Options{}, &exitError{code: 2, err: fmt.Errorf("--var %q: want KEY=VALUE", kv)}
		}
		variables[k] = v
	}
	var onDisk []string
	fromStdin := -1
	for i, f := range s.files {
		if f != "-" {
			onDisk = append(onDisk, f)
			continue
		}
		if fromStdin >= 0 {
			return nil, stack.Options{}, &exitError{code: 2, err: fmt.Errorf("-c - can be given only once")}
		}
		fromStdin = i
	}
	var (
		root  string
		files []string
		err   error
	)
	if len(onDisk) > 0 {
		root, files, err = stackRoot(onDisk)
	} else if root, err = os.Getwd(); err != nil {
		err = fmt.Errorf("finding the current directory: %w", err)
	}
	if err != nil {
		return nil, stack.Options{}, err
	}
	var fsys fs.FS = os.DirFS(root)
	if fromStdin >= 0 {
		data, err := readStdin(s.stdin)
		if err != nil {
			return nil, stack.Options{}, err
		}
		fsys = withStdin{dir: fsys, data: data}
		files = slices.Insert(slices.Clone(files), fromStdin, stdinFile)
	}
	return fsys, stack.Options{
		Files:      files,
		Stack:      stackName,
		Environ:    environ(),
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

// environ is the process environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	return env
}

// load renders the stack from the local files, decrypting .age files in
// memory with the identities given.
func (s *stackFlags) load(ctx context.Context, g *globals, stackName, apiVersion string) (*stack.Desired, error) {
	fsys, opts, err := s.options(stackName, apiVersion)
	if err != nil {
		return nil, err
	}
	files, inline := s.identitySources()
	keys, err := secrets.NewSetup(files, os.Getenv(secrets.EnvVersionKeyFile), inline...)
	if err != nil {
		return nil, err
	}
	if err := keys.UseRepoKey(fsys); err != nil {
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
	return stack.Load(ctx, fsys, opts)
}

// planned is a plan and what it was made with.
type planned struct {
	d    *cluster.Docker
	plan diff.Plan
	auth cluster.RegistryAuth
}

// plan connects to the engine, renders the stack files, checks them
// against policy (when not nil), reads the live stack, pins the images to
// digests as --resolve-image says, and compares them. The caller closes the
// connection.
func (s *stackFlags) plan(ctx context.Context, g *globals, stackName string, policy *stack.Policy) (*planned, error) {
	mode, err := cluster.ParseResolveImage(s.resolveImage)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	auth, err := s.auth()
	if err != nil {
		return nil, err
	}
	d, err := g.docker(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.planWith(ctx, g, d, stackName, policy, mode, auth)
	if err != nil {
		d.Close()
		return nil, err
	}
	return p, nil
}

func (s *stackFlags) planWith(ctx context.Context, g *globals, d *cluster.Docker, stackName string, policy *stack.Policy,
	mode cluster.ResolveImage, auth cluster.RegistryAuth) (*planned, error) {
	desired, err := s.load(ctx, g, stackName, d.APIVersion())
	if err != nil {
		return nil, err
	}
	if policy != nil {
		if err := stack.CheckPolicy(desired, *policy); err != nil {
			return nil, err
		}
	}
	live, err := d.ReadStack(ctx, stackName)
	if err != nil {
		return nil, err
	}
	if desired, err = cluster.PinImages(ctx, d, desired, live, mode, auth); err != nil {
		return nil, err
	}
	return &planned{d: d, plan: diff.Compute(desired, live), auth: auth}, nil
}
