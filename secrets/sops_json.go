package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// readSOPSJSON reads a JSON object in document order: numbers that are
// whole and fit 64 bits are ints, others float64, as SOPS reads them.
func readSOPSJSON(data []byte) (sopsMap, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	if t != json.Delim('{') {
		return nil, errors.New("a JSON document that is not an object is not a SOPS document")
	}
	return jsonObject(dec)
}

func jsonObject(dec *json.Decoder) (sopsMap, error) {
	m := sopsMap{}
	for {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New("not valid JSON")
		}
		if t == json.Delim('}') {
			return m, nil
		}
		key, ok := t.(string)
		if !ok {
			return nil, errors.New("not valid JSON")
		}
		v, err := jsonValue(dec)
		if err != nil {
			return nil, err
		}
		m = append(m, sopsEntry{key: key, value: v})
	}
}

func jsonValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			return jsonObject(dec)
		case '[':
			l := sopsList{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errors.New("not valid JSON")
			}
			return l, nil
		}
		return nil, errors.New("not valid JSON")
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, errors.New("a JSON number out of range")
		}
		return f, nil
	}
	return t, nil // string, bool or nil
}

// writeSOPSJSON prints an object as SOPS does: tab-indented, a newline at
// the end, <, > and & escaped as encoding/json escapes them.
func writeSOPSJSON(m sopsMap) ([]byte, error) {
	var compact bytes.Buffer
	if err := jsonWrite(&compact, m); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "\t"); err != nil {
		return nil, fmt.Errorf("writing JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func jsonWrite(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case sopsMap:
		b.WriteByte('{')
		n := 0
		for _, e := range v {
			if e.comment != nil {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(e.key)
			b.Write(k)
			b.WriteByte(':')
			if err := jsonWrite(b, e.value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case sopsList:
		b.WriteByte('[')
		n := 0
		for _, item := range v {
			if _, ok := item.(*sopsComment); ok {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			if err := jsonWrite(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("writing JSON: a value of Go type %T", v)
		}
		b.Write(j)
	}
	return nil
}
