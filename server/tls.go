package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	gosync "sync"
	"time"
)

// certificate is server.tls's key pair, loaded again when either file
// changes: a renewed certificate (certbot, a Docker secret's new version)
// is served without a restart.
type certificate struct {
	certFile, keyFile string

	mu      gosync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the later of the two files'
}

func newCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if _, err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads the pair when it changed since the last load.
func (c *certificate) load() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var latest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return c.cert, fmt.Errorf("reading server.tls: %w", err)
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	if c.cert != nil && latest.Equal(c.modTime) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		// The key's content is never part of crypto/tls's errors.
		return c.cert, fmt.Errorf("reading server.tls (%s, %s): %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modTime = &cert, latest
	return c.cert, nil
}

// get serves the current pair; one that fails to load again (a renewal
// half-written) leaves the previous one in service, with a warning.
func (c *certificate) get(log *slog.Logger) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := c.load()
		if err != nil {
			if cert == nil {
				return nil, err
			}
			log.Warn("keeping the previous TLS certificate", "err", err)
		}
		return cert, nil
	}
}
