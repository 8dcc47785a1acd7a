package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/secrets"
)

func newSecretsEditCmd(g *globals) *cobra.Command {
	var idFiles []string
	var rf recipientFlags
	var allowDisk bool
	cmd := &cobra.Command{
		Use:   "edit [-i IDENTITY]... [-r RECIPIENT | -R FILE]... [--allow-disk] FILE.age",
		Short: "Decrypt FILE.age into a private temporary file, run $EDITOR, re-encrypt",
		Long: "The plaintext lives in a 0600 file inside a fresh 0700 directory on a memory file system\n" +
			"($XDG_RUNTIME_DIR or /dev/shm, when they are tmpfs), and is removed when the editor exits,\n" +
			"whatever happens. Without one, edit refuses unless --allow-disk. Directories an earlier\n" +
			"edit left behind (it was killed) are removed first. A FILE.age that does not exist yet is created.\n\n" +
			"The file is encrypted for the recipients given with -r and -R; else for those the\n" +
			"repository declares in the nearest " + recipientsFile + " file (beside FILE.age, or in a\n" +
			"directory above it within its Git repository); else for the identities' own keys.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			// Recipients are checked before the editor opens, not after
			// the operator has typed the new value.
			rs, from, err := rf.forFile(path)
			if err != nil {
				return err
			}
			var old secrets.Value
			defer func() { clear(old.Bytes()) }()
			armored, mode := false, os.FileMode(0o644)
			var ids []age.Identity
			ct, err := os.ReadFile(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if len(rs) == 0 {
					// A new file for the identity's own key, if there is one.
					if ids, err = g.identities(idFiles); err != nil {
						return noRecipient(path)
					}
				}
			case err != nil:
				return fmt.Errorf("editing: %w", err)
			default:
				if ids, err = g.identities(idFiles); err != nil {
					return err
				}
				if old, err = secrets.DecryptLimit(path, ct, ids, secrets.ConfigLimit); err != nil {
					return fmt.Errorf("editing: decrypting %w", err)
				}
				armored = secrets.IsArmored(ct)
				if fi, err := os.Stat(path); err == nil {
					mode = fi.Mode().Perm()
				}
			}
			own := len(rs) == 0
			if own {
				if rs = ownRecipients(ids); len(rs) == 0 {
					return noRecipient(path)
				}
			}
			dir, err := privateTempDir(editPlaces(), os.TempDir(), allowDisk, g.stderr)
			if err != nil {
				return fmt.Errorf("editing %s (left unchanged): %w", path, err)
			}
			edited, err := editPrivately(dir, filepath.Base(path), old.Bytes(), g.stdout, g.stderr)
			defer clear(edited)
			if err != nil {
				return fmt.Errorf("editing %s (left unchanged): %w", path, err)
			}
			if ct != nil && bytes.Equal(edited, old.Bytes()) {
				fmt.Fprintf(g.stdout, "%s unchanged\n", path)
				return nil
			}
			if err := secrets.CheckSize("the edited content", len(edited), secrets.ConfigLimit); err != nil {
				return fmt.Errorf("editing %s (left unchanged): %w", path, err)
			}
			newCt, err := secrets.Encrypt(edited, rs, armored)
			if err != nil {
				return fmt.Errorf("editing %s (left unchanged): %w", path, err)
			}
			if err := writeFileAtomic(path, newCt, mode); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "encrypted %s\n", path)
			switch {
			case own && ct != nil:
				fmt.Fprintf(g.stderr, "Note: no %s file declares who %s is for: it is now encrypted for your identity "+
					"only (%s). Whoever else could decrypt it before no longer can; list everyone in %s beside it.\n",
					recipientsFile, path, recipientNames(rs), recipientsFile)
			case own:
				fmt.Fprintf(g.stderr, "Note: %s is encrypted for your identity only (%s); list everyone who needs it in a %s file.\n",
					path, recipientNames(rs), recipientsFile)
			case from != "":
				fmt.Fprintf(g.stdout, "(for the recipients in %s)\n", from)
			}
			if len(ids) > 0 && !canDecrypt(path, newCt, ids) {
				fmt.Fprintf(g.stderr, "Warning: none of the identities used can decrypt %s any more: its recipients leave you out.\n", path)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&idFiles, "identity", "i", nil, "identity file (age or SSH private key); repeatable (default: $"+secrets.EnvIdentityFile+")")
	cmd.Flags().BoolVar(&allowDisk, "allow-disk", false, "write the plaintext to the temporary directory on disk when no memory file system is found")
	rf.register(cmd)
	return cmd
}

// editPrivately writes content to a file only we can read in dir, lets the
// operator edit it and returns the result. The directory goes away on every
// path out, with the editor's swap and backup files in it.
func editPrivately(dir, name string, content []byte, stdout, stderr io.Writer) (edited []byte, err error) {
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("PLAINTEXT LEFT ON DISK, remove it by hand: %w", rmErr))
		}
	}()
	file := filepath.Join(dir, strings.TrimSuffix(name, ".age"))
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing plaintext for the editor: %w", err)
	}
	_, err = f.Write(content)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("writing plaintext for the editor: %w", err)
	}
	if err := runEditor(file, stdout, stderr); err != nil {
		return nil, err
	}
	edited, err = os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the edited file: %w", err)
	}
	return edited, nil
}

// editDirPrefix names the directories edit makes; the process's ID follows,
// so a later edit can tell one left by a killed edit from one in use.
const editDirPrefix = "flotilla-edit-"

// editPlaces are where the plaintext may go, in order: the user's runtime
// directory, /dev/shm, the temporary directory — those on a memory file
// system.
func editPlaces() []string {
	var places []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		places = append(places, d)
	}
	return append(places, "/dev/shm", os.TempDir())
}

// privateTempDir makes a 0700 directory for the plaintext in the first of
// places on a memory file system, so it never reaches a disk. Without one
// it refuses, unless allowDisk: then it uses disk, in tmp. It first removes
// the directories killed edits left in places and tmp.
func privateTempDir(places []string, tmp string, allowDisk bool, stderr io.Writer) (string, error) {
	for _, p := range append(places, tmp) {
		for _, stale := range staleEditDirs(p) {
			if err := os.RemoveAll(stale); err != nil {
				fmt.Fprintf(stderr, "PLAINTEXT LEFT ON DISK by an interrupted edit, remove it by hand: %v\n", err)
				continue
			}
			fmt.Fprintf(stderr, "removed %s, left by an interrupted edit\n", stale)
		}
	}
	pattern := fmt.Sprintf("%s%d-*", editDirPrefix, os.Getpid())
	for _, p := range places {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() || !inMemory(p) {
			continue
		}
		if dir, err := os.MkdirTemp(p, pattern); err == nil {
			return dir, nil
		}
	}
	if !allowDisk {
		return "", fmt.Errorf("no memory file system for the plaintext (%s): refusing to write it to disk; pass --allow-disk to accept that",
			strings.Join(places, ", "))
	}
	dir, err := os.MkdirTemp(tmp, pattern)
	if err != nil {
		return "", fmt.Errorf("creating a private directory for the plaintext: %w", err)
	}
	fmt.Fprintf(stderr, "the plaintext goes to %s, on disk (--allow-disk)\n", dir)
	return dir, nil
}

// staleEditDirs lists the edit directories in dir that are ours and whose
// edit is no longer running.
func staleEditDirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), editDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() || alive(pid) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(path); err != nil || !ownedByUs(fi) {
			continue
		}
		out = append(out, path)
	}
	return out
}

// runEditor runs $EDITOR (default vi) on file. SIGINT and SIGTERM go to the
// editor instead of ending flotilla, so the plaintext is still removed after
// the editor exits.
func runEditor(file string, stdout, stderr io.Writer) error {
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command(editor, file)
	// Like git: an editor with spaces or shell characters ("code --wait")
	// is a shell command line, the file its argument.
	if strings.ContainsAny(editor, "|&;<>()$`\\\"' \t\n*?[#~=%") {
		cmd = exec.Command("sh", "-c", editor+` "$@"`, editor, file)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the editor %q: %w", editor, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var interrupted os.Signal
	for {
		select {
		case sig := <-sigs:
			interrupted = sig
			_ = cmd.Process.Signal(sig) // it may have exited already
		case err := <-done:
			switch {
			case interrupted != nil:
				return fmt.Errorf("interrupted by %v", interrupted)
			case err != nil:
				return fmt.Errorf("the editor %q failed: %w", editor, err)
			}
			return nil
		}
	}
}

func newSecretsRekeyCmd(g *globals) *cobra.Command {
	var idFiles []string
	var rf recipientFlags
	cmd := &cobra.Command{
		Use:   "rekey [-i IDENTITY]... [-r RECIPIENT | -R FILE]... DIR",
		Short: "Re-encrypt every .age file under DIR for the given recipients",
		Long: "Content is unchanged, so versions are too and nothing restarts. Armored files stay armored.\n" +
			"Each file is replaced atomically; a file that fails is reported and left as it was.\n" +
			"Without -r and -R each file is encrypted for the recipients its nearest " + recipientsFile + "\n" +
			"declares (edit that file, then rekey). A warning names the files none of the identities\n" +
			"used can decrypt afterwards.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []age.Recipient
			if rf.given() {
				var err error
				if rs, err = rf.recipients(); err != nil {
					return err
				}
			}
			ids, err := g.identities(idFiles)
			if err != nil {
				return err
			}
			files, err := ageFiles(args[0])
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("rekeying: no .age file under %s", args[0])
			}
			var errs []error
			var lockedOut []string
			for _, path := range files {
				fileRs := rs
				if fileRs == nil {
					_, declared, err := declaredRecipients(path)
					if err == nil && declared == nil {
						err = fmt.Errorf("no recipient: give -r KEY or -R FILE, or list them in a %s file beside it", recipientsFile)
					}
					if err != nil {
						errs = append(errs, fmt.Errorf("rekeying %s: %w", path, err))
						continue
					}
					fileRs = declared
				}
				ct, err := rekeyFile(path, ids, fileRs)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.stdout, "rekeyed %s\n", path)
				if !canDecrypt(path, ct, ids) {
					lockedOut = append(lockedOut, path)
				}
			}
			fmt.Fprintf(g.stdout, "%d of %d files rekeyed\n", len(files)-len(errs), len(files))
			if len(lockedOut) > 0 {
				fmt.Fprintf(g.stderr, "Warning: none of the identities used can decrypt %s any more: the new recipients "+
					"leave you out. Make sure someone (the operator's identity) still can.\n", strings.Join(lockedOut, ", "))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringArrayVarP(&idFiles, "identity", "i", nil, "identity file (age or SSH private key); repeatable (default: $"+secrets.EnvIdentityFile+")")
	rf.register(cmd)
	return cmd
}

// rekeyFile re-encrypts path for rs and returns the new ciphertext.
func rekeyFile(path string, ids []age.Identity, rs []age.Recipient) ([]byte, error) {
	ct, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rekeying: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("rekeying: %w", err)
	}
	v, err := secrets.DecryptLimit(path, ct, ids, secrets.ConfigLimit)
	if err != nil {
		return nil, fmt.Errorf("rekeying: decrypting %w", err)
	}
	defer clear(v.Bytes())
	newCt, err := secrets.Encrypt(v.Bytes(), rs, secrets.IsArmored(ct))
	if err != nil {
		return nil, fmt.Errorf("rekeying %s: %w", path, err)
	}
	return newCt, writeFileAtomic(path, newCt, fi.Mode().Perm())
}
