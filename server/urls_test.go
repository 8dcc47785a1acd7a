package server

import "testing"

func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/acme/shop.git", "github.com/acme/shop"},
		{"https://github.com/acme/shop", "github.com/acme/shop"},
		{"https://github.com/acme/shop/", "github.com/acme/shop"},
		{"https://GitHub.COM/acme/shop.git/", "github.com/acme/shop"},
		{"http://github.com:80/acme/shop", "github.com/acme/shop"},
		{"https://github.com:443/acme/shop", "github.com/acme/shop"},
		{"https://x-access-token:secret@github.com/acme/shop.git", "github.com/acme/shop"},
		{"git@github.com:acme/shop.git", "github.com/acme/shop"},
		{"git@github.com:/acme/shop.git", "github.com/acme/shop"},
		{"github.com:acme/shop", "github.com/acme/shop"},
		{"ssh://git@github.com/acme/shop.git", "github.com/acme/shop"},
		{"ssh://git@github.com:22/acme/shop.git", "github.com/acme/shop"},
		{"git://github.com/acme/shop.git", "github.com/acme/shop"},
		{"ssh://git@gitlab.example.com:2222/group/sub/app.git", "gitlab.example.com:2222/group/sub/app"},
		{"https://gitlab.example.com:8443/group/sub/app", "gitlab.example.com:8443/group/sub/app"},
		{"file:///srv/git/shop.git", "file:/srv/git/shop.git"},
		{"file:///srv/git/shop/", "file:/srv/git/shop"},
		{"/srv/git/./shop", "file:/srv/git/shop"},
		{"  https://github.com/acme/shop \n", "github.com/acme/shop"},
		{"", ""},
	} {
		if got := NormalizeURL(tc.in); got != tc.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSameRepo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"git@github.com:acme/shop.git", "https://github.com/Acme/Shop", true},
		{"https://github.com/acme/shop", "https://github.com/acme/shop-api", false},
		{"https://github.com/acme/shop", "https://gitlab.com/acme/shop", false},
		{"ssh://git@host:2222/a/b", "https://host/a/b", false},
		{"file:///srv/shop", "/srv/shop/", true},
		{"file:///srv/shop", "file:///srv/other", false},
		{"", "", false},
	} {
		if got := sameRepo(tc.a, tc.b); got != tc.want {
			t.Errorf("sameRepo(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
