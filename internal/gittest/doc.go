// Package gittest makes real Git repositories for tests with the git CLI,
// and serves them the three ways Flotilla fetches: file://, HTTP through
// git http-backend (with a token), and SSH through a throw-away sshd on
// loopback (with a pinned host key). Run scripts/test-deps once to install
// git and sshd.
package gittest
