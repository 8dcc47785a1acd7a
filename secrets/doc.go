// Package secrets decrypts age-encrypted secret files in memory, derives the
// keyed versions that name Docker secrets and configs, and provides Value, a
// byte slice that never prints its content.
package secrets
