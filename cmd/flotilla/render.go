package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-gitops/flotilla/stack"
)

func newRenderCmd(g *globals) *cobra.Command {
	var (
		sf         stackFlags
		apiVersion string
	)
	cmd := &cobra.Command{
		Use:   "render -c FILE [-c FILE…] [--var K=V] [--env-file F] STACK",
		Short: "Print the Swarm objects a stack file describes, as JSON (secret contents never shown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sf.stdin = cmd.InOrStdin()
			d, err := sf.load(cmd.Context(), g, args[0], apiVersion)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&apiVersion, "api-version", stack.DefaultAPIVersion, "engine API version whose keys are allowed")
	return cmd
}

// stackRoot is the directory stack files are read from: the first stack
// file's. What the files reference (secret and config files, env_file) is
// read inside it only, as from a Git checkout, whatever the current
// directory: a stack file from elsewhere cannot reach ~/.ssh by ../../.
// Overlays must be inside it too. It returns the files relative to it.
func stackRoot(files []string) (string, []string, error) {
	first, err := filepath.Abs(files[0])
	if err != nil {
		return "", nil, err
	}
	root := filepath.Dir(first)
	rel := make([]string, 0, len(files))
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", nil, err
		}
		r, err := filepath.Rel(root, abs)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "", nil, fmt.Errorf("-c %s: overlays must be inside the first stack file's directory, %s, which is what stack files read from", f, root)
		}
		rel = append(rel, filepath.ToSlash(r))
	}
	return root, rel, nil
}
