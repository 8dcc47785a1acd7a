package cluster

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/docker/docker/client"

	cerrdefs "github.com/containerd/errdefs"
)

// The engine's errors are classified here, once: no other package reads
// their words. The client gives each error the errdefs class of its HTTP
// status, which is enough for "not found" (404) and "already exists" (409).
// Some answers need their words (verified on engine 20.10), and are read
// here only: an object still in use is an invalid argument or a failed
// precondition (400; libnetwork's "has active endpoints" a 403), a stale
// version is a 500 "update out of sequence", a swarm network whose removal
// settles is now and then "network X not found" without the 404 class, and
// a registry asked without credentials is a 500 "no basic auth
// credentials".

// IsNotFound reports whether the engine answered that the object does not
// exist (any more).
func IsNotFound(err error) bool {
	return cerrdefs.IsNotFound(err) ||
		err != nil && strings.HasPrefix(lastLine(err.Error()), "network ") && strings.HasSuffix(err.Error(), " not found")
}

// lastLine is the engine's own words at the end of a wrapped message.
func lastLine(msg string) string {
	if i := strings.LastIndex(msg, "Error response from daemon: "); i >= 0 {
		return msg[i+len("Error response from daemon: "):]
	}
	return msg
}

// IsConflict reports whether the engine refused to create an object because
// one of that name already exists.
func IsConflict(err error) bool { return cerrdefs.IsConflict(err) }

// IsInUse reports whether the engine refused to remove an object that a
// service or a task still uses: it can go once they are gone.
func IsInUse(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "in use") || strings.Contains(err.Error(), "active endpoints"))
}

// isRegistryUnauthorized reports whether the engine's registry refused a
// request for want of credentials, or for the ones it was given.
func isRegistryUnauthorized(err error) bool {
	return cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) ||
		err != nil && strings.Contains(err.Error(), "no basic auth credentials")
}

// IsOutOfSequence reports whether an update carried an older version than
// the object's: it changed since it was read. Read it again, then retry.
func IsOutOfSequence(err error) bool {
	return err != nil && strings.Contains(err.Error(), "update out of sequence")
}

// IsUnavailable reports whether the engine could not be reached or the
// connection broke: the request may or may not have been carried out.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if client.IsErrConnectionFailed(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
