package environments

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// schemaFile is the JSON Schema editors use for completion and checks
// (README: yaml-language-server).
const schemaFile = "../docs/flotilla.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatalf("compiling %s: %v", schemaFile, err)
	}
	return s
}

// yamlInstance turns a YAML file into what the validator takes: the values
// JSON would give.
func yamlInstance(t *testing.T, file string) any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestSchemaAcceptsTheExamples(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	for _, file := range []string{"../examples/flotilla.yml", "../examples/operator/flotilla.yml", "testdata/full.yml"} {
		if err := s.Validate(yamlInstance(t, file)); err != nil {
			t.Errorf("%s does not follow the schema: %v", file, err)
		}
	}
	// What the schema can tell without reading other files, it tells.
	err := s.Validate(yamlInstance(t, "testdata/four-mistakes.yml"))
	if err == nil {
		t.Fatal("the schema accepts testdata/four-mistakes.yml")
	}
	for _, want := range []string{"/environments/dev/stack", "/environments/prod/progressDeadline", "replica"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the schema's error does not point at %s:\n%v", want, err)
		}
	}
}

// rawSchema is the schema as plain JSON values, to walk it.
type rawSchema struct {
	defs map[string]any
	root map[string]any
}

func readSchema(t *testing.T) *rawSchema {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	return &rawSchema{defs: defs, root: root}
}

// deref follows a local $ref.
func (r *rawSchema) deref(t *testing.T, s map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		def, found := r.defs[name].(map[string]any)
		if !ok || !found {
			t.Fatalf("schema: unresolvable $ref %q", ref)
		}
		s = def
	}
}

// sample builds the largest value the schema describes: every property, one
// entry of every map of names and one item of every list, each with its
// first example or enum value.
func (r *rawSchema) sample(t *testing.T, where string, s map[string]any) any {
	t.Helper()
	s = r.deref(t, s)
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	if enum, ok := s["enum"].([]any); ok {
		return enum[0]
	}
	typ := s["type"]
	if list, ok := typ.([]any); ok {
		typ = list[0]
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for key, p := range props {
			out[key] = r.sample(t, where+"."+key, p.(map[string]any))
		}
		if add, ok := s["additionalProperties"].(map[string]any); ok && props == nil {
			out["example"] = r.sample(t, where+".example", add)
		}
		return out
	case "array":
		return []any{r.sample(t, where+"[]", s["items"].(map[string]any))}
	case "string":
		return "x"
	case "boolean":
		return true
	case "integer", "number":
		return 1
	}
	t.Fatalf("schema: %s has no type, example or enum to build a sample from", where)
	return nil
}

// describe checks every property the schema names tells editors what it is.
func (r *rawSchema) describe(t *testing.T, where string, s map[string]any, seen map[string]bool) {
	t.Helper()
	if seen[where] {
		return
	}
	seen[where] = true
	props, _ := s["properties"].(map[string]any)
	for key, p := range props {
		p := p.(map[string]any)
		if p["description"] == nil && r.deref(t, p)["description"] == nil {
			t.Errorf("schema: %s.%s has no description", where, key)
		}
		r.describe(t, where+"."+key, r.deref(t, p), seen)
	}
	if add, ok := s["additionalProperties"].(map[string]any); ok {
		r.describe(t, where+".*", r.deref(t, add), seen)
	}
	if items, ok := s["items"].(map[string]any); ok {
		r.describe(t, where+"[]", r.deref(t, items), seen)
	}
}

// schemaOf maps each mapping node of a document to the schema describing it.
func (r *rawSchema) schemaOf(t *testing.T, n *yaml.Node, s map[string]any, out map[*yaml.Node]map[string]any) {
	t.Helper()
	s = r.deref(t, s)
	switch n.Kind {
	case yaml.MappingNode:
		out[n] = s
		props, _ := s["properties"].(map[string]any)
		add, _ := s["additionalProperties"].(map[string]any)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p, ok := props[n.Content[i].Value].(map[string]any); ok {
				r.schemaOf(t, n.Content[i+1], p, out)
			} else if add != nil {
				r.schemaOf(t, n.Content[i+1], add, out)
			}
		}
	case yaml.SequenceNode:
		if items, ok := s["items"].(map[string]any); ok {
			for _, item := range n.Content {
				r.schemaOf(t, item, items, out)
			}
		}
	}
}

// The schema and the decoder know the same keys: a sample of everything
// the schema describes decodes without a problem, and every mapping the
// decoder reads accepts no key the schema leaves out.
func TestSchemaNamesEveryKeyTheDecoderKnows(t *testing.T) {
	t.Parallel()
	r := readSchema(t)
	r.describe(t, "", r.root, map[string]bool{})
	sample, err := yaml.Marshal(r.sample(t, "", r.root))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := map[*yaml.Node]map[string]any{}
	r.schemaOf(t, doc.Content[0], r.root, schemas)

	mappings := 0
	d := &decoder{problems: &problems{file: "sample"}}
	d.known = func(n *yaml.Node, keys []string) {
		mappings++
		s, ok := schemas[n]
		if !ok {
			t.Errorf("line %d: the decoder reads a mapping the schema does not describe", n.Line)
			return
		}
		props, _ := s["properties"].(map[string]any)
		slices.Sort(keys)
		for _, k := range keys {
			if _, ok := props[k]; !ok {
				t.Errorf("the schema does not name %q, which the decoder reads beside %v (line %d of the sample)", k, keys, n.Line)
			}
		}
	}
	r2 := &reader{decoder: d, dir: "/"}
	r2.config(&Config{at: fieldPos{}}, doc.Content[0])
	if err := d.err(); err != nil {
		t.Errorf("the schema describes what the decoder refuses:\n%v\nsample:\n%s", err, sample)
	}
	if mappings < 10 {
		t.Errorf("the decoder read %d mappings of the sample; the test is not looking", mappings)
	}
}
