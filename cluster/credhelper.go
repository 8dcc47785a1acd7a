package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// The credential helper protocol, as the docker CLI speaks it: the program
// docker-credential-NAME is run with the argument "get", the server address
// on its standard input; it prints {"ServerURL","Username","Secret"} as
// JSON, or fails printing the not-found message below.
const (
	credentialHelperPrefix = "docker-credential-"
	credentialsNotFound    = "credentials not found in native keychain"
	// tokenUsername in a helper's answer says Secret is an identity token.
	tokenUsername = "<token>"
)

// runCredentialHelper asks helper for server's credentials.
func runCredentialHelper(ctx context.Context, helper, server string) (Credentials, bool, error) {
	program := credentialHelperPrefix + helper
	cmd := exec.CommandContext(ctx, program, "get")
	cmd.Stdin = strings.NewReader(server)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == credentialsNotFound {
			return Credentials{}, false, nil
		}
		if errors.Is(err, exec.ErrNotFound) {
			return Credentials{}, false, fmt.Errorf("credential helper %s for %s is not installed (%w)", program, server, err)
		}
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		return Credentials{}, false, fmt.Errorf("credential helper %s for %s: %w: %s", program, server, err, msg)
	}
	var answer struct {
		Username string
		Secret   string
	}
	if err := json.Unmarshal(out, &answer); err != nil {
		// The output holds the secret: never quote it.
		return Credentials{}, false, fmt.Errorf("credential helper %s for %s: its answer is not the expected JSON", program, server)
	}
	if answer.Username == tokenUsername {
		return Credentials{IdentityToken: secrets.NewValue([]byte(answer.Secret))}, true, nil
	}
	return Credentials{Username: answer.Username, Password: secrets.NewValue([]byte(answer.Secret))}, true, nil
}
