// Package secrets decrypts age-encrypted secret files and SOPS files
// encrypted for age recipients in memory, derives the keyed versions that
// name Docker secrets and configs, and provides Value, a byte slice that
// never prints its content. SOPS files are read by this package's own
// implementation of their format (sops.go), so that Flotilla does not link
// SOPS and the cloud SDKs it brings.
package secrets
