package main

import (
	"encoding/json"
	"fmt"
	"os"
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

// renderRoot picks the directory every file is read from: the current
// directory when all paths are inside it, else the first file's directory.
// Nothing outside that root can be read, as with a Git checkout.
func renderRoot(paths []string) (string, []string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", nil, fmt.Errorf("finding the current directory: %w", err)
	}
	first, err := filepath.Abs(paths[0])
	if err != nil {
		return "", nil, err
	}
	for _, root := range []string{cwd, filepath.Dir(first)} {
		if rel, ok := relativeAll(root, paths); ok {
			return root, rel, nil
		}
	}
	return "", nil, fmt.Errorf("render: files must all be inside %s or %s", cwd, filepath.Dir(first))
}

func relativeAll(root string, paths []string) ([]string, bool) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, false
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, false
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, true
}
