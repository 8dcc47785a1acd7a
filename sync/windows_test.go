package sync

import (
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

func TestWindowState(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// Weekdays 09:00-17:00 allowed; Friday 16:00 to Saturday 02:00 denied.
	office := environments.SyncWindow{Kind: environments.Allow, Schedule: "0 9 * * 1-5", Duration: 8 * time.Hour}
	fridayFreeze := environments.SyncWindow{Kind: environments.Deny, Schedule: "0 16 * * 5", Duration: 10 * time.Hour}
	cases := []struct {
		name    string
		windows []environments.SyncWindow
		now     string
		open    bool
	}{
		{"no windows", nil, "2026-11-27T03:00:00Z", true},
		{"inside allow", []environments.SyncWindow{office}, "2026-11-26T10:00:00Z", true},
		{"at allow start", []environments.SyncWindow{office}, "2026-11-26T09:00:00Z", true},
		{"at allow end", []environments.SyncWindow{office}, "2026-11-26T17:00:00Z", false},
		{"before allow", []environments.SyncWindow{office}, "2026-11-26T08:59:00Z", false},
		{"weekend", []environments.SyncWindow{office}, "2026-11-28T10:00:00Z", false},
		{"deny wins over allow", []environments.SyncWindow{office, fridayFreeze}, "2026-11-27T16:30:00Z", false},
		{"friday morning allowed", []environments.SyncWindow{office, fridayFreeze}, "2026-11-27T10:00:00Z", true},
		{"deny spans midnight", []environments.SyncWindow{fridayFreeze}, "2026-11-28T00:30:00Z", false},
		{"after deny", []environments.SyncWindow{fridayFreeze}, "2026-11-28T02:00:00Z", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open, reason, err := windowState(c.windows, at(c.now))
			if err != nil {
				t.Fatal(err)
			}
			if open != c.open {
				t.Errorf("open = %v (%s), want %v", open, reason, c.open)
			}
			if !open && reason == "" {
				t.Error("a closed window gives no reason")
			}
		})
	}
}
