package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time: -ldflags "-X main.version=v0.1.0 -X main.commit=abc123".
var (
	version = "dev"
	commit  = ""
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Flotilla's version and, when an engine answers, Docker's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := g.stdout
			fmt.Fprintf(w, "Flotilla:   %s (commit %s)\n", version, buildCommit())
			fmt.Fprintf(w, "Go:         %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			d, err := g.docker(cmd.Context())
			if err != nil {
				g.logger().Debug("no engine answers", "err", err)
				fmt.Fprintf(w, "Engine:     unavailable (%v)\n", err)
				return nil
			}
			defer d.Close()
			v, err := d.ServerVersion(cmd.Context())
			if err != nil {
				fmt.Fprintf(w, "Engine:     unavailable (%v)\n", err)
				return nil
			}
			fmt.Fprintf(w, "Engine:     %s (API %s, minimum %s)\n", v.Version, v.APIVersion, v.MinAPIVersion)
			fmt.Fprintf(w, "Negotiated: API %s\n", d.APIVersion())
			return nil
		},
	}
}

// buildCommit prefers the commit set with -ldflags, then the VCS stamp the Go
// toolchain records when building inside a checkout.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
