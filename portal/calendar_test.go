package portal

import (
	"testing"
	"time"

	"github.com/gosid/gosid/internal/webui"
)

func TestCalendar(t *testing.T) {
	l := webui.Localizer{Lang: "ru"}
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // a Tuesday
	c := newCalendar(l, dec, map[string]int{"2026-12-07": 12}, "2026-12-07", dec, dec.AddDate(0, 1, 0))
	if c.Title != "Декабрь 2026" || c.Prev != "" || c.Next != "2027-01" {
		t.Fatalf("title %q prev %q next %q", c.Title, c.Prev, c.Next)
	}
	if len(c.Weeks) != 5 {
		t.Fatalf("%d weeks", len(c.Weeks))
	}
	first := c.Weeks[0]
	if first[0].Date != "2026-11-30" || first[0].InMonth || first[1].Date != "2026-12-01" || !first[1].InMonth {
		t.Fatalf("first week %+v", first)
	}
	last := c.Weeks[4]
	if last[3].Date != "2026-12-31" || last[4].Date != "2027-01-01" || last[4].InMonth {
		t.Fatalf("last week %+v", last)
	}
	got := c.Weeks[1][0]
	if got.Date != "2026-12-07" || got.Free != 12 || !got.Selected || c.Weeks[1][1].Free != 0 {
		t.Fatalf("7 December %+v", got)
	}
	// A month that starts on a Monday has no leading days.
	feb := newCalendar(webui.Localizer{Lang: "en"}, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), nil, "", dec, dec)
	if feb.Weeks[0][0].Date != "2027-02-01" || feb.Title != "February 2027" || feb.Prev != "2027-01" || feb.Next != "" || len(feb.Weeks) != 4 {
		t.Fatalf("February: %+v", feb)
	}
}
