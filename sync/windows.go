package sync

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/flotilla-gitops/flotilla/environments"
)

// cronParser reads schedules and window starts: five fields, or a
// descriptor such as @hourly or @every 30s.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// windowState says whether automatic syncs may run at now, as Argo CD
// decides: an active deny window blocks them; when there are allow windows,
// one must be active. The reason is for status.
func windowState(windows []environments.SyncWindow, now time.Time) (open bool, reason string, err error) {
	var allows, activeAllow int
	for _, w := range windows {
		active, err := windowActive(w, now)
		if err != nil {
			return false, "", err
		}
		switch w.Kind {
		case environments.Deny:
			if active {
				return false, fmt.Sprintf("inside deny window %q (%s)", w.Schedule, w.Duration), nil
			}
		case environments.Allow:
			allows++
			if active {
				activeAllow++
			}
		}
	}
	if allows > 0 && activeAllow == 0 {
		return false, "outside every allow window", nil
	}
	return true, "", nil
}

// windowActive reports whether w opened at most Duration before now: its
// last start is found as the first activation after now-Duration.
func windowActive(w environments.SyncWindow, now time.Time) (bool, error) {
	sched, err := cronParser.Parse(w.Schedule)
	if err != nil {
		return false, fmt.Errorf("sync window %q: %w", w.Schedule, err)
	}
	start := sched.Next(now.Add(-w.Duration - time.Second))
	return !start.After(now) && now.Before(start.Add(w.Duration)), nil
}
