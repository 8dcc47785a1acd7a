package server

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// access is what a request's bearer token allows.
type access int

const (
	accessNone  access = iota // no token, or a wrong one
	accessRead                // server.readTokenFile's token
	accessWrite               // server.tokenFile's token: reads and writes
)

// accessOf compares the request's bearer token with both tokens, in
// constant time.
func (s *Server) accessOf(r *http.Request) access {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return accessNone
	}
	g := []byte(strings.TrimSpace(given))
	switch {
	case s.hasToken && subtle.ConstantTimeCompare(g, s.token.Bytes()) == 1:
		return accessWrite
	case s.hasReadToken && subtle.ConstantTimeCompare(g, s.readToken.Bytes()) == 1:
		return accessRead
	}
	return accessNone
}

// public reports whether r reads without a token (server.publicRead): its
// answers carry no error text, commit message or e-mail address.
func (s *Server) public(r *http.Request) bool { return s.accessOf(r) < accessRead }

// reader lets r read with either token, or without one when the server's
// reads are public.
func (s *Server) reader(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.publicRead || s.accessOf(r) >= accessRead {
			next(w, r)
			return
		}
		if !s.hasToken && !s.hasReadToken {
			writeError(w, http.StatusForbidden, "the API's reads are closed: set server.readTokenFile or server.tokenFile, or server.publicRead: true")
			return
		}
		unauthorized(w)
	}
}

// authorized lets r through with the write token only.
func (s *Server) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.hasToken {
			writeError(w, http.StatusForbidden, "the API is read-only: set server.tokenFile to enable syncs, rollbacks and resumes over HTTP")
			return
		}
		switch s.accessOf(r) {
		case accessWrite:
			next(w, r)
		case accessRead:
			writeError(w, http.StatusForbidden, "this token can only read: syncs, rollbacks and resumes want server.tokenFile's")
		default:
			unauthorized(w)
		}
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="flotilla"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
}

// Public answers hide what only the people running the operator need:
// errors (they name files, hosts and repositories), commit messages and
// e-mail addresses.
const hiddenError = "failed (the details need an API token)"

func hideError(s string) string {
	if s == "" {
		return ""
	}
	return hiddenError
}

func hideErrors(l []string) []string {
	if len(l) == 0 {
		return l
	}
	return []string{hiddenError}
}

func hideCommit(c *Commit) {
	if c != nil {
		c.AuthorEmail, c.Message = "", ""
	}
}

func hideRecord(r *Record) {
	if r != nil {
		r.Error = hideError(r.Error)
		hideCommit(&r.Commit)
	}
}

func hideStatus(st *EnvironmentStatus) {
	st.Errors, st.LastError = hideErrors(st.Errors), hideError(st.LastError)
	hideRecord(st.Deployed)
	hideRecord(st.Last)
	hideCommit(st.Tip)
}

func hideSummary(s *EnvironmentSummary) {
	s.Errors, s.LastError = hideErrors(s.Errors), hideError(s.LastError)
	hideCommit(s.Deployed)
}
