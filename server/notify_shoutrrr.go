package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
)

// A shoutrrr target reaches any service shoutrrr speaks to through one URL
// (discord://token@id, ntfy://host/topic, smtp://user:pass@host/?to=…).
// Such a URL usually holds a credential, and shoutrrr's errors may repeat
// it or the API URL built from it: every error is scrubbed of the URL's
// parts before it is logged.

// shoutrrrUntitled remembers, for the URL with this hash, that its
// service has no title field: the headline then goes in the message.
type shoutrrrUntitled struct {
	url [32]byte
}

// shoutrrrIcons lead the headline; every service shows Unicode.
var shoutrrrIcons = map[EventKind]string{
	DeploySucceeded: "✅", DeployFailed: "❌", DeployPaused: "⏸️",
	RolledBack: "⏪", DriftDetected: "⚠️", CommitQuarantined: "⛔",
}

// shoutrrrText is the event as a title and a plain-text body.
func shoutrrrText(e Event) (title, body string) {
	title = fmt.Sprintf("%s %s (%s): %s", shoutrrrIcons[e.Kind], e.Environment, e.Stack, strings.ReplaceAll(string(e.Kind), "_", " "))
	var lines []string
	if e.Commit.SHA != "" {
		line := e.Commit.Short() + " " + e.Commit.Subject
		if e.Commit.Author != "" {
			line += " — " + e.Commit.Author
		}
		lines = append(lines, line)
	}
	if e.Message != "" {
		lines = append(lines, e.Message)
	}
	return title, strings.Join(lines, "\n")
}

type shoutrrrResult struct {
	untitled bool
	err      error
}

// shout makes one attempt. The URL is read now, so a rotated file needs no
// restart, and each attempt sets its service up anew: shoutrrr's services
// keep state between sends (ntfy's headers pile up). Sends take no context
// in shoutrrr: one that outlives the attempt's timeout is left to finish on
// its own.
func (t *target) shout(ctx context.Context, e Event) error {
	target, err := t.cfg.Target()
	if err != nil {
		return err
	}
	raw := string(target.Bytes())
	key := sha256.Sum256(target.Bytes())
	untitled := t.untitled != nil && t.untitled.url == key
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	done := make(chan shoutrrrResult, 1)
	go func() {
		svc, err := (&router.ServiceRouter{}).Locate(raw)
		if err != nil {
			done <- shoutrrrResult{untitled: untitled, err: err}
			return
		}
		untitled, err := shoutrrrSend(svc, e, untitled)
		done <- shoutrrrResult{untitled: untitled, err: err}
	}()
	select {
	case r := <-done:
		if r.untitled {
			t.untitled = &shoutrrrUntitled{url: key}
		}
		if r.err != nil {
			return fmt.Errorf("sending to %s: %w", t.name, scrubURL(r.err, raw))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sending to %s: %w", t.name, ctx.Err())
	}
}

// shoutrrrSend gives the headline as the title where the service has one
// (untitled says it has not), else as the message's first line.
func shoutrrrSend(svc types.Service, e Event, untitled bool) (bool, error) {
	title, body := shoutrrrText(e)
	if !untitled {
		params := types.Params{}
		params.SetTitle(title)
		msg := body
		if msg == "" {
			msg = title
		}
		err := svc.Send(msg, &params)
		if !errors.Is(err, format.ErrInvalidConfigKey) {
			return false, err
		}
	}
	if body != "" {
		title += "\n" + body
	}
	return true, svc.Send(title, &types.Params{})
}

// scrubbedError is an error whose text no longer holds any part of a URL.
type scrubbedError struct{ msg string }

func (e *scrubbedError) Error() string { return e.msg }

// scrubURL rewrites err's text without the parts of raw that may be
// credentials: user and password, path segments, query values, and the
// URL whole, as written and as escaped.
func scrubURL(err error, raw string) error {
	msg := err.Error()
	secrets := []string{raw}
	if u, perr := url.Parse(raw); perr == nil {
		secrets = append(secrets, u.Opaque, u.RawQuery, u.Fragment)
		if u.User != nil {
			secrets = append(secrets, u.User.Username())
			if p, ok := u.User.Password(); ok {
				secrets = append(secrets, p)
			}
		}
		secrets = append(secrets, strings.Split(u.Path, "/")...)
		for _, vals := range u.Query() {
			secrets = append(secrets, vals...)
		}
	}
	var all []string
	for _, s := range secrets {
		// Shorter pieces are no credential, and would garble the text.
		if len(s) >= 4 {
			all = append(all, s, url.PathEscape(s), url.QueryEscape(s))
		}
	}
	// The longest first, so that a piece of a longer one does not leave
	// the rest behind.
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	for _, s := range all {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	return &scrubbedError{msg: msg}
}
