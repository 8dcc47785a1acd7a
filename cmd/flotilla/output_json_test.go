package main

import (
	"encoding/json"
	"testing"
)

// `flotilla version -o json` is for programs: versions of Flotilla, Go and
// the engine, with the negotiated API version.
func TestVersionJSON(t *testing.T) {
	t.Parallel()
	out, err := runAll(t, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v.Flotilla == "" || v.Go == "" || v.Engine == nil || v.Engine.Negotiated == "" {
		t.Errorf("version -o json = %+v", v)
	}
}
