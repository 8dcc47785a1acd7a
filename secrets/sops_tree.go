package secrets

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"strings"
)

// A SOPS document is held as SOPS itself sees it, so that it can be written
// back the way `sops -d` prints it: mappings keep their order, and comments
// are entries of their own.

// sopsMap is a mapping, in document order.
type sopsMap []sopsEntry

// sopsEntry is a key and its value, or (comment set) a comment line.
type sopsEntry struct {
	key     string
	value   any // string, int, float64, bool, time.Time, []byte, nil, sopsMap or sopsList
	comment *sopsComment
}

// sopsList is a sequence; its items may be *sopsComment.
type sopsList []any

// sopsRules are the metadata saying which values are encrypted. At most
// one field is set (SOPS refuses more), and a file with none uses the
// _unencrypted suffix.
type sopsRules struct {
	unencryptedSuffix, encryptedSuffix string
	unencryptedRegex, encryptedRegex   *regexp.Regexp
	// The comment regexes look at the comments above a value.
	unencryptedCommentRegex, encryptedCommentRegex *regexp.Regexp
}

// encrypted says whether the value at path is encrypted: the rule applies
// to every key on the path, so a whole subtree can be left in the clear.
// comments holds, per level of nesting, the comments just above.
func (r *sopsRules) encrypted(path []string, comments [][]string, isComment bool) bool {
	anyKey := func(match func(string) bool) bool { return slices.ContainsFunc(path, match) }
	switch {
	case r.unencryptedSuffix != "":
		return !anyKey(func(k string) bool { return strings.HasSuffix(k, r.unencryptedSuffix) })
	case r.encryptedSuffix != "":
		return anyKey(func(k string) bool { return strings.HasSuffix(k, r.encryptedSuffix) })
	case r.unencryptedRegex != nil:
		return !anyKey(r.unencryptedRegex.MatchString)
	case r.encryptedRegex != nil:
		return anyKey(r.encryptedRegex.MatchString)
	case r.unencryptedCommentRegex != nil:
		for _, level := range comments {
			if slices.ContainsFunc(level, r.unencryptedCommentRegex.MatchString) {
				return false
			}
		}
		return true
	case r.encryptedCommentRegex != nil:
		for i, level := range comments {
			for j, c := range level {
				// The marker comment itself stays in the clear: it is the
				// last one seen when a comment is being looked at.
				if isComment && i == len(comments)-1 && j == len(level)-1 {
					continue
				}
				if r.encryptedCommentRegex.MatchString(c) {
					return true
				}
			}
		}
		return false
	}
	return true
}

// sopsWalk decrypts a document in place and hashes its values in order,
// for the MAC.
type sopsWalk struct {
	key   []byte
	rules *sopsRules
	mac   hash.Hash
	// macOnlyEncrypted leaves values in the clear out of the MAC.
	macOnlyEncrypted bool
}

// sopsMACOnlyEncryptedSeed starts the hash of a mac_only_encrypted file, so
// that its MAC never equals that of the same file without the setting:
// SHA-256 of "sops".
var sopsMACOnlyEncryptedSeed = sha256.Sum256([]byte("sops"))

func newSOPSWalk(key []byte, rules *sopsRules, macOnlyEncrypted bool) *sopsWalk {
	w := &sopsWalk{key: key, rules: rules, mac: sha512.New(), macOnlyEncrypted: macOnlyEncrypted}
	if macOnlyEncrypted {
		w.mac.Write(sopsMACOnlyEncryptedSeed[:])
	}
	return w
}

// sum is the MAC's plaintext: the hash in upper-case hex.
func (w *sopsWalk) sum() string { return fmt.Sprintf("%X", w.mac.Sum(nil)) }

// sopsValueError says which value of a SOPS file failed, by its path of keys:
// keys are in the clear in the file, values never appear.
type sopsValueError struct {
	path []string
	err  error
}

func (e *sopsValueError) Error() string {
	where := strings.Join(e.path, ".")
	if where == "" {
		where = "(top level)"
	}
	return fmt.Sprintf("value at %s: %v", where, e.err)
}

func (e *sopsValueError) Unwrap() error { return e.err }

func (w *sopsWalk) mapping(m sopsMap, path []string, comments [][]string) error {
	comments = append(slices.Clip(comments), nil)
	level := len(comments) - 1
	for i := range m {
		e := &m[i]
		if e.comment != nil {
			comments[level] = append(comments[level], e.comment.text)
			w.comment(e.comment, path, comments)
			continue
		}
		v, err := w.value(e.value, append(slices.Clip(path), e.key), comments)
		if err != nil {
			return err
		}
		e.value = v
		comments[level] = nil
	}
	return nil
}

func (w *sopsWalk) list(l sopsList, path []string, comments [][]string) error {
	comments = append(slices.Clip(comments), nil)
	level := len(comments) - 1
	for i, item := range l {
		if c, ok := item.(*sopsComment); ok {
			comments[level] = append(comments[level], c.text)
			w.comment(c, path, comments)
			continue
		}
		v, err := w.value(item, path, comments)
		if err != nil {
			return err
		}
		l[i] = v
		comments[level] = nil
	}
	return nil
}

// comment decrypts an encrypted comment; one that does not decrypt was
// written in the clear (by hand, or by an older SOPS) and stays as it is.
// Comments are not part of the MAC.
func (w *sopsWalk) comment(c *sopsComment, path []string, comments [][]string) {
	if !w.rules.encrypted(path, comments, true) {
		return
	}
	v, err := decryptSOPSValue(c.text, w.key, sopsAdditionalData(path))
	switch v := v.(type) {
	case *sopsComment:
		// As SOPS does, a decrypted comment goes on a line of its own,
		// even one that followed a value.
		c.text, c.inline = v.text, false
	case string:
		if err == nil {
			c.text = v
		}
	}
}

func (w *sopsWalk) value(v any, path []string, comments [][]string) (any, error) {
	switch v := v.(type) {
	case sopsMap:
		return v, w.mapping(v, path, comments)
	case sopsList:
		return v, w.list(v, path, comments)
	case nil:
		return nil, nil
	}
	encrypted := w.rules.encrypted(path, comments, false)
	if encrypted {
		s, ok := v.(string)
		if !ok {
			return nil, &sopsValueError{path: path, err: errors.New("is not encrypted, but the file's rules say it should be")}
		}
		var err error
		if v, err = decryptSOPSValue(s, w.key, sopsAdditionalData(path)); err != nil {
			return nil, &sopsValueError{path: path, err: err}
		}
	}
	// A comment inside a list is stored as an encrypted item of type
	// comment: it comes back a comment, outside the MAC.
	if _, isComment := v.(*sopsComment); !isComment && (encrypted || !w.macOnlyEncrypted) {
		b, err := sopsMACBytes(v)
		if err != nil {
			return nil, &sopsValueError{path: path, err: err}
		}
		w.mac.Write(b)
	}
	return v, nil
}

// sopsAdditionalData binds a value to its place: "database:password:".
func sopsAdditionalData(path []string) string {
	return strings.Join(path, ":") + ":"
}
