package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
)

func TestRunSendsEachServiceTheCredentialsOfItsRegistry(t *testing.T) {
	f := newFake()
	f.crash = func(s swarm.ServiceSpec) bool {
		return s.TaskTemplate.ContainerSpec.Image == "reg.example.com/app:crash"
	}
	api := existing(f, "shop_api", "reg.example.com/app:v1", "reg.example.com/app:v2", 0)
	web := existing(f, "shop_web", "reg.example.com/app:v1", "reg.example.com/app:crash", 0)
	f.auths = nil
	reads := map[string]int{}
	login := func(user string) cluster.Login {
		return cluster.Login{Username: user, Secret: func() (secrets.Value, error) {
			reads[user]++
			return secrets.NewValue([]byte("pw-" + user)), nil
		}}
	}
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{
		api, web,
		createService("shop_proxy", "nginx:1"),
		createService("shop_local", "127.0.0.1:5000/tool:v1"),
	}}
	o := fast
	o.RegistryAuth = cluster.Logins{"reg.example.com": login("deploy"), "docker.io": login("hub")}
	_, err := Run(t.Context(), f, plan, o)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.RollbackErr != nil {
		t.Fatalf("err = %v, want a deploy failure rolled back", err)
	}
	want := map[string][]string{
		// The update, then the rollback to the previous image.
		"shop_api":   {"deploy@reg.example.com", "deploy@reg.example.com"},
		"shop_web":   {"deploy@reg.example.com", "deploy@reg.example.com"},
		"shop_proxy": {"hub@https://index.docker.io/v1/"},
		"shop_local": {""},
	}
	if d := cmp.Diff(want, f.auths); d != "" {
		t.Errorf("credentials sent (-want +got):\n%s", d)
	}
	if reads["deploy"] != 1 || reads["hub"] != 1 {
		t.Errorf("password files read %v, want once per registry per deploy", reads)
	}
}

func TestPullFailureNamesTheImageAndRegistry(t *testing.T) {
	f := newFake()
	image := "127.0.0.1:5000/app:v2@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	f.crash = func(s swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.Image == image }
	f.taskErr = func(s swarm.ServiceSpec) string { return "No such image: " + s.TaskTemplate.ContainerSpec.Image }
	api := existing(f, "shop_api", "127.0.0.1:5000/app:v1", image, 0)
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{api}}, fast)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.RollbackErr != nil {
		t.Fatalf("err = %v, want a deploy failure rolled back", err)
	}
	for _, want := range []string{"shop_api", "image " + image + " could not be pulled from registry 127.0.0.1:5000", "--with-registry-auth", "registries:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := f.services[api.Live.ID].Spec.TaskTemplate.ContainerSpec.Image; got != "127.0.0.1:5000/app:v1" {
		t.Errorf("image after rollback = %s, want the previous one", got)
	}
}

// recoverFake is the fake as Recover wants it: nothing the journal names
// without an ID exists.
type recoverFake struct{ *fakeCluster }

func (recoverFake) ServiceIDs(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (recoverFake) NetworkIDs(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func TestRecoverSendsTheRestoredServiceItsCredentials(t *testing.T) {
	f := newFake()
	id, _, err := f.CreateService(t.Context(), svcSpec("shop_api", "reg.example.com/app:v2", 1), cluster.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.auths = nil
	// The writer died before it sent v3: the service goes back to v1.
	j := &Journal{Stack: "shop", Started: time.Now(), Services: []JournalService{{
		ID: id, Name: "shop_api", Version: 1,
		Previous: svcSpec("shop_api", "reg.example.com/app:v1", 1),
		SpecHash: "shop_apireg.example.com/app:v3",
	}}}
	res, err := Recover(t.Context(), recoverFake{f}, j, RecoverOptions{
		ProgressDeadline: 10 * time.Second, PollInterval: time.Millisecond,
		RegistryAuth: cluster.Logins{"reg.example.com": {Username: "deploy", Secret: func() (secrets.Value, error) {
			return secrets.NewValue([]byte("pw")), nil
		}}},
	})
	if err != nil || res.Outcome != RecoverRolledBack {
		t.Fatalf("Recover = %+v, %v; want rolled back", res, err)
	}
	if got := f.services[id].Spec.TaskTemplate.ContainerSpec.Image; got != "reg.example.com/app:v1" {
		t.Errorf("image after recovery = %s, want the previous one", got)
	}
	if d := cmp.Diff(map[string][]string{"shop_api": {"deploy@reg.example.com"}}, f.auths); d != "" {
		t.Errorf("credentials sent (-want +got):\n%s", d)
	}
}
