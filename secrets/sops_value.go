package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A SOPS value is AES-256-GCM under the file's data key, written
// ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] with base64 fields. The
// additional data binds it to its place: the path of keys leading to it,
// each followed by ':'. The type says what the plaintext was, so that
// 5432 comes back a number and not the string "5432".

// sopsComment is a comment line of a YAML or dotenv document, without its '#'.
type sopsComment struct {
	text string
	// inline comments follow a value on its line.
	inline bool
}

// errNotSOPSValue is a string that is not ENC[…]: a comment that was never
// encrypted, or a value left in the clear by hand.
var errNotSOPSValue = errors.New("not an ENC[AES256_GCM,…] value")

type sopsCiphertext struct {
	data, iv, tag []byte
	typ           string
}

func parseSOPSValue(s string) (sopsCiphertext, error) {
	body, ok := strings.CutPrefix(s, "ENC[AES256_GCM,")
	if !ok {
		return sopsCiphertext{}, errNotSOPSValue
	}
	body, ok = strings.CutSuffix(body, "]")
	if !ok {
		return sopsCiphertext{}, errNotSOPSValue
	}
	var c sopsCiphertext
	fields := map[string]*[]byte{"data": &c.data, "iv": &c.iv, "tag": &c.tag}
	for part := range strings.SplitSeq(body, ",") {
		name, val, _ := strings.Cut(part, ":")
		if name == "type" {
			c.typ = val
			continue
		}
		dst, known := fields[name]
		if !known {
			return sopsCiphertext{}, fmt.Errorf("unknown field %q in an encrypted value", name)
		}
		b, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return sopsCiphertext{}, fmt.Errorf("the %s of an encrypted value is not base64", name)
		}
		*dst = b
	}
	if len(c.iv) == 0 || len(c.tag) != 16 || c.typ == "" {
		return sopsCiphertext{}, errors.New("an encrypted value lacks its iv, tag or type")
	}
	return c, nil
}

// errSOPSAuth is AES-GCM refusing a value: the data key is wrong, or the
// value or its place in the document changed.
var errSOPSAuth = errors.New("authentication failed: the value, or its place in the document, was changed")

// decryptSOPSValue decrypts one value (or comment) found at additional
// data ad. The result is a string, int, float64, bool, time.Time, []byte or
// *sopsComment, as SOPS's type field says. The empty string is never
// encrypted and comes back as it is.
func decryptSOPSValue(s string, key []byte, ad string) (any, error) {
	if s == "" {
		return "", nil
	}
	c, err := parseSOPSValue(s)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(c.iv))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, c.iv, append(c.data, c.tag...), []byte(ad))
	if err != nil {
		return nil, errSOPSAuth
	}
	text := string(plain)
	// Conversion errors say which type, never the text.
	switch c.typ {
	case "str":
		return text, nil
	case "bytes":
		return plain, nil
	case "comment":
		return &sopsComment{text: text}, nil
	case "int":
		if i, err := strconv.Atoi(text); err == nil {
			return i, nil
		}
	case "float":
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f, nil
		}
	case "bool":
		if b, err := strconv.ParseBool(text); err == nil {
			return b, nil
		}
	case "time":
		var t time.Time
		if err := t.UnmarshalText(plain); err == nil {
			return t, nil
		}
	default:
		return nil, fmt.Errorf("unknown value type %q", c.typ)
	}
	return nil, fmt.Errorf("a value of type %s does not decrypt to one", c.typ)
}

// sopsMACBytes is what the MAC hashes for a value: SOPS's own rendering,
// with True and False as Python wrote them.
func sopsMACBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case time.Time:
		return v.MarshalText()
	}
	return nil, fmt.Errorf("a value of Go type %T, which SOPS files cannot hold", v)
}
