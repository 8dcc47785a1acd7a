package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/flotilla-gitops/flotilla/environments"
)

// push is what a push event says: the ref that moved and every URL the
// forge gives for the repository.
type push struct {
	Ref  string
	URLs []string
	// Deleted: the push removed the ref; there is nothing to deploy.
	Deleted bool
}

// zeroSHA is the "after" of a push that deleted its ref.
const zeroSHA = "0000000000000000000000000000000000000000"

// forgeRepo holds the URL fields GitHub, GitLab and Gitea put in a
// repository or project object; each sets some of them.
type forgeRepo struct {
	CloneURL   lenient `json:"clone_url"`
	SSHURL     lenient `json:"ssh_url"`
	GitURL     lenient `json:"git_url"`
	HTMLURL    lenient `json:"html_url"`
	URL        lenient `json:"url"`
	GitHTTPURL lenient `json:"git_http_url"`
	GitSSHURL  lenient `json:"git_ssh_url"`
	WebURL     lenient `json:"web_url"`
	HTTPURL    lenient `json:"http_url"`
	Homepage   lenient `json:"homepage"`
}

func (r forgeRepo) urls() []string {
	return []string{string(r.CloneURL), string(r.SSHURL), string(r.GitURL), string(r.HTMLURL), string(r.URL),
		string(r.GitHTTPURL), string(r.GitSSHURL), string(r.WebURL), string(r.HTTPURL), string(r.Homepage)}
}

// lenient is a string field that reads as "" when a forge (or a future
// version of one) puts something else under that name, so one odd field
// does not make a whole push unreadable.
type lenient string

func (l *lenient) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = lenient(s)
	}
	return nil
}

// forgePush is the part of a GitHub, GitLab or Gitea push event we read
// (GitLab names the repository "project" and keeps a legacy "repository").
type forgePush struct {
	Ref        string    `json:"ref"`
	After      lenient   `json:"after"`
	Deleted    any       `json:"deleted"` // GitHub's; the others only zero "after"
	Repository forgeRepo `json:"repository"`
	Project    forgeRepo `json:"project"`
}

// genericPush is the body /hooks/generic takes.
type genericPush struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Branch     string `json:"branch"`
}

// parsePush reads a push event of kind. GitHub and Gitea can send it
// form-encoded, as the payload field; the signature covers the raw body.
// A body that is a JSON object is read as JSON whatever the content type
// says: `curl -d '{…}'` labels JSON as a form.
func parsePush(kind environments.WebhookKind, contentType string, body []byte) (push, error) {
	var p push
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") && !isJSONObject(body) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, fmt.Errorf("reading the push event: %w", err)
		}
		body = []byte(form.Get("payload"))
	}
	if kind == environments.Generic {
		var g genericPush
		if err := json.Unmarshal(body, &g); err != nil {
			return p, fmt.Errorf(`reading the push event: want a JSON object such as {"repository": URL, "branch": NAME}: %w`, err)
		}
		p.Ref, p.URLs = g.Ref, []string{g.Repository}
		if p.Ref == "" && g.Branch != "" {
			p.Ref = "refs/heads/" + g.Branch
		}
	} else {
		var f forgePush
		if err := json.Unmarshal(body, &f); err != nil {
			return p, fmt.Errorf("reading the push event: %w", err)
		}
		p.Ref = f.Ref
		p.Deleted = f.Deleted == true || f.After == zeroSHA
		p.URLs = append(f.Repository.urls(), f.Project.urls()...)
	}
	p.URLs = nonEmpty(p.URLs)
	switch {
	case p.Ref == "":
		return p, errors.New("reading the push event: no ref")
	case !strings.HasPrefix(p.Ref, "refs/"):
		// Some senders give a bare branch name in "ref".
		p.Ref = "refs/heads/" + p.Ref
	}
	if len(p.URLs) == 0 {
		return p, errors.New("reading the push event: no repository URL")
	}
	return p, nil
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// isJSONObject reports a body that starts like a JSON object. A form field
// name cannot start with "{" in what a forge sends.
func isJSONObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
