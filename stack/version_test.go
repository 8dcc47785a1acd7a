package stack

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestVersionedNames(t *testing.T) {
	fsys := fstest.MapFS{
		"stack.yml": {Data: []byte(`
services:
  api:
    image: app:v1
    secrets: [db_pw, fixed, outside]
    configs: [{source: conf, target: /etc/app.conf}]
secrets:
  db_pw: {file: ./pw.txt}
  fixed: {file: ./pw.txt, name: shared_pw}
  outside: {external: true}
configs:
  conf: {file: ./app.conf}
`)},
		"pw.txt":   {Data: []byte("hunter2")},
		"app.conf": {Data: []byte("level=1")},
	}
	version := func(b []byte) string { return map[string]string{"hunter2": "v7pw", "level=1": "v9cf"}[string(b)] }
	d, err := Load(t.Context(), fsys, Options{Files: []string{"stack.yml"}, Stack: "shop", Version: version})
	if err != nil {
		t.Fatal(err)
	}
	var names, refs []string
	for _, s := range d.Secrets {
		names = append(names, s.Name+" ("+s.DockerName+") "+s.Labels[LabelName]+"@"+s.Labels[LabelVersion])
	}
	for _, c := range d.Configs {
		names = append(names, c.Name+" ("+c.DockerName+") "+c.Labels[LabelName]+"@"+c.Labels[LabelVersion])
	}
	cs := d.Services[0].Spec.TaskTemplate.ContainerSpec
	for _, r := range cs.Secrets {
		refs = append(refs, r.SecretName+" -> "+r.File.Name)
	}
	for _, r := range cs.Configs {
		refs = append(refs, r.ConfigName+" -> "+r.File.Name)
	}
	wantNames := []string{
		"outside () @",
		"shared_pw () @",
		"shop_db_pw_v7pw (shop_db_pw) db_pw@v7pw",
		"shop_conf_v9cf (shop_conf) conf@v9cf",
	}
	wantRefs := []string{"outside -> outside", "shared_pw -> fixed", "shop_db_pw_v7pw -> db_pw", "shop_conf_v9cf -> /etc/app.conf"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}

	long := func([]byte) string { return strings.Repeat("x", 60) }
	_, err = Load(t.Context(), fsys, Options{Files: []string{"stack.yml"}, Stack: "shop", Version: long})
	if err == nil || !strings.Contains(err.Error(), "db_pw") || !strings.Contains(err.Error(), "pw.txt") {
		t.Errorf("a versioned name over 64 characters: %v, want an error naming the secret and its file", err)
	}
}
