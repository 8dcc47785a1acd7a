package environments

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
)

// CheckShoutrrrURL checks that a notification URL names a service shoutrrr
// knows (discord, teams, telegram, ntfy, gotify, matrix, mattermost, smtp,
// generic…), without contacting it: some services log in when set up. Its
// error names the scheme at most, never the URL, which may hold a token.
func CheckShoutrrrURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return errors.New("is not a shoutrrr URL such as discord://token@id or ntfy://ntfy.sh/topic")
	}
	service, _, _ := strings.Cut(u.Scheme, "+")
	if service == "http" || service == "https" {
		return errors.New("is an http(s) URL: use type webhook (or slack), or shoutrrr's generic+https://…")
	}
	if _, err := (&router.ServiceRouter{}).NewService(service); err != nil {
		return fmt.Errorf("names %q, which is not a shoutrrr service", service)
	}
	return nil
}
