package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAML comments are kept where SOPS keeps them, so the decrypted document
// prints as `sops -d` prints it: a comment above a key is an entry before
// it, one at the end of a value's line an inline entry after it.

// readSOPSYAML reads every document of a YAML file.
func readSOPSYAML(data []byte) ([]sopsMap, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []sopsMap
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, yamlSyntax(err)
		}
		// Decoding into a map notices a key given twice, which would make
		// the file mean two things, and aliases nested to expand without
		// end (yaml.Node notices neither). SOPS checks the first document.
		if err := doc.Decode(map[string]any{}); err != nil {
			return nil, yamlSyntax(err)
		}
		m, err := yamlEntries(&doc, sopsMap{}, false)
		if err != nil {
			return nil, err
		}
		docs = append(docs, m)
	}
}

var yamlErrorLine = regexp.MustCompile(`line (\d+)`)

// yamlSyntax reports a parse error by line only: the parser's message can
// quote the file, which is a secret's.
func yamlSyntax(err error) error {
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("not valid YAML (line %s)", m[1])
	}
	return errors.New("not valid YAML")
}

// yamlComments appends the lines of a comment as entries. handled says the
// node's own comments were taken by its parent already.
func yamlComments(m sopsMap, comment string, inline bool) sopsMap {
	for _, c := range commentLines(comment) {
		m = append(m, sopsEntry{comment: &sopsComment{text: c, inline: inline}})
	}
	return m
}

func yamlListComments(l sopsList, comment string, inline bool) sopsList {
	for _, c := range commentLines(comment) {
		l = append(l, &sopsComment{text: c, inline: inline})
	}
	return l
}

// commentLines splits a comment as the YAML parser gives it, dropping each
// line's '#'.
func commentLines(comment string) []string {
	var out []string
	for line := range strings.SplitSeq(comment, "\n") {
		if line != "" {
			out = append(out, line[1:])
		}
	}
	return out
}

func yamlEntries(n *yaml.Node, m sopsMap, handled bool) (sopsMap, error) {
	if !handled {
		m = yamlComments(m, n.HeadComment, false)
		m = yamlComments(m, n.LineComment, false)
	}
	var err error
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if m, err = yamlEntries(c, m, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, errors.New("a YAML document that is a list is not a SOPS document")
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			m = yamlComments(m, k.HeadComment, false)
			m = yamlComments(m, k.LineComment, false)
			scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
			if scalar {
				m = yamlComments(m, v.HeadComment, false)
				m = yamlComments(m, v.LineComment, true)
			}
			var key any
			if k.Decode(&key) != nil {
				return nil, fmt.Errorf("line %d: a key that does not decode", k.Line)
			}
			name, ok := key.(string)
			if !ok {
				return nil, fmt.Errorf("line %d: a key that is not a string (SOPS supports only those)", k.Line)
			}
			val, err := yamlValue(v, scalar)
			if err != nil {
				return nil, err
			}
			m = append(m, sopsEntry{key: name, value: val})
			if scalar {
				m = yamlComments(m, v.FootComment, false)
			}
			m = yamlComments(m, k.FootComment, false)
		}
	case yaml.ScalarNode:
		// An empty document (--- alone) is an empty mapping.
		if n.ShortTag() != "!!null" {
			return nil, errors.New("a YAML document that is a single value is not a SOPS document")
		}
		return m, nil
	case yaml.AliasNode:
		if m, err = yamlEntries(n.Alias, m, false); err != nil {
			return nil, err
		}
	}
	if !handled {
		m = yamlComments(m, n.FootComment, false)
	}
	return m, nil
}

func yamlValue(n *yaml.Node, handled bool) (any, error) {
	switch n.Kind {
	case yaml.SequenceNode:
		l := sopsList{}
		if !handled {
			l = yamlListComments(l, n.HeadComment, false)
			l = yamlListComments(l, n.LineComment, false)
		}
		for _, item := range n.Content {
			l = yamlListComments(l, item.HeadComment, false)
			l = yamlListComments(l, item.LineComment, true)
			v, err := yamlValue(item, true)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			l = yamlListComments(l, item.FootComment, false)
		}
		if !handled {
			l = yamlListComments(l, n.FootComment, false)
		}
		return l, nil
	case yaml.MappingNode:
		return yamlEntries(n, sopsMap{}, handled)
	case yaml.AliasNode:
		return yamlValue(n.Alias, false)
	case yaml.ScalarNode:
		var v any
		if n.Decode(&v) != nil {
			return nil, fmt.Errorf("line %d: a value that does not decode", n.Line)
		}
		return v, nil
	}
	return nil, nil
}

// writeSOPSYAML prints the documents as SOPS does: four spaces of indent,
// comments gathered above the next key (or below the last).
func writeSOPSYAML(docs []sopsMap) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	for _, m := range docs {
		doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{yamlMapping(m)}}
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("writing YAML: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	return b.Bytes(), nil
}

func yamlNode(v any) *yaml.Node {
	switch v := v.(type) {
	case sopsMap:
		return yamlMapping(v)
	case sopsList:
		return yamlSequence(v)
	}
	n := &yaml.Node{}
	_ = n.Encode(v) // only the plain values decryption gives
	return n
}

func yamlMapping(m sopsMap) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	var head, inline []string
	first := true
	for _, e := range m {
		if e.comment != nil {
			if e.comment.inline {
				inline = append(inline, e.comment.text)
			} else {
				head = append(head, e.comment.text)
			}
			continue
		}
		if first {
			prependComment(&n.HeadComment, head)
			head, first = nil, false
		}
		k := &yaml.Node{}
		if e.key == "<<" {
			// SOPS prints every << key as an explicit merge key, which
			// keeps the merge when the decrypted file is read.
			k = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!merge", Value: "<<", Style: yaml.TaggedStyle}
		} else {
			_ = k.Encode(e.key)
		}
		prependComment(&k.HeadComment, head)
		head = nil
		v := yamlNode(e.value)
		appendComment(&v.LineComment, inline)
		inline = nil
		n.Content = append(n.Content, k, v)
	}
	if rest := append(head, inline...); len(rest) > 0 {
		if first {
			prependComment(&n.HeadComment, rest)
		} else {
			appendComment(&n.Content[len(n.Content)-2].FootComment, rest)
		}
	}
	return n
}

func yamlSequence(l sopsList) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	var head, inline []string
	first := true
	for _, item := range l {
		if c, ok := item.(*sopsComment); ok {
			if c.inline {
				inline = append(inline, c.text)
			} else {
				head = append(head, c.text)
			}
			continue
		}
		if first {
			prependComment(&n.HeadComment, head)
			head, first = nil, false
		}
		v := yamlNode(item)
		prependComment(&v.HeadComment, head)
		head = nil
		appendComment(&v.LineComment, inline)
		inline = nil
		n.Content = append(n.Content, v)
	}
	if rest := append(head, inline...); len(rest) > 0 {
		if first {
			prependComment(&n.HeadComment, rest)
		} else {
			appendComment(&n.Content[len(n.Content)-1].FootComment, rest)
		}
	}
	return n
}

func commentText(lines []string) string { return "#" + strings.Join(lines, "\n#") }

func prependComment(dst *string, lines []string) {
	if len(lines) == 0 {
		return
	}
	if *dst != "" {
		*dst = commentText(lines) + "\n" + *dst
	} else {
		*dst = commentText(lines)
	}
}

func appendComment(dst *string, lines []string) {
	if len(lines) == 0 {
		return
	}
	if *dst != "" {
		*dst += "\n" + commentText(lines)
	} else {
		*dst = commentText(lines)
	}
}
