package stack_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// statOnlyFS answers Stat with the size of a file it would refuse to open:
// a file over the limit must be refused before a byte of it is read, as a
// Git tree knows a blob's size without reading it.
type statOnlyFS struct {
	fstest.MapFS
	huge map[string]int64
}

type hugeInfo struct {
	fs.FileInfo
	size int64
}

func (h hugeInfo) Size() int64 { return h.size }

func (f statOnlyFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := f.MapFS.Stat(name)
	if size, ok := f.huge[name]; ok && err == nil {
		return hugeInfo{fi, size}, nil
	}
	return fi, err
}

func (f statOnlyFS) Open(name string) (fs.File, error) {
	if _, ok := f.huge[name]; ok {
		return nil, errors.New("opened a file that Stat said is too large")
	}
	return f.MapFS.Open(name)
}

func (f statOnlyFS) ReadFile(name string) ([]byte, error) {
	if _, ok := f.huge[name]; ok {
		return nil, errors.New("read a file that Stat said is too large")
	}
	return f.MapFS.ReadFile(name)
}

func TestFileSizeLimits(t *testing.T) {
	const svc = "services:\n  app:\n    image: img\n"
	tests := []struct {
		name string
		yml  string
		huge string // the file Stat says is too large
		size int64
		want []string
	}{
		{"stack file", svc, "stack.yml", stack.MaxFileSize + 1, []string{"stack.yml", "too large"}},
		{"service env_file", svc + "    env_file: app.env\n", "app.env", stack.MaxFileSize + 1, []string{"env_file", "app.env", "too large"}},
		{"env file", svc, "vars.env", stack.MaxFileSize + 1, []string{"vars.env", "too large"}},
		// A secret's file may be a SOPS file, larger than what it holds: its
		// content is checked once read (TestFileSizeLimitsOnContent).
		{"secret", svc + "secrets:\n  s:\n    file: s.txt\n", "s.txt", 2 * int64(secrets.SecretLimit), []string{"secret s", "s.txt", "too large"}},
		{"encrypted secret", svc + "secrets:\n  s:\n    file: s.age\n", "s.age", 2 * int64(secrets.SecretLimit), []string{"secret s", "s.age", "too large"}},
		{"config", svc + "configs:\n  c:\n    file: c.txt\n", "c.txt", int64(secrets.ConfigLimit), []string{"config c", "c.txt", "too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := statOnlyFS{MapFS: fstest.MapFS{
				"stack.yml": {Data: []byte(tt.yml)}, "app.env": {Data: []byte("A=1\n")}, "vars.env": {Data: []byte("B=2\n")},
				"s.txt": {Data: []byte("x")}, "s.age": {Data: []byte("x")}, "c.txt": {Data: []byte("x")},
			}, huge: map[string]int64{tt.huge: tt.size}}
			decrypt := func(string, []byte) (secrets.Value, error) { return secrets.NewValue([]byte("p")), nil }
			_, err := stack.Load(t.Context(), fsys, stack.Options{Files: []string{"stack.yml"}, EnvFiles: []string{"vars.env"},
				Stack: "s", Decrypt: decrypt})
			if err == nil {
				t.Fatal("Load succeeded, want a size error")
			}
			if !errors.Is(err, secrets.ErrTooLarge) {
				t.Errorf("error %v is not secrets.ErrTooLarge", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestFileSizeLimitsOnContent: a file that grew after its Stat, or an FS
// without sizes, is still cut at the limit; Docker's exact bounds hold.
func TestFileSizeLimitsOnContent(t *testing.T) {
	yml := "services:\n  app:\n    image: img\nsecrets:\n  s:\n    file: s.txt\nconfigs:\n  c:\n    file: c.txt\n"
	for _, tt := range []struct {
		name           string
		secret, config int
		wantErr        string
	}{
		{"just under Docker's limits", int(secrets.SecretLimit) - 1, int(secrets.ConfigLimit) - 1, ""},
		{"secret at the limit", int(secrets.SecretLimit), 1, "secret s"},
		{"config at the limit", 1, int(secrets.ConfigLimit), "config c"},
		{"empty secret", 0, 1, "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			extra := map[string]string{"s.txt": strings.Repeat("s", tt.secret), "c.txt": strings.Repeat("c", tt.config)}
			d, err := load(t, yml, extra, stack.Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if d.Secrets[0].Data.Len() != tt.secret || d.Configs[0].Data.Len() != tt.config {
					t.Errorf("sizes %d, %d; want %d, %d", d.Secrets[0].Data.Len(), d.Configs[0].Data.Len(), tt.secret, tt.config)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load: %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

// TestAgeConfigRefused: configs are stored in clear on the engine, so an
// encrypted file can't be one, even through a link.
func TestAgeConfigRefused(t *testing.T) {
	decrypted := false
	decrypt := func(string, []byte) (secrets.Value, error) {
		decrypted = true
		return secrets.NewValue([]byte("plain")), nil
	}
	_, err := load(t, "services:\n  app:\n    image: img\nconfigs:\n  c:\n    file: c.conf.age\n",
		map[string]string{"c.conf.age": "cipher"}, stack.Options{Decrypt: decrypt})
	if err == nil || !strings.Contains(err.Error(), "config c") || !strings.Contains(err.Error(), "c.conf.age") ||
		!strings.Contains(err.Error(), "secrets:") {
		t.Errorf("Load of an age config: %v, want an error naming it and saying to use a secret", err)
	}
	if decrypted {
		t.Error("the config was decrypted")
	}
}
