package receipts

import (
	"fmt"
	"time"
)

// ZoneLabel names the time zone of t the way Russian timetables do: «МСК»
// for Moscow time (UTC+3), «МСК+4» for Krasnoyarsk, «МСК-1» for
// Kaliningrad — every Russian zone is a whole number of hours from UTC+2 to
// UTC+12. Any other offset (a caller that forgot to convert, a place
// abroad) is shown as «UTC+05:30», never silently as Moscow time.
func ZoneLabel(t time.Time) string {
	_, off := t.Zone()
	if off%3600 == 0 {
		h := off/3600 - 3
		switch {
		case h == 0:
			return "МСК"
		case h >= -1 && h <= 9:
			return fmt.Sprintf("МСК%+d", h)
		}
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off%3600/60)
}
