package apply_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// These tests pull from a registry served by the test process, behind basic
// auth: the images exist only there, so a service runs only if its node
// could pull.

func registryStack(image string) string {
	return fmt.Sprintf(`
services:
  web:
    image: %s
    deploy:
      restart_policy: {condition: any, delay: 1s}
`, image)
}

// pinnedPlan renders the stack, pins its images as the mode says and diffs
// it with the live stack, as a deploy does.
func (d *deployer) pinnedPlan(file string, mode cluster.ResolveImage, auth cluster.RegistryAuth) (diff.Plan, *stack.Desired, *stack.Live) {
	d.t.Helper()
	ctx := d.t.Context()
	d.files["stack.yml"] = &fstest.MapFile{Data: []byte(file)}
	desired, err := stack.Load(ctx, d.files, stack.Options{Files: []string{"stack.yml"}, Stack: d.stack, APIVersion: d.docker.APIVersion()})
	if err != nil {
		d.t.Fatal(err)
	}
	live, err := d.docker.ReadStack(ctx, d.stack)
	if err != nil {
		d.t.Fatal(err)
	}
	pinned, err := cluster.PinImages(ctx, d.docker, desired, live, mode, auth)
	if err != nil {
		d.t.Fatal(err)
	}
	return diff.Compute(pinned, live), desired, live
}

var registryOpts = apply.Options{ProgressDeadline: 2 * time.Minute, Monitor: time.Second, FailureThreshold: 2}

func TestPrivateRegistryNeedsCredentials(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	digest := reg.Push(t, "app:v1")
	d := newDeployer(t)
	ref := reg.Host + "/app:v1"
	file := registryStack(ref)

	// Without credentials: the digest can't be resolved (a warning), the
	// node can't pull, the deploy fails naming the image and the registry,
	// and the service it created is removed.
	p, _, _ := d.pinnedPlan(file, cluster.ResolveAlways, nil)
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "registry "+reg.Host+" (the registry wants credentials") {
		t.Errorf("plan warnings = %q, want one saying %s could not be resolved", p.Warnings, ref)
	}
	_, err := apply.Run(t.Context(), d.docker, p, registryOpts)
	var fe *apply.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("deploy without credentials: %v, want a failed deploy", err)
	}
	for _, want := range []string{"image " + ref + " could not be pulled from registry " + reg.Host, "--with-registry-auth", "registries:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if fe.RollbackErr != nil || !strings.Contains(strings.Join(fe.RolledBack, ","), d.stack+"_web") {
		t.Errorf("rollback: %v, rolled back %v; want the created service removed", fe.RollbackErr, fe.RolledBack)
	}
	if live, err := d.docker.ReadStack(t.Context(), d.stack); err != nil || len(live.Services) != 0 {
		t.Errorf("after the failed deploy the stack has %d services (%v), want none", len(live.Services), err)
	}

	// With credentials: pinned to the pushed digest, pulled on the node.
	auth := reg.Logins()
	p, _, _ = d.pinnedPlan(file, cluster.ResolveAlways, auth)
	if len(p.Warnings) != 0 {
		t.Errorf("plan warnings = %q, want none", p.Warnings)
	}
	o := registryOpts
	o.RegistryAuth = auth
	if _, err := apply.Run(t.Context(), d.docker, p, o); err != nil {
		t.Fatalf("deploy with credentials: %v", err)
	}
	svc := d.service("web")
	if got, want := image(svc), ref+"@"+digest; got != want {
		t.Errorf("service runs %s, want it pinned: %s", got, want)
	}
	if got := svc.Spec.Labels[stack.LabelImage]; got != ref {
		t.Errorf("label %s = %q, want the image as the stack file names it, %q", stack.LabelImage, got, ref)
	}
	if pl := svc.Spec.TaskTemplate.Placement; pl == nil || len(pl.Platforms) == 0 {
		t.Errorf("placement %+v: want the image's platforms, as docker pins them", pl)
	}
	// The same tag resolves to the same digest: nothing to do.
	if p, _, _ := d.pinnedPlan(file, cluster.ResolveAlways, auth); p.HasChanges() {
		t.Errorf("plan after the deploy has changes: %v", outlinePlan(p))
	}
}

func TestMovedTagShowsAsAnImageChange(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	first := reg.Push(t, "app:prod")
	d := newDeployer(t)
	ref := reg.Host + "/app:prod"
	file := registryStack(ref)
	auth := reg.Logins()
	o := registryOpts
	o.RegistryAuth = auth
	p, _, _ := d.pinnedPlan(file, cluster.ResolveAlways, auth)
	if _, err := apply.Run(t.Context(), d.docker, p, o); err != nil {
		t.Fatal(err)
	}
	_, desired, live := d.pinnedPlan(file, cluster.ResolveAlways, auth)
	moved, err := cluster.MovedImages(t.Context(), d.docker, desired, live, auth)
	if err != nil || len(moved) != 0 {
		t.Fatalf("MovedImages before a push = %v, %v; want none", moved, err)
	}

	// Someone pushes a new image under the same tag.
	second := reg.Push(t, "app:prod", "RELEASE=second")
	if second == first {
		t.Fatal("the second push has the first one's digest")
	}
	moved, err = cluster.MovedImages(t.Context(), d.docker, desired, live, auth)
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.MovedImage{{Image: ref, Services: []string{d.stack + "_web"}, Old: first, New: second}}
	if diff := cmp.Diff(want, moved); diff != "" {
		t.Errorf("MovedImages (-want +got):\n%s", diff)
	}
	// Without credentials the registry can't be asked: an error naming it.
	if _, err := cluster.MovedImages(t.Context(), d.docker, desired, live, nil); err == nil || !strings.Contains(err.Error(), reg.Host) {
		t.Errorf("MovedImages without credentials = %v, want an error naming the registry", err)
	}

	// resolveImage changed keeps the pin (the reference did not change);
	// always shows the new digest as an image change, and deploys it.
	if p, _, _ := d.pinnedPlan(file, cluster.ResolveChanged, auth); p.HasChanges() {
		t.Errorf("plan with resolve-image changed: %v, want none", outlinePlan(p))
	}
	p, _, _ = d.pinnedPlan(file, cluster.ResolveAlways, auth)
	wantPlan := []string{
		"update service " + d.stack + "_web (rolling restart)",
		"  TaskTemplate.ContainerSpec.Image: " + ref + "@" + first + " => " + ref + "@" + second,
	}
	if diff := cmp.Diff(wantPlan, outlinePlan(p)); diff != "" {
		t.Errorf("plan after the push (-want +got):\n%s", diff)
	}
	if _, err := apply.Run(t.Context(), d.docker, p, o); err != nil {
		t.Fatal(err)
	}
	if got := image(d.service("web")); got != ref+"@"+second {
		t.Errorf("service runs %s after the deploy, want the new digest", got)
	}
	if envOf(d.service("web"), "RELEASE") != "" {
		t.Errorf("the stack file's env changed: %v", d.service("web").Spec.TaskTemplate.ContainerSpec.Env)
	}
}

// outlinePlan is a plan's changes, noops left out, one line per change and field.
func outlinePlan(p diff.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == diff.ActionNoop {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s (%s)", c.Action, c.Kind, c.Name, c.Effect))
		for _, f := range c.Fields {
			out = append(out, fmt.Sprintf("  %s: %s => %s", f.Path, f.Old, f.New))
		}
	}
	return out
}
