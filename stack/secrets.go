package stack

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// fileObject is what secrets and configs share in the stack file.
type fileObject struct {
	objName                string
	source                 Source
	data                   secrets.Value
	objLabels              map[string]string
	driver, templateDriver string
	driverOpts             map[string]string
}

// secrets are all the stack's secrets, used or not, as docker creates them.
func (r *renderer) secrets() ([]Secret, error) {
	var out []Secret
	for _, key := range sortedKeys(r.project.Secrets) {
		obj, err := r.fileObject("secret", key, types.FileObjectConfig(r.project.Secrets[key]))
		if err != nil {
			return nil, err
		}
		out = append(out, Secret{
			Key: key, Name: obj.objName, Source: obj.source, Labels: obj.objLabels,
			Driver: obj.driver, DriverOpts: obj.driverOpts, TemplateDriver: obj.templateDriver, Data: obj.data,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// configs are all the stack's configs, used or not.
func (r *renderer) configs() ([]Config, error) {
	var out []Config
	for _, key := range sortedKeys(r.project.Configs) {
		cfg := types.FileObjectConfig(r.project.Configs[key])
		if cfg.Driver != "" {
			return nil, fmt.Errorf("config %s: configs have no driver", key)
		}
		obj, err := r.fileObject("config", key, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, Config{
			Key: key, Name: obj.objName, Source: obj.source, Labels: obj.objLabels,
			TemplateDriver: obj.templateDriver, Data: obj.data,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *renderer) fileObject(kind, key string, c types.FileObjectConfig) (fileObject, error) {
	obj := fileObject{objName: c.Name, templateDriver: c.TemplateDriver}
	if c.External {
		obj.source = Source{Kind: SourceExternal}
		return obj, nil
	}
	obj.objLabels = r.ownLabels(c.Labels)
	if c.Driver != "" && c.File != "" {
		return fileObject{}, fmt.Errorf("%s %s: driver and file conflict; use only driver", kind, key)
	}
	if c.Driver != "" {
		// A secret driver provides the content: docker sends none.
		obj.driver, obj.driverOpts = c.Driver, c.DriverOpts
		obj.source = Source{Kind: SourceDriver}
		obj.data = secrets.NewValue([]byte{})
		return obj, nil
	}
	if c.File == "" {
		return fileObject{}, fmt.Errorf("%s %s: no file, external or driver given", kind, key)
	}
	encrypted := strings.HasSuffix(c.File, ".age")
	if encrypted && kind == "config" {
		return fileObject{}, encryptedConfig(key, c.File, "age")
	}
	// A secret's file may be a SOPS file, found by its content, and
	// larger than what it holds: read as much as an age file may be, and
	// check the size of what is deployed once decrypted.
	limit := maxEncryptedFile
	if kind == "config" {
		limit = maxConfigFile
	}
	p, b, err := readFile(r.fsys, r.dir, c.File, limit)
	if err != nil {
		return fileObject{}, fmt.Errorf("%s %s: %w", kind, key, err)
	}
	obj.source = Source{Kind: SourceFile, Path: p}
	if strings.HasSuffix(p, ".age") { // reached through a link
		if kind == "config" {
			return fileObject{}, encryptedConfig(key, p, "age")
		}
		encrypted = true
	}
	how := "age"
	if !encrypted && secrets.IsSOPS(p, b) {
		if kind == "config" {
			return fileObject{}, encryptedConfig(key, p, "SOPS")
		}
		encrypted, how = true, "SOPS"
	}
	if encrypted {
		obj.source.Encrypted = true
		if r.opts.Decrypt == nil {
			return fileObject{}, fmt.Errorf("%s %s: %s is %s-encrypted and no decryption key is configured", kind, key, p, how)
		}
		v, err := r.opts.Decrypt(p, b)
		if err != nil {
			if namesFile(err) {
				return fileObject{}, fmt.Errorf("%s %s: decrypting: %w", kind, key, err)
			}
			return fileObject{}, fmt.Errorf("%s %s: decrypting %s: %w", kind, key, p, err)
		}
		obj.data = v
		return obj, nil
	}
	if err := secrets.CheckSize(p, len(b), limits[kind]); err != nil {
		return fileObject{}, fmt.Errorf("%s %s: %w", kind, key, err)
	}
	obj.data = secrets.NewValue(b)
	return obj, nil
}

// namesFile reports whether a decryption error is one of package secrets'
// errors, which name the file already.
func namesFile(err error) bool {
	var fileErr *secrets.FileError
	var noIdentity *secrets.NoIdentityError
	return errors.As(err, &fileErr) || errors.As(err, &noIdentity)
}

// encryptedConfig refuses an encrypted config (age or SOPS): decrypting it
// would put the plaintext where anyone who can reach the engine's API
// reads it.
func encryptedConfig(key, file, how string) error {
	return fmt.Errorf("config %s: %s is %s-encrypted, but Docker stores configs unencrypted and shows them to anyone who can reach its API: declare it under secrets: instead",
		key, file, how)
}

// limits are Docker's, by kind of object.
var limits = map[string]secrets.SizeLimit{"secret": secrets.SecretLimit, "config": secrets.ConfigLimit}

// fileRef is a service's reference to a secret or config, with docker's
// defaults: target = source key, uid and gid "0", mode 0444.
func fileRef(ref types.FileReferenceConfig) (target, uid, gid string, mode os.FileMode) {
	target, uid, gid, mode = ref.Target, ref.UID, ref.GID, 0o444
	if target == "" {
		target = ref.Source
	}
	if uid == "" {
		uid = "0"
	}
	if gid == "" {
		gid = "0"
	}
	if ref.Mode != nil {
		mode = os.FileMode(*ref.Mode)
	}
	return target, uid, gid, mode
}

// secretRefs name secrets by SecretName only: the applier fills the IDs.
func (r *renderer) secretRefs(refs []types.ServiceSecretConfig) ([]*swarm.SecretReference, error) {
	var out []*swarm.SecretReference
	targets := map[string]bool{}
	for _, ref := range refs {
		s, ok := r.project.Secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("undefined secret %q", ref.Source)
		}
		target, uid, gid, mode := fileRef(types.FileReferenceConfig(ref))
		if targets[target] {
			return nil, fmt.Errorf("duplicate secret target for %s not allowed", s.Name)
		}
		targets[target] = true
		out = append(out, &swarm.SecretReference{
			File:       &swarm.SecretReferenceFileTarget{Name: target, UID: uid, GID: gid, Mode: mode},
			SecretName: s.Name,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].SecretName != out[j].SecretName {
			return out[i].SecretName < out[j].SecretName
		}
		return out[i].File.Name < out[j].File.Name
	})
	return out, nil
}

func (r *renderer) configRefs(refs []types.ServiceConfigObjConfig) ([]*swarm.ConfigReference, error) {
	var out []*swarm.ConfigReference
	targets := map[string]bool{}
	for _, ref := range refs {
		c, ok := r.project.Configs[ref.Source]
		if !ok {
			return nil, fmt.Errorf("undefined config %q", ref.Source)
		}
		target, uid, gid, mode := fileRef(types.FileReferenceConfig(ref))
		if targets[target] {
			return nil, fmt.Errorf("duplicate config target for %s not allowed", c.Name)
		}
		targets[target] = true
		out = append(out, &swarm.ConfigReference{
			File:       &swarm.ConfigReferenceFileTarget{Name: target, UID: uid, GID: gid, Mode: mode},
			ConfigName: c.Name,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ConfigName != out[j].ConfigName {
			return out[i].ConfigName < out[j].ConfigName
		}
		return out[i].File.Name < out[j].File.Name
	})
	return out, nil
}
