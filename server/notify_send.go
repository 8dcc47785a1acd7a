package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

// target is one configured notification and its sender.
type target struct {
	cfg     *environments.Notification
	client  *http.Client
	metrics *Metrics
	log     *slog.Logger
	// name is the type and host only: a Slack webhook's path is its secret.
	name  string
	queue *queue
	// untitled is set once a shoutrrr service refused a title.
	untitled *shoutrrrUntitled

	attempts int
	timeout  time.Duration
	backoff  time.Duration
}

// targetName reads the URL once for its host (and, for shoutrrr, its
// service); an unreadable file shows as such here, and each send reads it
// again.
func targetName(n *environments.Notification) string {
	host := "(unreadable url)"
	if v, err := n.Target(); err == nil {
		u, err := url.Parse(string(v.Bytes()))
		switch {
		case err != nil:
		case n.Type == environments.ShoutrrrNotification && u.Scheme != "":
			service, _, _ := strings.Cut(u.Scheme, "+")
			host = strings.TrimSpace(service + " " + u.Host)
		case u.Host != "":
			host = u.Host
		}
	}
	return string(n.Type) + " " + host
}

func (t *target) run(ctx context.Context) {
	for {
		e, ok := t.queue.next(ctx)
		if !ok {
			return
		}
		if ctx.Err() != nil {
			// Close ran out of time: what is still queued is abandoned.
			t.metrics.notification(t.name, "dropped")
			continue
		}
		if err := t.deliver(ctx, e); err != nil {
			t.metrics.notification(t.name, "failed")
			t.log.Warn("notification failed", "event", e.Kind, "env", e.Environment, "err", err)
			continue
		}
		t.metrics.notification(t.name, "sent")
	}
}

// deliver sends e, retrying with a doubling backoff.
func (t *target) deliver(ctx context.Context, e Event) error {
	var send func(context.Context) error
	if t.cfg.Type == environments.ShoutrrrNotification {
		send = func(ctx context.Context) error { return t.shout(ctx, e) }
	} else {
		body, err := t.payload(e)
		if err != nil {
			return err
		}
		send = func(ctx context.Context) error { return t.post(ctx, body) }
	}
	var err error
	wait := t.backoff
	for attempt := 1; ; attempt++ {
		if err = send(ctx); err == nil || attempt == t.attempts {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
		if ctx.Err() != nil {
			break
		}
		wait *= 2
	}
	if err != nil {
		return fmt.Errorf("sending %s of %s: %w", e.Kind, e.Environment, err)
	}
	return nil
}

// post makes one attempt. The URL is read now, so a rotated Slack URL
// file needs no restart; errors never include it.
func (t *target) post(ctx context.Context, body []byte) error {
	target, err := t.cfg.Target()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, string(target.Bytes()), bytes.NewReader(body))
	if err != nil {
		return errors.New("the notification URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flotilla")
	resp, err := t.client.Do(req)
	if err != nil {
		// A *url.Error's text holds the URL; keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return fmt.Errorf("posting to %s: %w", req.URL.Host, ue.Err)
		}
		return errors.New("posting the notification failed")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting to %s: %s", req.URL.Host, resp.Status)
	}
	return nil
}

func (t *target) payload(e Event) ([]byte, error) {
	if t.cfg.Type == environments.SlackNotification {
		return json.Marshal(map[string]string{"text": slackText(e)})
	}
	return json.Marshal(e)
}

var slackIcons = map[EventKind]string{
	DeploySucceeded: ":white_check_mark:", DeployFailed: ":x:", DeployPaused: ":double_vertical_bar:",
	RolledBack: ":rewind:", DriftDetected: ":warning:", CommitQuarantined: ":no_entry:",
}

// slackEscape keeps text from turning into Slack links or mentions.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackText is Slack mrkdwn: a headline, then the message.
func slackText(e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s* (%s) %s", slackIcons[e.Kind], e.Environment, e.Stack, strings.ReplaceAll(string(e.Kind), "_", " "))
	if e.Commit.SHA != "" {
		fmt.Fprintf(&b, ": `%s` %s", e.Commit.Short(), slackEscape.Replace(e.Commit.Subject))
		if e.Commit.Author != "" {
			fmt.Fprintf(&b, " — %s", slackEscape.Replace(e.Commit.Author))
		}
	}
	if e.Message != "" {
		b.WriteString("\n" + slackEscape.Replace(e.Message))
	}
	return b.String()
}
