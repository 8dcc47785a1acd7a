package apply_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"filippo.io/age"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// withAge gives the deployer an age identity and returns a function that
// puts an encrypted secret file into the stack's files.
func withAge(t *testing.T, d *deployer) (encrypt func(path, plaintext string)) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	d.decrypt = (&secrets.Decrypter{Identities: []age.Identity{id}}).Decrypt
	v, _, err := secrets.VersionerFor([]age.Identity{id}, "")
	if err != nil {
		t.Fatal(err)
	}
	d.version = v.Version
	return func(path, plaintext string) {
		ct, err := secrets.Encrypt([]byte(plaintext), []age.Recipient{id.Recipient()}, true)
		if err != nil {
			t.Fatal(err)
		}
		d.files[path] = &fstest.MapFile{Data: ct}
	}
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 12)
	rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

// versionsOf lists the engine names of a stack's secret called key.
func (d *deployer) versionsOf(key string) []string {
	d.t.Helper()
	list, err := d.api.SecretList(d.t.Context(), swarm.SecretListOptions{Filters: filters.NewArgs(
		filters.Arg("label", stack.LabelNamespace+"="+d.stack), filters.Arg("label", stack.LabelName+"="+key))})
	if err != nil {
		d.t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Spec.Name)
	}
	return names
}

func TestEncryptedSecretIsWhatTheContainerReads(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	encrypt := withAge(t, d)
	plaintext := randomSecret(t)
	encrypt("secrets/db_pw.age", plaintext)
	file := `
services:
  reader:
    image: flotilla-test/app:v1
    command: ["cat", "/run/secrets/db_password"]
    secrets: [{source: db_pw, target: db_password, mode: 0400}]
    deploy: {mode: replicated-job}
secrets:
  db_pw: {file: ./secrets/db_pw.age}
`
	if _, err := d.deploy(file, nil, testOpts); err != nil {
		t.Fatal(err)
	}
	svc := d.service("reader")
	rc, err := d.api.ServiceLogs(t.Context(), svc.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var stdout bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(stdout.String()); got != plaintext {
		t.Errorf("the container read %q at its target path, want the decrypted value", got)
	}
	names := d.versionsOf("db_pw")
	if len(names) != 1 || !strings.HasPrefix(names[0], d.stack+"_db_pw_") || strings.Contains(names[0], plaintext) {
		t.Errorf("secret versions %v, want one named %s_db_pw_<version>", names, d.stack)
	}
}

const rotatingFile = `
services:
  api:
    image: flotilla-test/app:v1
    environment:
      PORT: "${BASE}{{.Task.Slot}}"
      CRASH: "${CRASH}"
    secrets: [db_pw]
    networks: [hostnet]
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 1s, timeout: 1s, retries: 2}
    deploy:
      replicas: 2
      update_config: {parallelism: 1, order: stop-first, monitor: 2s}
      restart_policy: {delay: 1s}
secrets:
  db_pw: {file: ./secrets/db_pw.age}
networks:
  hostnet:
    external: true
    name: host
`

func TestSecretRotationRollsWithoutFailuresAndRemovesTheOldVersion(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	encrypt := withAge(t, d)
	base, ports := slotPorts(t)
	vars := map[string]string{"BASE": base, "CRASH": "0"}
	encrypt("secrets/db_pw.age", randomSecret(t))
	if _, err := d.deploy(rotatingFile, vars, testOpts); err != nil {
		t.Fatal(err)
	}
	old := d.versionsOf("db_pw")

	encrypt("secrets/db_pw.age", randomSecret(t))
	w := watchAnswering(t, ports)
	res, err := d.deploy(rotatingFile, vars, testOpts)
	polls, gaps := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	now := d.versionsOf("db_pw")
	if len(old) != 1 || len(now) != 1 || now[0] == old[0] {
		t.Fatalf("secret versions before %v and after %v the rotation, want one each, different", old, now)
	}
	if len(gaps) > 0 {
		t.Errorf("the service stopped answering %d of %d times during the rotation: %v", len(gaps), polls, gaps)
	}
	if n := d.failedTasks("api"); n != 0 {
		t.Errorf("%d failed tasks during the rotation", n)
	}
	if !strings.Contains(strings.Join(res.Removed, " "), old[0]) {
		t.Errorf("Removed = %v, want the old version %s", res.Removed, old[0])
	}
	refs := d.service("api").Spec.TaskTemplate.ContainerSpec.Secrets
	if len(refs) != 1 || refs[0].SecretName != now[0] || refs[0].File.Name != "db_pw" {
		t.Errorf("the service mounts %+v, want %s at the same path db_pw", refs, now[0])
	}
}

func TestFailedRotationKeepsTheOldSecretMounted(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	encrypt := withAge(t, d)
	base, _ := slotPorts(t)
	encrypt("secrets/db_pw.age", randomSecret(t))
	if _, err := d.deploy(rotatingFile, map[string]string{"BASE": base, "CRASH": "0"}, testOpts); err != nil {
		t.Fatal(err)
	}
	old := d.versionsOf("db_pw")

	encrypt("secrets/db_pw.age", randomSecret(t))
	_, err := d.deploy(rotatingFile, map[string]string{"BASE": base, "CRASH": "1"}, testOpts)
	var fe *apply.FailedError
	if !errors.As(err, &fe) || fe.RollbackErr != nil {
		t.Fatalf("a rotation with a crashing service: %v, want a rolled-back FailedError", err)
	}
	refs := d.service("api").Spec.TaskTemplate.ContainerSpec.Secrets
	if len(refs) != 1 || len(old) != 1 || refs[0].SecretName != old[0] {
		t.Errorf("after the failed rotation the service mounts %+v, want the old version %v", refs, old)
	}
	if now := d.versionsOf("db_pw"); fmt.Sprint(now) != fmt.Sprint(old) {
		t.Errorf("secret versions %v after the failed rotation, want only the old %v", now, old)
	}
	swarmtest.WaitRunning(t, d.api, d.stack+"_api", 2, time.Minute)
}
