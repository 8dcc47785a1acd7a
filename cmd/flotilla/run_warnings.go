package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// warnUnkeyed says at WARN, once at start, which environments name their
// secrets and configs with unkeyed versions (no age identity, and no
// FLOTILLA_VERSION_KEY_FILE): anyone who can list the engine's secrets can
// then confirm a guessed value offline. A pass only notes it at debug.
func warnUnkeyed(log *slog.Logger, cfg *environments.Config) {
	if os.Getenv(secrets.EnvVersionKeyFile) != "" {
		return
	}
	var unkeyed []string
	for _, name := range cfg.EnvironmentNames() {
		if len(cfg.Environments[name].Identities) == 0 {
			unkeyed = append(unkeyed, name)
		}
	}
	if len(unkeyed) > 0 {
		log.Warn("secret and config versions are unkeyed content hashes: whoever can list the engine's secrets can confirm a guessed value; "+
			"give these environments an age identity, or set "+secrets.EnvVersionKeyFile, "environments", strings.Join(unkeyed, ","))
	}
}
