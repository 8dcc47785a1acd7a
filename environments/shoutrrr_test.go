package environments

import (
	"errors"
	"strings"
	"testing"
)

func TestShoutrrrNotifications(t *testing.T) {
	t.Parallel()
	env := "environments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\n"
	c, err := loadString(t, base+env+`notifications:
  - {type: shoutrrr, url: "ntfy://ntfy.sh/flotilla-deploys"}
  - {type: shoutrrr, url: "generic+https://hooks.example.com/x?template=json", events: [failed]}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notifications) != 2 || c.Notifications[0].Type != ShoutrrrNotification {
		t.Fatalf("notifications %+v", c.Notifications)
	}

	_, err = loadString(t, base+env+`notifications:
  - {type: shoutrrr, url: "foo://tok-secret-1@x"}
  - {type: shoutrrr, url: "https://hooks.example.com/tok-secret-2"}
  - {type: shoutrrr, url: "no scheme tok-secret-3"}
  - {type: webhook, url: "discord://tok-secret-4@123"}
`)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load() = %v, want Problems", err)
	}
	want := []wantProblem{
		{6, `url names "foo", which is not a shoutrrr service`},
		{7, "url is an http(s) URL: use type webhook"},
		{8, "url is not a shoutrrr URL"},
		{9, "url must be an http:// or https:// URL"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for _, w := range want {
		if !hasProblem(ps, w) {
			t.Errorf("no problem on line %d containing %q; got:\n%v", w.line, w.msg, err)
		}
	}
	if strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("a problem repeats a URL's credential:\n%v", err)
	}
}
