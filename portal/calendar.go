package portal

import (
	"time"

	"github.com/gosid/gosid/internal/webui"
)

// calendar is a month as the booking page draws it: weeks from Monday,
// each day with its free slots; a day without any is greyed and not a
// link (the product documents' calendar).
type calendar struct {
	Title      string // «Декабрь 2026»
	Prev, Next string // YYYY-MM of the neighbouring months, "" when out of reach
	Weekdays   []string
	Weeks      [][]calendarDay
}

type calendarDay struct {
	Day      int
	Date     string // YYYY-MM-DD
	Free     int
	InMonth  bool
	Selected bool
}

var monthNames = [2][12]string{
	{"Январь", "Февраль", "Март", "Апрель", "Май", "Июнь", "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь"},
	{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

var weekdayNames = [2][]string{
	{"Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"},
	{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
}

func langIndex(l webui.Localizer) int {
	if l.Lang == "en" {
		return 1
	}
	return 0
}

// newCalendar lays out month (its first day, any zone) with free slots per
// date (YYYY-MM-DD); first and last bound the months one may turn to.
func newCalendar(l webui.Localizer, month time.Time, free map[string]int, selected string, first, last time.Time) calendar {
	i := langIndex(l)
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	c := calendar{Title: monthNames[i][start.Month()-1] + " " + start.Format("2006"), Weekdays: weekdayNames[i]}
	if prev := start.AddDate(0, -1, 0); !prev.Before(time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC)) {
		c.Prev = prev.Format("2006-01")
	}
	if next := start.AddDate(0, 1, 0); !next.After(last) {
		c.Next = next.Format("2006-01")
	}
	// Back to the Monday on or before the first.
	d := start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
	for {
		var week []calendarDay
		for range 7 {
			date := d.Format("2006-01-02")
			week = append(week, calendarDay{Day: d.Day(), Date: date, Free: free[date], InMonth: d.Month() == start.Month(), Selected: date == selected})
			d = d.AddDate(0, 0, 1)
		}
		c.Weeks = append(c.Weeks, week)
		if d.Month() != start.Month() {
			return c
		}
	}
}
