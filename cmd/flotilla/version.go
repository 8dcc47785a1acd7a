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

// versionInfo is `flotilla version -o json`.
type versionInfo struct {
	Flotilla    string      `json:"flotilla"`
	Commit      string      `json:"commit"`
	Go          string      `json:"go"`
	Platform    string      `json:"platform"`
	Engine      *engineInfo `json:"engine,omitempty"`
	EngineError string      `json:"engineError,omitempty"`
}

type engineInfo struct {
	Version       string `json:"version"`
	APIVersion    string `json:"apiVersion"`
	MinAPIVersion string `json:"minAPIVersion"`
	Negotiated    string `json:"negotiatedAPIVersion"`
}

func newVersionCmd(g *globals) *cobra.Command {
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "version [-o text|json]",
		Short: "Print Flotilla's version and, when an engine answers, Docker's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			info := versionInfo{Flotilla: version, Commit: buildCommit(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if d, err := g.docker(cmd.Context()); err != nil {
				g.logger().Debug("no engine answers", "err", err)
				info.EngineError = err.Error()
			} else {
				defer d.Close()
				if v, err := d.ServerVersion(cmd.Context()); err != nil {
					info.EngineError = err.Error()
				} else {
					info.Engine = &engineInfo{v.Version, v.APIVersion, v.MinAPIVersion, d.APIVersion()}
				}
			}
			if out.json() {
				return writeJSON(g.stdout, info)
			}
			w := g.stdout
			fmt.Fprintf(w, "Flotilla:   %s (commit %s)\n", info.Flotilla, info.Commit)
			fmt.Fprintf(w, "Go:         %s %s\n", info.Go, info.Platform)
			if e := info.Engine; e != nil {
				fmt.Fprintf(w, "Engine:     %s (API %s, minimum %s)\n", e.Version, e.APIVersion, e.MinAPIVersion)
				fmt.Fprintf(w, "Negotiated: API %s\n", e.Negotiated)
			} else {
				fmt.Fprintf(w, "Engine:     unavailable (%s)\n", info.EngineError)
			}
			return nil
		},
	}
	out.register(cmd.Flags(), "version")
	return cmd
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
