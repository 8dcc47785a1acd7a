package server

import "testing"

func TestForgeCommitURL(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct{ repo, want string }{
		{"https://github.com/acme/shop.git", "https://github.com/acme/shop/commit/" + sha},
		{"https://x-access-token:ghp_secret@github.com/acme/shop", "https://github.com/acme/shop/commit/" + sha},
		{"git@github.com:acme/shop.git", "https://github.com/acme/shop/commit/" + sha},
		{"ssh://git@github.com:22/acme/shop.git", "https://github.com/acme/shop/commit/" + sha},
		{"https://gitlab.com/acme/platform/shop.git", "https://gitlab.com/acme/platform/shop/-/commit/" + sha},
		{"git@gitlab.example.com:ops/stacks.git", "https://gitlab.example.com/ops/stacks/-/commit/" + sha},
		{"https://codeberg.org/acme/shop.git", "https://codeberg.org/acme/shop/commit/" + sha},
		{"https://gitea.example.com/ops/stacks", "https://gitea.example.com/ops/stacks/commit/" + sha},
		{"https://github.example.com/ops/stacks.git", "https://github.example.com/ops/stacks/commit/" + sha},
		// Unknown forges, local repositories and odd paths get no link.
		{"https://git.example.com/ops/stacks.git", ""},
		{"http://127.0.0.1:3000/shop.git", ""},
		{"/srv/git/shop.git", ""},
		{"file:///srv/git/shop.git", ""},
		{"https://github.com/shop", ""},
		{"https://github.com/acme/../shop", ""},
		{"javascript:alert(1)//github.com/a/b", ""},
	}
	for _, tt := range tests {
		if got := forgeCommitURL(tt.repo, sha); got != tt.want {
			t.Errorf("forgeCommitURL(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
	if got := forgeCommitURL("https://github.com/acme/shop", ""); got != "" {
		t.Errorf("a record without a commit links to %q", got)
	}
}

func TestDisplayRepoHidesCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://oauth2:glpat-secret@gitlab.com/acme/shop.git": "https://gitlab.com/acme/shop.git",
		"git@github.com:acme/shop.git":                         "git@github.com:acme/shop.git",
		"/srv/git/shop.git":                                    "/srv/git/shop.git",
	} {
		if got := displayRepo(in); got != want {
			t.Errorf("displayRepo(%q) = %q, want %q", in, got, want)
		}
	}
}
