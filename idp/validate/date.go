package validate

import (
	"strings"
	"time"
)

// Age limits for a citizen registering in Gosid (as ESIA: an account can be
// registered from the age of 14).
const (
	MinAge = 14
	MaxAge = 120
)

// Date parses a calendar date. Forms (form == true) take ДД.ММ.ГГГГ, also
// with one-digit day and month (1.2.2000), and, for <input type="date">,
// ISO YYYY-MM-DD; APIs (form == false) take ISO YYYY-MM-DD only. The date
// must exist (31.04 and 29.02 of a common year are rejected). The result is
// midnight UTC of that day.
func Date(s string, form bool) (time.Time, error) {
	d, ok := parseDate(s, form)
	switch {
	case strings.TrimSpace(s) == "":
		return time.Time{}, fail(msgDateRequired)
	case !ok && form:
		return time.Time{}, fail(msgDateFormatForm)
	case !ok:
		return time.Time{}, fail(msgDateFormatAPI)
	}
	return d, nil
}

// BirthDate parses a date of birth as Date does and checks that it is not
// after today (read from now in its location) and that the citizen is
// between MinAge and MaxAge years old. Someone born on 29 February comes of
// age on 28 February of a common year (Civil Code art. 192).
func BirthDate(s string, form bool, now time.Time) (time.Time, error) {
	d, ok := parseDate(s, form)
	t := day(now)
	switch {
	case strings.TrimSpace(s) == "":
		return time.Time{}, fail(msgBirthRequired)
	case !ok && form:
		return time.Time{}, fail(msgBirthFormatForm)
	case !ok:
		return time.Time{}, fail(msgBirthFormatAPI)
	case d.After(t):
		return time.Time{}, fail(msgBirthFuture)
	case addYears(d, MinAge).After(t):
		return time.Time{}, fail(msgBirthYoung)
	case !addYears(d, MaxAge+1).After(t):
		return time.Time{}, fail(msgBirthOld)
	}
	return d, nil
}

// parseDate parses s per Date; ok is false for blank or invalid input.
func parseDate(s string, form bool) (time.Time, bool) {
	t := strings.TrimSpace(s)
	if len(t) == 10 && t[4] == '-' && t[7] == '-' {
		return mkDate(t[0:4], t[5:7], t[8:10])
	}
	if !form {
		return time.Time{}, false
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 ||
		len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, false
	}
	return mkDate(parts[2], parts[1], parts[0])
}

// mkDate builds a date from ASCII digit strings and rejects days that do not
// exist and the year 0.
func mkDate(y, m, d string) (time.Time, bool) {
	if !allDigits(y) || !allDigits(m) || !allDigits(d) {
		return time.Time{}, false
	}
	yy, mm, dd := atoi(y), atoi(m), atoi(d)
	if yy < 1 || mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	t := time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if t.Day() != dd {
		return time.Time{}, false
	}
	return t, true
}

// day returns midnight UTC of t's calendar day in t's location.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// addYears adds n years to a date at midnight UTC; 29 February becomes
// 28 February in a common year.
func addYears(d time.Time, n int) time.Time {
	y, m, dd := d.Date()
	if m == time.February && dd == 29 && !isLeap(y+n) {
		dd = 28
	}
	return time.Date(y+n, m, dd, 0, 0, 0, 0, time.UTC)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }
