// Command gen writes the SOPS fixtures of package secrets' tests with the
// real SOPS code: each file under ../plain is encrypted as `sops -e` would
// (age recipients, the same stores and metadata), then decrypted again by
// SOPS to record what `sops -d` prints, which Flotilla's own decryption
// must reproduce. It also writes the broken files the tests expect to be
// refused, and checks that SOPS refuses them too.
//
// Run it from this directory: go run .
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/decrypt"
	"github.com/getsops/sops/v3/version"
)

// dir is where the fixtures go, beside the plain files.
const dir = ".."

type fixture struct {
	plain, out string
	format     formats.Format
	// rules sets which values are encrypted; nil is SOPS's default, the
	// _unencrypted suffix (none for a binary file).
	rules      func(*sops.Metadata)
	recipients []string
	// groups, when set, split the data key among key groups with Shamir's
	// scheme: any threshold of them decrypt.
	groups    [][]string
	threshold int
}

func main() {
	log.SetFlags(0)
	id := identity(filepath.Join(dir, "age.key"))
	other := identity(filepath.Join(dir, "other.key"))
	me, them := id.Recipient().String(), other.Recipient().String()

	fixtures := []fixture{
		// The other recipient comes first: decryption must try each.
		{plain: "app.yaml", out: "app.sops.yaml", format: formats.Yaml, recipients: []string{them, me}},
		{plain: "multi.yaml", out: "multi.sops.yaml", format: formats.Yaml, recipients: []string{me}},
		{plain: "app.json", out: "app.sops.json", format: formats.Json, recipients: []string{me}},
		// What YAML and JSON can hold that SOPS must print back exactly.
		{plain: "edge.yaml", out: "edge.sops.yaml", format: formats.Yaml, recipients: []string{me}},
		{plain: "edge.json", out: "edge.sops.json", format: formats.Json, recipients: []string{me}},
		{plain: "db.env", out: "db.sops.env", format: formats.Dotenv, recipients: []string{me}},
		{plain: "cert.pem", out: "cert.sops.pem", format: formats.Binary, recipients: []string{me}},
		{plain: "regex.yaml", out: "regex.sops.yaml", format: formats.Yaml, recipients: []string{me},
			rules: func(m *sops.Metadata) { m.EncryptedRegex = "^(password|data)$" }},
		{plain: "maconly.yaml", out: "maconly.sops.yaml", format: formats.Yaml, recipients: []string{me},
			rules: func(m *sops.Metadata) { m.UnencryptedSuffix = "_unencrypted"; m.MACOnlyEncrypted = true }},
		{plain: "comments.yaml", out: "comments.sops.yaml", format: formats.Yaml, recipients: []string{me},
			rules: func(m *sops.Metadata) { m.EncryptedCommentRegex = "sops:enc" }},
		{plain: "app.yaml", out: "other-key.sops.yaml", format: formats.Yaml, recipients: []string{them}},
		// Three groups, two needed: this key and the other one. The third
		// group's key is thrown away.
		{plain: "multi.yaml", out: "shamir.sops.yaml", format: formats.Yaml,
			groups: [][]string{{me}, {them}, {throwaway()}}, threshold: 2},
	}

	// SOPS finds the identity through its own variable.
	abs, err := filepath.Abs(filepath.Join(dir, "age.key"))
	check(err)
	check(os.Setenv(sopsage.SopsAgeKeyFileEnv, abs))

	for _, f := range fixtures {
		plain, err := os.ReadFile(filepath.Join(dir, "plain", f.plain))
		check(err)
		enc := encrypt(f, plain)
		write(f.out, enc)
		if f.out == "other-key.sops.yaml" || f.out == "shamir.sops.yaml" {
			if _, err := decrypt.DataWithFormat(enc, f.format); err == nil {
				log.Fatalf("%s: SOPS decrypted it without the other key", f.out)
			}
			continue
		}
		out, err := decrypt.DataWithFormat(enc, f.format)
		check(err)
		write(f.out+".want", out)
	}

	// The Shamir file needs both keys: SOPS decrypts it with the two,
	// and not with one (checked in the loop above).
	shamir, err := os.ReadFile(filepath.Join(dir, "shamir.sops.yaml"))
	check(err)
	var both []byte
	for _, f := range []string{"age.key", "other.key"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		check(err)
		both = append(both, b...)
	}
	check(os.Unsetenv(sopsage.SopsAgeKeyFileEnv))
	check(os.Setenv(sopsage.SopsAgeKeyEnv, string(both)))
	out, err := decrypt.DataWithFormat(shamir, formats.Yaml)
	check(err)
	want, err := os.ReadFile(filepath.Join(dir, "multi.sops.yaml.want"))
	check(err)
	if !bytes.Equal(out, want) {
		log.Fatalf("shamir.sops.yaml decrypts to %q", out)
	}
	check(os.Unsetenv(sopsage.SopsAgeKeyEnv))
	check(os.Setenv(sopsage.SopsAgeKeyFileEnv, abs))

	// Tampered: a value left in the clear is changed. Every value still
	// decrypts; only the MAC, over all values, tells.
	app, err := os.ReadFile(filepath.Join(dir, "app.sops.yaml"))
	check(err)
	tampered := replaceOnce(app, "anyone may read this", "anyone may write this")
	mustFail(tampered, "Failed to verify data integrity")
	write("tampered.sops.yaml", tampered)

	// A dropped list item (second-key, after first-key and the encrypted
	// comment): also only the MAC tells.
	dropped := dropLine(app, "api_keys:\n", 3)
	mustFail(dropped, "Failed to verify data integrity")
	write("dropped.sops.yaml", dropped)

	// An encrypted value changed: AES-GCM's tag fails.
	write("tampered-value.sops.yaml", flipCiphertext(app, "host: ENC[AES256_GCM,data:"))
}

func encrypt(f fixture, plain []byte) []byte {
	store := common.StoreForFormat(f.format, config.NewStoresConfig())
	branches, err := store.LoadPlainFile(plain)
	check(err)
	groups := f.groups
	if groups == nil {
		groups = [][]string{f.recipients}
	}
	var keyGroups []sops.KeyGroup
	for _, recipients := range groups {
		var group sops.KeyGroup
		for _, r := range recipients {
			k, err := sopsage.MasterKeyFromRecipient(r)
			check(err)
			group = append(group, k)
		}
		keyGroups = append(keyGroups, group)
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{KeyGroups: keyGroups, ShamirThreshold: f.threshold, Version: version.Version},
		FilePath: f.plain,
	}
	switch {
	case f.rules != nil:
		f.rules(&tree.Metadata)
	case f.format != formats.Binary:
		// What `sops -e` does without a rule.
		tree.Metadata.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	key, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		log.Fatalf("%s: %v", f.out, errs)
	}
	check(common.EncryptTree(common.EncryptTreeOpts{DataKey: key, Tree: &tree, Cipher: aes.NewCipher()}))
	out, err := store.EmitEncryptedFile(tree)
	check(err)
	return out
}

func throwaway() string {
	id, err := age.GenerateX25519Identity()
	check(err)
	return id.Recipient().String()
}

// identity reads an age identity file, creating it the first time.
func identity(path string) *age.X25519Identity {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		id, err := age.GenerateX25519Identity()
		check(err)
		data = fmt.Appendf(nil, "# created: %s\n# public key: %s\n# A test key: it protects nothing but these fixtures.\n%s\n",
			time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
		check(os.WriteFile(path, data, 0o600))
	} else {
		check(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	check(err)
	return ids[0].(*age.X25519Identity)
}

func mustFail(data []byte, want string) {
	_, err := decrypt.DataWithFormat(data, formats.Yaml)
	if err == nil || !strings.Contains(err.Error(), want) {
		log.Fatalf("SOPS: got %v, want an error with %q", err, want)
	}
}

func replaceOnce(data []byte, old, new string) []byte {
	if bytes.Count(data, []byte(old)) != 1 {
		log.Fatalf("%q is not in the file once", old)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

// dropLine removes the line n lines below the line marker.
func dropLine(data []byte, marker string, n int) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		if l == marker {
			return []byte(strings.Join(append(lines[:i+n:i+n], lines[i+n+1:]...), ""))
		}
	}
	log.Fatalf("%q is not in the file", marker)
	return nil
}

// flipCiphertext changes the first character of the ciphertext after prefix.
func flipCiphertext(data []byte, prefix string) []byte {
	i := bytes.Index(data, []byte(prefix))
	if i < 0 {
		log.Fatalf("%q is not in the file", prefix)
	}
	out := bytes.Clone(data)
	at := i + len(prefix)
	if out[at] == 'A' {
		out[at] = 'B'
	} else {
		out[at] = 'A'
	}
	return out
}

func write(name string, data []byte) {
	check(os.WriteFile(filepath.Join(dir, name), data, 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
