package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/secrets"
)

func newSecretsVersionKeyCmd(g *globals) *cobra.Command {
	var (
		rf    recipientFlags
		force bool
	)
	cmd := &cobra.Command{
		Use:   "version-key (-r RECIPIENT | -R FILE)... [--force] DIR",
		Short: "Write the stack directory's shared version key, encrypted to the recipients",
		Long: `Write DIR/` + secrets.RepoKeyFile + `: a random version key, encrypted to the
recipients (the same as the stack's secrets: every teammate and every operator
that deploys it). With it, a secret's or config's version — the suffix of its
name on the swarm — depends on its content and this key only, so whoever
deploys it, with any authorised identity, and after any rekey, the names stay
and nothing restarts. Commit the file; 'flotilla secrets rekey DIR' keeps it
readable for new recipients. Replacing an existing key (--force) renames every
secret and config of the stack once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := rf.recipients()
			if err != nil {
				return err
			}
			path := filepath.Join(args[0], secrets.RepoKeyFile)
			if _, err := os.Stat(path); err == nil && !force {
				return fmt.Errorf("%s exists: a new key renames every secret and config of the stack (and restarts what uses them); give --force to replace it", path)
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			ct, err := secrets.NewRepoKey(rs)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(path, ct, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s for %d recipients; commit it beside the stack file\n", path, len(rs))
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing key (renames every secret and config once)")
	return cmd
}
