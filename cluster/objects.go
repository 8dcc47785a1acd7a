package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// Labels of the config objects Flotilla keeps for itself (leases, deploy
// journals, history). They carry no stack namespace label, so no stack's
// plan ever sees or prunes them.
const (
	LabelManaged = "io.flotilla.managed"
	LabelLease   = "io.flotilla.lease"
	LabelJournal = "io.flotilla.journal"
)

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// ObjectName names one of Flotilla's own objects: "flotilla.KIND.KEY" or,
// with a suffix, "flotilla.KIND.KEY.SUFFIX", within the engine's limit of 64
// characters of [a-zA-Z0-9-_.]. A key that is too long or has other
// characters is cut and given a hash, so distinct keys stay distinct.
func ObjectName(kind, key, suffix string) string {
	tail := ""
	if suffix != "" {
		tail = "." + suffix
	}
	clean := unsafeName.ReplaceAllString(key, "-")
	room := 64 - len("flotilla."+kind+".") - len(tail)
	if clean != key || len(clean) > room {
		sum := sha256.Sum256([]byte(key))
		h := hex.EncodeToString(sum[:4])
		clean = clean[:min(len(clean), room-9)] + "-" + h
	}
	return "flotilla." + kind + "." + clean + tail
}
