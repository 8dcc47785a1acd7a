package secrets

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"path"
	"regexp"
	"strings"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

// SOPS files (getsops/sops) encrypted for age recipients are decrypted
// here without SOPS itself, which would bring every cloud SDK along. The
// format, as SOPS writes it: each value is AES-256-GCM under a random data
// key (sops_value.go); the data key is age-encrypted for each recipient in
// the sops: metadata; a MAC, the SHA-512 of every value in document order
// encrypted with the data key, proves no value was changed, added, removed
// or moved.

// The variables SOPS reads its age keys from. Flotilla's CLI honours them
// as it honours EnvIdentityFile: when no --identity is given.
const (
	// EnvSOPSAgeKeyFile is the path of an age identity file.
	EnvSOPSAgeKeyFile = "SOPS_AGE_KEY_FILE"
	// EnvSOPSAgeKey holds identities themselves, one per line: key
	// material, parsed in memory and never written anywhere.
	EnvSOPSAgeKey = "SOPS_AGE_KEY"
)

// sopsFormat is how a SOPS file holds its document.
type sopsFormat int

const (
	sopsYAML sopsFormat = iota
	sopsJSON
	sopsDotenv
	// sopsBinary is any other file: JSON with the whole content, encrypted,
	// under "data".
	sopsBinary
	sopsINI
)

// formatByName is the format `sops -d` picks from a file's name.
func formatByName(name string) sopsFormat {
	switch path.Ext(name) {
	case ".yaml", ".yml":
		return sopsYAML
	case ".json":
		return sopsJSON
	case ".env":
		return sopsDotenv
	case ".ini":
		return sopsINI
	}
	return sopsBinary
}

// IsSOPS reports whether data, the content of the file at path, is a SOPS
// file: YAML or JSON with a top-level sops: mapping holding a mac and
// lastmodified, or dotenv with sops_mac and sops_lastmodified lines. The
// name only decides which is tried first, so secret.yaml.enc is found too.
func IsSOPS(path string, data []byte) bool {
	_, ok := sniffSOPS(path, data)
	return ok
}

func sniffSOPS(name string, data []byte) (sopsFormat, bool) {
	// Cheap: most secrets and configs are not SOPS files.
	for _, word := range []string{"sops", "mac", "lastmodified"} {
		if !bytes.Contains(data, []byte(word)) {
			return 0, false
		}
	}
	byName := formatByName(name)
	tried := []sopsFormat{byName}
	for _, f := range []sopsFormat{sopsJSON, sopsYAML, sopsDotenv, sopsINI} {
		if f != byName && !(byName == sopsBinary && f == sopsJSON) {
			tried = append(tried, f)
		}
	}
	for _, f := range tried {
		if !looksSOPS(f, data) {
			continue
		}
		if f == sopsJSON && byName != sopsJSON && isBinaryEnvelope(data) {
			// The name says binary, or says nothing: the content is JSON
			// wrapping one encrypted blob, as `sops -e cert.pem` writes.
			return sopsBinary, true
		}
		if f == sopsBinary && !isBinaryEnvelope(data) {
			return sopsJSON, true
		}
		return f, true
	}
	return 0, false
}

func looksSOPS(f sopsFormat, data []byte) bool {
	switch f {
	case sopsJSON, sopsBinary:
		var top struct {
			SOPS map[string]json.RawMessage `json:"sops"`
		}
		if json.Unmarshal(data, &top) != nil {
			return false
		}
		return top.SOPS["mac"] != nil && top.SOPS["lastmodified"] != nil
	case sopsYAML:
		var doc yaml.Node
		if yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) != nil || len(doc.Content) == 0 {
			return false
		}
		top := doc.Content[0]
		for i := 0; top.Kind == yaml.MappingNode && i+1 < len(top.Content); i += 2 {
			if v := top.Content[i+1]; top.Content[i].Value == "sops" && v.Kind == yaml.MappingNode {
				keys := map[string]bool{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					keys[v.Content[j].Value] = true
				}
				return keys["mac"] && keys["lastmodified"]
			}
		}
		return false
	case sopsDotenv:
		return hasLine(data, func(l string) bool { return strings.HasPrefix(l, "sops_mac=") }) &&
			hasLine(data, func(l string) bool { return strings.HasPrefix(l, "sops_lastmodified=") })
	case sopsINI:
		return hasLine(data, func(l string) bool { return strings.TrimSpace(l) == "[sops]" }) &&
			hasLine(data, func(l string) bool { return iniMAC.MatchString(l) })
	}
	return false
}

var iniMAC = regexp.MustCompile(`^\s*mac\s*=\s*ENC\[AES256_GCM,`)

func hasLine(data []byte, match func(string) bool) bool {
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, len(data)+1)
	for s.Scan() {
		if match(s.Text()) {
			return true
		}
	}
	return false
}

// isBinaryEnvelope reports whether a JSON SOPS file holds nothing but
// "data" besides its metadata.
func isBinaryEnvelope(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || len(top) != 2 || top["sops"] == nil {
		return false
	}
	var s string
	return json.Unmarshal(top["data"], &s) == nil
}

// DecryptSOPS decrypts the SOPS file at path with the age identities and
// verifies its MAC. The value is the whole document as `sops -d` prints
// it: YAML (every document, comments included), JSON or dotenv in the
// format of the file, without the sops metadata; for a binary file, the
// content itself. It must be non-empty and under limit. Errors are
// *FileError (ErrNotSOPS, ErrSOPSMAC, ErrSOPSCorrupt, ErrSOPSUnsupported,
// ErrEmpty, ErrTooLarge) or *NoIdentityError; they name keys of the
// document, which SOPS keeps in the clear, and never a value.
func DecryptSOPS(path string, data []byte, ids []age.Identity, limit SizeLimit) (Value, error) {
	format, ok := sniffSOPS(path, data)
	if !ok {
		return Value{}, &FileError{Path: path, Err: ErrNotSOPS}
	}
	corrupt := func(err error) error { return &FileError{Path: path, Err: ErrSOPSCorrupt, Detail: err.Error()} }
	var docs []sopsMap
	var meta sopsMap
	var err error
	switch format {
	case sopsINI:
		return Value{}, &FileError{Path: path, Err: ErrSOPSUnsupported, Detail: "INI files are not supported: use YAML, JSON or dotenv"}
	case sopsYAML:
		if docs, err = readSOPSYAML(data); err == nil {
			meta, err = takeSOPSMetadata(docs)
		}
	case sopsJSON, sopsBinary:
		var m sopsMap
		if m, err = readSOPSJSON(data); err == nil {
			docs = []sopsMap{m}
			meta, err = takeSOPSMetadata(docs)
		}
	case sopsDotenv:
		var m sopsMap
		if m, err = readSOPSDotenv(data); err == nil {
			docs = []sopsMap{m}
			meta, err = takeFlatSOPSMetadata(docs)
		}
	}
	if err != nil {
		return Value{}, corrupt(err)
	}
	md, err := parseSOPSMetadata(meta)
	if err != nil {
		return Value{}, corrupt(err)
	}
	key, err := md.dataKey(path, ids)
	if err != nil {
		return Value{}, err
	}
	defer clear(key)
	w := newSOPSWalk(key, &md.rules, md.macOnlyEncrypted)
	for _, doc := range docs {
		if err := w.mapping(doc, nil, nil); err != nil {
			return Value{}, corrupt(err)
		}
	}
	stored, err := decryptSOPSValue(md.mac, key, md.lastModified)
	if err != nil {
		return Value{}, &FileError{Path: path, Err: ErrSOPSMAC, Detail: "its MAC itself does not decrypt"}
	}
	if s, ok := stored.(string); !ok || subtle.ConstantTimeCompare([]byte(s), []byte(w.sum())) != 1 {
		return Value{}, &FileError{Path: path, Err: ErrSOPSMAC}
	}
	var out []byte
	switch format {
	case sopsYAML:
		out, err = writeSOPSYAML(docs)
	case sopsJSON:
		out, err = writeSOPSJSON(docs[0])
	case sopsDotenv:
		out, err = writeSOPSDotenv(docs[0])
	case sopsBinary:
		v, _ := docs[0].get("data")
		s, ok := v.(string)
		if !ok {
			err = errors.New(`its "data" is not a string`)
		}
		out = []byte(s)
	}
	if err != nil {
		return Value{}, corrupt(err)
	}
	if err := CheckSize(path, len(out), limit); err != nil {
		clear(out)
		return Value{}, err
	}
	return NewValue(out), nil
}

// takeSOPSMetadata removes the sops: entries of every document and returns
// the first document's, which SOPS reads.
func takeSOPSMetadata(docs []sopsMap) (sopsMap, error) {
	var meta sopsMap
	found := false
	for i, doc := range docs {
		kept := doc[:0]
		for _, e := range doc {
			if e.comment != nil || e.key != "sops" {
				kept = append(kept, e)
				continue
			}
			if i > 0 {
				continue
			}
			if found {
				return nil, errors.New("two sops: sections")
			}
			m, ok := e.value.(sopsMap)
			if !ok {
				return nil, errors.New("its sops: section is not a mapping")
			}
			meta, found = m, true
		}
		docs[i] = kept
	}
	if !found {
		return nil, errors.New("no sops: section in its first document")
	}
	return meta, nil
}

// takeFlatSOPSMetadata removes the sops_* lines of a dotenv file and
// rebuilds the metadata from them.
func takeFlatSOPSMetadata(docs []sopsMap) (sopsMap, error) {
	var flat sopsMap
	kept := docs[0][:0]
	for _, e := range docs[0] {
		if k, ok := strings.CutPrefix(e.key, "sops_"); ok && e.comment == nil {
			flat = append(flat, sopsEntry{key: k, value: e.value})
			continue
		}
		kept = append(kept, e)
	}
	docs[0] = kept
	return unflattenSOPS(flat)
}
