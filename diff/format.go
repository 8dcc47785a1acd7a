package diff

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// durationKeys hold nanoseconds in the JSON form of swarm types.
var durationKeys = map[string]bool{
	"StopGracePeriod": true, "Delay": true, "Window": true, "Monitor": true,
	"Interval": true, "Timeout": true, "StartPeriod": true, "StartInterval": true,
}

// format renders a leaf for humans: durations as "10s", file modes in octal,
// lists as compact JSON. A missing number or bool (pruned as a zero value)
// shows as the zero of the other side's type.
func format(key string, v, other any) string {
	switch v := v.(type) {
	case nil:
		switch other.(type) {
		case json.Number:
			return format(key, json.Number("0"), nil)
		case bool:
			return "false"
		}
		return absent
	case string:
		if v == "" {
			return `""`
		}
		return v
	case json.Number:
		if n, err := v.Int64(); err == nil {
			if durationKeys[key] {
				return time.Duration(n).String()
			}
			if key == "Mode" {
				return fmt.Sprintf("%#o", n)
			}
		}
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
