package validate

import (
	"testing"
	"time"
)

func d(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }

func TestDate(t *testing.T) {
	valid := []struct {
		in   string
		form bool
		want time.Time
	}{
		{"01.02.2000", true, d(2000, 2, 1)},
		{"1.2.2000", true, d(2000, 2, 1)},
		{" 29.02.2000 ", true, d(2000, 2, 29)}, // divisible by 400
		{"29.02.2024", true, d(2024, 2, 29)},
		{"31.12.1999", true, d(1999, 12, 31)},
		{"2000-02-29", true, d(2000, 2, 29)}, // <input type="date">
		{"2000-02-29", false, d(2000, 2, 29)},
		{"1990-01-31", false, d(1990, 1, 31)},
	}
	for _, tt := range valid {
		got, err := Date(tt.in, tt.form)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Date(%q, %v) = %v, %v", tt.in, tt.form, got, err)
		}
	}
	invalid := []struct {
		in   string
		form bool
		code string
	}{
		{"", true, "required"},
		{"", false, "required"},
		{"29.02.1900", true, "format"}, // divisible by 100, not by 400
		{"29.02.2023", true, "format"},
		{"31.04.2020", true, "format"},
		{"31.02.2020", true, "format"},
		{"00.01.2020", true, "format"},
		{"01.13.2020", true, "format"},
		{"01.00.2020", true, "format"},
		{"01.01.0000", true, "format"},
		{"01.01.20", true, "format"},
		{"001.01.2020", true, "format"},
		{"01/01/2020", true, "format"},
		{"01.01.2020", false, "format"}, // APIs take ISO only
		{"2020-1-01", false, "format"},
		{"2020-02-30", false, "format"},
		{"20200101", false, "format"},
		{"+1.01.2020", true, "format"},
		{"2020-01-01T00:00:00Z", false, "format"},
	}
	for _, tt := range invalid {
		_, err := Date(tt.in, tt.form)
		wantFieldErr(t, tt.in, err, "date", tt.code)
	}
}

func TestBirthDate(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	valid := []struct {
		in  string
		now time.Time
	}{
		{"15.03.2012", now}, // 14 today
		{"01.01.1990", now},
		{"16.03.1905", now}, // 120, 121 tomorrow
		{"29.02.2012", time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)}, // leap-day birthday, art. 192
		// Late evening in Moscow is already the next day there.
		{"16.03.2012", time.Date(2026, 3, 15, 22, 0, 0, 0, time.UTC).In(time.FixedZone("MSK", 3*3600))},
	}
	for _, tt := range valid {
		if _, err := BirthDate(tt.in, true, tt.now); err != nil {
			t.Errorf("BirthDate(%q): %v", tt.in, err)
		}
	}
	invalid := []struct {
		in   string
		form bool
		now  time.Time
		code string
	}{
		{"", true, now, "required"},
		{"16.03.2026", true, now, "future"},
		{"2030-01-01", false, now, "future"},
		{"16.03.2012", true, now, "too_young"},
		{"29.02.2012", true, time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC), "too_young"},
		{"15.03.1905", true, now, "too_old"},
		{"01.01.1800", true, now, "too_old"},
		{"31.02.2000", true, now, "format"},
		{"31.02.2000", false, now, "format"},
	}
	for _, tt := range invalid {
		_, err := BirthDate(tt.in, tt.form, tt.now)
		wantFieldErr(t, tt.in, err, "birthdate", tt.code)
	}
}
