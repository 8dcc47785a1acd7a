package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// sopsMetadata is the part of a file's sops: section decryption needs.
type sopsMetadata struct {
	// lastModified, as RFC 3339, is the additional data of the MAC.
	lastModified string
	mac          string
	rules        sopsRules
	// macOnlyEncrypted: values in the clear are outside the MAC.
	macOnlyEncrypted bool
	// groups hold the age recipients of each key group: one group, unless
	// the data key is split with Shamir's scheme among several.
	groups          [][]sopsAgeKey
	shamirThreshold int
	// others are the kinds of non-age key present ("kms", "pgp"…), for a
	// clear refusal.
	others []string
}

type sopsAgeKey struct {
	recipient string
	// enc is the data key (or its Shamir part), an armored age file.
	enc string
}

// sopsOtherKeys are the master keys Flotilla cannot use: cloud KMS, PGP, Vault.
var sopsOtherKeys = []string{"kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "pgp"}

func (m sopsMap) get(key string) (any, bool) {
	for _, e := range m {
		if e.comment == nil && e.key == key {
			return e.value, true
		}
	}
	return nil, false
}

// text reads a metadata string; dotenv files hold every value as one, and
// a hand-edited YAML file may hold lastmodified as a timestamp.
func (m sopsMap) text(key string) string {
	switch v, _ := m.get(key); v := v.(type) {
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case nil:
		return ""
	default:
		return sopsString(v)
	}
}

func parseSOPSMetadata(m sopsMap) (*sopsMetadata, error) {
	md := &sopsMetadata{mac: m.text("mac")}
	lm, err := time.Parse(time.RFC3339, m.text("lastmodified"))
	if err != nil {
		return nil, errors.New("its sops.lastmodified is not an RFC 3339 time")
	}
	md.lastModified = lm.Format(time.RFC3339)
	if md.mac == "" {
		return nil, errors.New("it has no sops.mac")
	}
	if s := m.text("mac_only_encrypted"); s != "" {
		if md.macOnlyEncrypted, err = strconv.ParseBool(s); err != nil {
			return nil, errors.New("its sops.mac_only_encrypted is not true or false")
		}
	}
	if s := m.text("shamir_threshold"); s != "" {
		if md.shamirThreshold, err = strconv.Atoi(s); err != nil || md.shamirThreshold < 0 {
			return nil, errors.New("its sops.shamir_threshold is not a whole number")
		}
	}
	if err := md.parseRules(m); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(append([]string{"age"}, sopsOtherKeys...), func(k string) bool { _, ok := m.get(k); return ok }) {
		group, err := md.parseGroup(m)
		if err != nil {
			return nil, err
		}
		md.groups = [][]sopsAgeKey{group}
		return md, nil
	}
	groups, _ := m.get("key_groups")
	list, ok := groups.(sopsList)
	if !ok || len(list) == 0 {
		return nil, errors.New("its sops metadata name no key")
	}
	for _, item := range list {
		g, ok := item.(sopsMap)
		if !ok {
			return nil, errors.New("its sops.key_groups holds something else than a group of keys")
		}
		group, err := md.parseGroup(g)
		if err != nil {
			return nil, err
		}
		md.groups = append(md.groups, group)
	}
	return md, nil
}

func (md *sopsMetadata) parseGroup(g sopsMap) ([]sopsAgeKey, error) {
	for _, k := range sopsOtherKeys {
		if v, _ := g.get(k); v != nil && !slices.Contains(md.others, k) {
			if l, isList := v.(sopsList); !isList || len(l) > 0 {
				md.others = append(md.others, k)
			}
		}
	}
	v, _ := g.get("age")
	if v == nil {
		return nil, nil
	}
	list, ok := v.(sopsList)
	if !ok {
		return nil, errors.New("its sops.age is not a list")
	}
	var keys []sopsAgeKey
	for _, item := range list {
		k, ok := item.(sopsMap)
		if !ok {
			return nil, errors.New("its sops.age holds something else than recipients")
		}
		keys = append(keys, sopsAgeKey{recipient: recipientName(k.text("recipient")), enc: k.text("enc")})
	}
	return keys, nil
}

// ageRecipient is what age and SSH public keys look like. A recipient is
// named in errors, so anything else written there is not repeated.
var ageRecipient = regexp.MustCompile(`^(age1[0-9a-z]{20,}|ssh-(ed25519|rsa) [A-Za-z0-9+/=]{20,})$`)

func recipientName(r string) string {
	if ageRecipient.MatchString(r) {
		return r
	}
	return "(a recipient that is not an age key)"
}

func (md *sopsMetadata) parseRules(m sopsMap) error {
	r := &md.rules
	var set []string
	for _, s := range []struct {
		key string
		dst *string
	}{{"unencrypted_suffix", &r.unencryptedSuffix}, {"encrypted_suffix", &r.encryptedSuffix}} {
		if *s.dst = m.text(s.key); *s.dst != "" {
			set = append(set, s.key)
		}
	}
	for _, s := range []struct {
		key string
		dst **regexp.Regexp
	}{{"unencrypted_regex", &r.unencryptedRegex}, {"encrypted_regex", &r.encryptedRegex},
		{"unencrypted_comment_regex", &r.unencryptedCommentRegex}, {"encrypted_comment_regex", &r.encryptedCommentRegex}} {
		expr := m.text(s.key)
		if expr == "" {
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("its sops.%s is not a valid regular expression", s.key)
		}
		*s.dst = re
		set = append(set, s.key)
	}
	switch {
	case len(set) > 1:
		return fmt.Errorf("its sops metadata set %s: SOPS allows one", strings.Join(set, " and "))
	case len(set) == 0:
		r.unencryptedSuffix = "_unencrypted" // what SOPS assumes
	}
	return nil
}

// dataKey recovers the key every value is encrypted with: from the first
// age recipient of each group that one of ids opens.
func (md *sopsMetadata) dataKey(path string, ids []age.Identity) ([]byte, error) {
	var recipients []string
	for _, g := range md.groups {
		for _, k := range g {
			recipients = append(recipients, k.recipient)
		}
	}
	if len(recipients) == 0 {
		return nil, &FileError{Path: path, Err: ErrSOPSUnsupported,
			Detail: fmt.Sprintf("its data key is only encrypted for %s keys; Flotilla decrypts SOPS files with age keys", strings.Join(md.others, ", "))}
	}
	noMatch := &NoIdentityError{Path: path, Identities: len(ids), SOPS: true, Recipients: recipients}
	if len(ids) == 0 {
		return nil, noMatch
	}
	var parts [][]byte
	for _, g := range md.groups {
		part, err := openAgeKey(path, g, ids)
		if err != nil {
			return nil, err
		}
		if part != nil {
			parts = append(parts, part)
		}
	}
	if len(md.groups) == 1 {
		if len(parts) == 0 {
			return nil, noMatch
		}
		return checkDataKey(path, parts[0])
	}
	threshold := md.shamirThreshold
	if threshold == 0 {
		threshold = len(md.groups)
	}
	if len(parts) < threshold {
		return nil, noMatch
	}
	key, err := combineShamir(parts)
	if err != nil {
		return nil, &FileError{Path: path, Err: ErrSOPSCorrupt, Detail: "its key groups: " + err.Error()}
	}
	return checkDataKey(path, key)
}

func checkDataKey(path string, key []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, &FileError{Path: path, Err: ErrSOPSCorrupt, Detail: "its data key is not 32 bytes"}
	}
	return key, nil
}

// openAgeKey decrypts a group's data key part with the first recipient
// ids can open; nil without an error when none can.
func openAgeKey(path string, group []sopsAgeKey, ids []age.Identity) ([]byte, error) {
	for _, k := range group {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(k.enc)), ids...)
		if err != nil {
			var noMatch *age.NoIdentityMatchError
			if errors.As(err, &noMatch) {
				continue
			}
			return nil, &FileError{Path: path, Err: ErrSOPSCorrupt,
				Detail: fmt.Sprintf("the data key for %s is not a valid age file", k.recipient)}
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, io.LimitReader(r, 1<<10)); err != nil {
			return nil, &FileError{Path: path, Err: ErrSOPSCorrupt,
				Detail: fmt.Sprintf("the data key for %s does not decrypt whole", k.recipient)}
		}
		return b.Bytes(), nil
	}
	return nil, nil
}
