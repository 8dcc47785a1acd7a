package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A dotenv SOPS file is KEY=VALUE lines and # comments, with "\n" standing
// for a newline in a value; its metadata are flattened into sops_* lines
// (sops_age__list_0__map_enc=…).

func readSOPSDotenv(data []byte) (sopsMap, error) {
	m := sopsMap{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		switch {
		case len(line) == 0:
		case line[0] == '#':
			m = append(m, sopsEntry{comment: &sopsComment{text: string(line[1:])}})
		default:
			k, v, ok := bytes.Cut(line, []byte("="))
			if !ok {
				return nil, fmt.Errorf("line %d is not KEY=VALUE", i+1)
			}
			m = append(m, sopsEntry{key: string(k), value: strings.ReplaceAll(string(v), `\n`, "\n")})
		}
	}
	return m, nil
}

func writeSOPSDotenv(m sopsMap) ([]byte, error) {
	var b bytes.Buffer
	for _, e := range m {
		if e.comment != nil {
			fmt.Fprintf(&b, "#%s\n", e.comment.text)
			continue
		}
		switch v := e.value.(type) {
		case sopsMap, sopsList:
			return nil, fmt.Errorf("%s holds a mapping or list, which a dotenv file cannot", e.key)
		case string:
			fmt.Fprintf(&b, "%s=%s\n", e.key, strings.ReplaceAll(v, "\n", `\n`))
		default:
			fmt.Fprintf(&b, "%s=%s\n", e.key, sopsString(v))
		}
	}
	return b.Bytes(), nil
}

// sopsString renders a value that is not a string as SOPS's flat formats do.
func sopsString(v any) string {
	switch v := v.(type) {
	case float64:
		s := strconv.FormatFloat(v, 'G', -1, 64)
		if !strings.ContainsAny(s, ".E") {
			s = strconv.FormatFloat(v, 'f', 1, 64)
		}
		return s
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprintf("%v", v)
}

const (
	flatMap  = "__map_"
	flatList = "__list_"
)

// flatNode is one step of a flattened path while the metadata are rebuilt.
type flatNode struct {
	value   any
	set     bool
	keys    map[string]*flatNode
	indices map[int]*flatNode
}

// unflattenSOPS rebuilds the metadata mapping from sops_* entries (their
// prefix removed).
func unflattenSOPS(entries sopsMap) (sopsMap, error) {
	root := &flatNode{}
	for _, e := range entries {
		n := root
		for _, step := range flatPath(e.key) {
			var next *flatNode
			switch step := step.(type) {
			case string:
				if n.keys == nil {
					n.keys = map[string]*flatNode{}
				}
				if next = n.keys[step]; next == nil {
					next = &flatNode{}
					n.keys[step] = next
				}
			case int:
				if n.indices == nil {
					n.indices = map[int]*flatNode{}
				}
				if next = n.indices[step]; next == nil {
					next = &flatNode{}
					n.indices[step] = next
				}
			}
			n = next
		}
		if n.set {
			return nil, fmt.Errorf("metadata key sops_%s given twice", e.key)
		}
		n.value, n.set = e.value, true
	}
	v, err := root.build()
	if err != nil {
		return nil, err
	}
	m, ok := v.(sopsMap)
	if !ok {
		return nil, errors.New("metadata are not a mapping")
	}
	return m, nil
}

// flatPath splits "age__list_0__map_enc" into "age", 0, "enc".
func flatPath(key string) []any {
	var out []any
	list := false
	for {
		i, sep := -1, ""
		for _, s := range []string{flatMap, flatList} {
			if j := strings.Index(key, s); j >= 0 && (i < 0 || j < i) {
				i, sep = j, s
			}
		}
		seg := key
		if i >= 0 {
			seg = key[:i]
		}
		if list {
			n, _ := strconv.Atoi(seg)
			out = append(out, n)
		} else {
			out = append(out, seg)
		}
		if i < 0 {
			return out
		}
		list, key = sep == flatList, key[i+len(sep):]
	}
}

func (n *flatNode) build() (any, error) {
	kinds := 0
	for _, has := range []bool{n.set, len(n.keys) > 0, len(n.indices) > 0} {
		if has {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return nil, errors.New("metadata mix values, mappings and lists under one key")
	case n.set:
		return n.value, nil
	case len(n.indices) > 0:
		l := make(sopsList, len(n.indices))
		for i, child := range n.indices {
			if i < 0 || i >= len(l) {
				return nil, errors.New("metadata list with a missing item")
			}
			v, err := child.build()
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	}
	m := sopsMap{}
	for _, k := range slices.Sorted(maps.Keys(n.keys)) {
		v, err := n.keys[k].build()
		if err != nil {
			return nil, err
		}
		m = append(m, sopsEntry{key: k, value: v})
	}
	return m, nil
}
