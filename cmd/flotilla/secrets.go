package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/secrets"
)

func newSecretsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Create keys and encrypt, decrypt, edit and rekey age-encrypted secret files",
		Long: "Secrets and configs whose file ends in .age are decrypted in memory at deploy time.\n" +
			"Identities come from -i FILE (repeatable) or " + secrets.EnvIdentityFile + ".",
	}
	cmd.AddCommand(
		newSecretsKeygenCmd(g),
		newSecretsEncryptCmd(g),
		newSecretsDecryptCmd(g),
		newSecretsEditCmd(g),
		newSecretsRekeyCmd(g),
		newSecretsVersionKeyCmd(g),
	)
	return cmd
}

func newSecretsKeygenCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen [-o FILE]",
		Short: "Generate an age identity; print its public recipient",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return fmt.Errorf("generating an identity: %w", err)
			}
			text := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n",
				time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
			if out == "" {
				_, err := fmt.Fprint(g.stdout, text)
				return err
			}
			// O_EXCL: an identity file is the only copy of a key; never
			// replace one.
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("writing identity: %w", err)
			}
			if _, err := f.WriteString(text); err != nil {
				f.Close()
				return fmt.Errorf("writing identity %s: %w", out, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("writing identity %s: %w", out, err)
			}
			_, err = fmt.Fprintln(g.stdout, id.Recipient())
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the identity to FILE (mode 0600; never overwritten)")
	return cmd
}

// recipientFlags are -r and -R, as age takes them.
type recipientFlags struct {
	keys  []string
	files []string
}

func (r *recipientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&r.keys, "recipient", "r", nil, "public key to encrypt for: age1… or ssh-ed25519/ssh-rsa; repeatable")
	cmd.Flags().StringArrayVarP(&r.files, "recipients-file", "R", nil, "file of public keys, one a line; repeatable")
}

func (r *recipientFlags) recipients() ([]age.Recipient, error) {
	var rs []age.Recipient
	for _, k := range r.keys {
		rec, err := secrets.ParseRecipient(k)
		if err != nil {
			return nil, err
		}
		rs = append(rs, rec)
	}
	for _, path := range r.files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading recipients: %w", err)
		}
		fileRs, err := secrets.ParseRecipients(path, data)
		if err != nil {
			return nil, err
		}
		rs = append(rs, fileRs...)
	}
	if len(rs) == 0 {
		return nil, noRecipient("")
	}
	return rs, nil
}

// given reports whether -r or -R was used.
func (r *recipientFlags) given() bool { return len(r.keys)+len(r.files) > 0 }

// forFile returns the recipients for the age file path: those of -r and
// -R, else those the repository declares for it (recipientsFile), with the
// file that declares them. No recipient is (nil, "", nil).
func (r *recipientFlags) forFile(path string) ([]age.Recipient, string, error) {
	if r.given() {
		rs, err := r.recipients()
		return rs, "", err
	}
	from, rs, err := declaredRecipients(path)
	return rs, from, err
}

func noRecipient(path string) error {
	where := "beside the file"
	if path != "" {
		where = "beside " + path
	}
	return &exitError{code: 2, err: fmt.Errorf("no recipient: give -r KEY or -R FILE, or list them in a %s file %s "+
		"(or in a directory above it, within its Git repository)", recipientsFile, where)}
}

// identities loads the -i files, or those named by FLOTILLA_AGE_IDENTITY_FILE,
// logging a warning for each file others can read.
func (g *globals) identities(paths []string) ([]age.Identity, error) {
	if len(paths) == 0 {
		for _, p := range filepath.SplitList(os.Getenv(secrets.EnvIdentityFile)) {
			if p != "" {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("no identity: give -i FILE or set %s", secrets.EnvIdentityFile)}
	}
	ids, warnings, err := secrets.LoadIdentities(paths...)
	for _, w := range warnings {
		g.logger().Warn(w)
	}
	return ids, err
}

func newSecretsEncryptCmd(g *globals) *cobra.Command {
	var rf recipientFlags
	var armored, force bool
	cmd := &cobra.Command{
		Use:   "encrypt [-r RECIPIENT | -R FILE]... [-a] [--force] FILE",
		Short: "Encrypt FILE into FILE.age",
		Long: "Encrypt FILE for the recipients given, or else for those the repository declares in the\n" +
			"nearest " + recipientsFile + " file (beside FILE, or in a directory above it within its Git\n" +
			"repository; one age or SSH public key a line, # comments). An existing FILE.age is kept\n" +
			"unless --force; 'secrets edit' changes one in place.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := args[0] + ".age"
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("encrypting %s: %s exists; --force replaces it, 'flotilla secrets edit %s' changes it in place",
					args[0], out, out)
			}
			rs, from, err := rf.forFile(out)
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				return noRecipient(out)
			}
			plain, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("encrypting: %w", err)
			}
			defer clear(plain)
			if err := secrets.CheckSize(args[0], len(plain), secrets.ConfigLimit); err != nil {
				return fmt.Errorf("encrypting: %w", err)
			}
			ct, err := secrets.Encrypt(plain, rs, armored)
			if err != nil {
				return fmt.Errorf("encrypting %s: %w", args[0], err)
			}
			if err := writeFileAtomic(out, ct, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s\n", out)
			if from != "" {
				fmt.Fprintf(g.stdout, "(for the recipients in %s)\n", from)
			}
			fmt.Fprintf(g.stdout, "Delete the plaintext %s now, so that it is never committed.\n", args[0])
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVarP(&armored, "armor", "a", false, "write ASCII-armored (PEM) age, friendlier to diffs and reviews")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing FILE.age")
	return cmd
}

func newSecretsDecryptCmd(g *globals) *cobra.Command {
	var idFiles []string
	cmd := &cobra.Command{
		Use:   "decrypt [-i IDENTITY]... FILE.age",
		Short: "Decrypt an age file to stdout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := g.identities(idFiles)
			if err != nil {
				return err
			}
			v, err := decryptFile(args[0], ids)
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(v.Bytes())
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&idFiles, "identity", "i", nil, "identity file (age or SSH private key); repeatable (default: $"+secrets.EnvIdentityFile+")")
	return cmd
}

// decryptFile reads and decrypts path with the larger config limit: a file
// may hold either kind.
func decryptFile(path string, ids []age.Identity) (secrets.Value, error) {
	ct, err := os.ReadFile(path)
	if err != nil {
		return secrets.Value{}, fmt.Errorf("decrypting: %w", err)
	}
	v, err := secrets.DecryptLimit(path, ct, ids, secrets.ConfigLimit)
	if err != nil {
		return secrets.Value{}, fmt.Errorf("decrypting %w", err)
	}
	return v, nil
}

// writeFileAtomic replaces path through a temporary file in the same
// directory and a rename, so a crash never leaves half an age file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ageFiles lists the regular .age files under dir, in lexical order.
func ageFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".age") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing age files under %s: %w", dir, err)
	}
	return files, nil
}
