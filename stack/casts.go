package stack

import (
	"strings"
	gosync "sync"

	interp "github.com/compose-spec/compose-go/v2/interpolation"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// dockerCasts is compose-go's interpolation type casts (a string from
// `${VAR}` at `deploy.replicas` becomes an int, and so on) without those at
// paths a stack file cannot have: keys of the Compose Specification that
// docker's schema rejects (jobs, pre_start, cpu_count, scale…), which
// checkKeys refuses before compose-go sees the file. compose-go tries
// every cast pattern on every string of the file, splitting both paths
// each time: that was a third of a render. The casts left are compose-go's
// own functions, so the result is the same.
var dockerCasts = gosync.OnceValue(func() map[tree.Path]interp.Cast {
	all := loader.ToOptions(&types.ConfigDetails{}, nil).Interpolate.TypeCastMapping
	out := make(map[tree.Path]interp.Cast, len(all))
	for pattern, cast := range all {
		if reachable(pattern) {
			out[pattern] = cast
		}
	}
	return out
})

// reachable reports whether a value at pattern can pass checkKeys: each key
// on the way is allowed where it is, or lies in a free-form place (labels,
// depends_on…) that checkKeys does not look into.
func reachable(pattern tree.Path) bool {
	at := ""
	for _, part := range strings.Split(string(pattern), ".") {
		if part == tree.PathMatchList {
			at += "[]"
			continue
		}
		allowed, checked := dockerKeys[at]
		switch {
		case namedMaps[at]:
			at += ".*"
		case !checked:
			return true // free-form below
		case part == tree.PathMatchAll || hasWord(allowed, part):
			at += "." + part
		default:
			return false
		}
		at = strings.TrimPrefix(at, ".")
	}
	return true
}
