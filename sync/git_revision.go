package sync

import (
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// Revision is a commit an environment can deploy: what history and status
// show about it.
type Revision struct {
	SHA string `json:"sha"`
	// Ref is the full ref it was the tip of (refs/heads/dev); Branch its short
	// name when it is a branch.
	Ref         string `json:"ref"`
	Branch      string `json:"branch,omitempty"`
	AuthorName  string `json:"authorName"`
	AuthorEmail string `json:"authorEmail"`
	// Date is the author date.
	Date time.Time `json:"date"`
	// Subject is the first line of Message.
	Subject string `json:"subject"`
	Message string `json:"message"`
}

// Short is the abbreviated SHA, for people.
func (r Revision) Short() string {
	return r.SHA[:min(len(r.SHA), 7)]
}

// Author is "Name <email>".
func (r Revision) Author() string {
	return r.AuthorName + " <" + r.AuthorEmail + ">"
}

func newRevision(ref string, c *object.Commit) Revision {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	branch, _ := strings.CutPrefix(ref, "refs/heads/")
	if branch == ref {
		branch = ""
	}
	return Revision{
		SHA:         c.Hash.String(),
		Ref:         ref,
		Branch:      branch,
		AuthorName:  c.Author.Name,
		AuthorEmail: c.Author.Email,
		Date:        c.Author.When,
		Subject:     strings.TrimSpace(subject),
		Message:     c.Message,
	}
}
