package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	gosync "sync"
	"time"
)

// The dashboard's sign-in: a person pastes an API token once and gets a
// session cookie, so that the token never sits in the browser's storage.
// Sessions live in the process: a restart signs everyone out.
const (
	sessionCookie = "flotilla_session"
	// preCookie carries the random value the sign-in form's CSRF token is
	// derived from, before there is a session.
	preCookie  = "flotilla_signin"
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the memory sign-ins take; the oldest goes first.
	maxSessions = 1000
	csrfField   = "csrf"
	csrfHeader  = "X-CSRF-Token"
)

// session is one signed-in browser.
type session struct {
	access  access
	csrf    string
	created time.Time
}

// sessions are the signed-in browsers, by the SHA-256 of their cookie (a
// lookup then reveals nothing of a cookie through its timing).
type sessions struct {
	now func() time.Time
	// key derives the sign-in form's CSRF tokens.
	key []byte

	mu   gosync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions() *sessions {
	return &sessions{now: time.Now, key: []byte(randomToken()), byID: map[[sha256.Size]byte]*session{}}
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand: it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session with a; it returns the cookie's value.
func (ss *sessions) create(a access) (id string, s *session) {
	id = randomToken()
	s = &session{access: a, csrf: randomToken(), created: ss.now()}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	if len(ss.byID) >= maxSessions {
		var oldest [sha256.Size]byte
		first := true
		for k, v := range ss.byID {
			if first || v.created.Before(ss.byID[oldest].created) {
				oldest, first = k, false
			}
		}
		delete(ss.byID, oldest)
	}
	ss.byID[sha256.Sum256([]byte(id))] = s
	return id, s
}

func (ss *sessions) expireLocked() {
	now := ss.now()
	for k, v := range ss.byID {
		if now.Sub(v.created) > sessionTTL {
			delete(ss.byID, k)
		}
	}
}

// get is the live session of id, or nil.
func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[k]
	if s != nil && ss.now().Sub(s.created) > sessionTTL {
		delete(ss.byID, k)
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, sha256.Sum256([]byte(id)))
}

// signinCSRF is the sign-in form's CSRF token for the browser holding pre.
func (ss *sessions) signinCSRF(pre string) string {
	m := hmac.New(sha256.New, ss.key)
	m.Write([]byte("signin\x00" + pre))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameToken compares a submitted CSRF token with the expected one.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// submittedCSRF is the CSRF token of a POST: its form field, or the header
// scripts send.
func submittedCSRF(r *http.Request) string {
	if v := r.Header.Get(csrfHeader); v != "" {
		return v
	}
	return r.PostFormValue(csrfField)
}

// cookie is one of the dashboard's cookies: never readable by scripts,
// never sent by another site, Secure when the page came over TLS.
func cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}
