package appointments_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gosid/gosid/portal/appointments"
)

func TestParseHours(t *testing.T) {
	for in, want := range map[string]string{
		"08:00-13:00,14:00-20:00":       "08:00-13:00,14:00-20:00",
		" 9:00-18:00 ":                  "09:00-18:00",
		"":                              "",
		"-":                             "",
		"00:00-24:00":                   "00:00-24:00",
		"10:00-09:00":                   "!",
		"08:00-13:00,13:00-14:00":       "!", // no gap: write one interval
		"08:00-13:00,12:00-14:00":       "!",
		"08:60-09:00":                   "!",
		"24:00-24:30":                   "!",
		"8-13":                          "!",
		"08:00-13:00;14:00-20:00":       "!",
		"14:00-20:00,08:00-13:00":       "!",
		"08:00-13:00,":                  "!",
		"０８:００-１３:００":                   "!", // full-width digits
		"08:00-13:00,14:00-20:00,extra": "!",
	} {
		h, err := appointments.ParseHours(in)
		if want == "!" {
			if err == nil {
				t.Errorf("ParseHours(%q) = %v, want an error", in, h)
			}
			continue
		}
		if err != nil || h.String() != want {
			t.Errorf("ParseHours(%q) = %q, %v; want %q", in, h.String(), err, want)
		}
	}
}

func TestParseDateAndWeek(t *testing.T) {
	for in, want := range map[string]string{"2027-01-07": "2027-01-07", "07.01.2027": "2027-01-07", "2027-02-29": "", "31.04.2027": "", "2027/01/07": ""} {
		d, err := appointments.ParseDate(in)
		if (want == "") != (err != nil) || (err == nil && d.String() != want) {
			t.Errorf("ParseDate(%q) = %v, %v", in, d, err)
		}
	}
	w, err := appointments.ParseWeek(map[string]string{"mon": "08:00-20:00", "sat": "10:00-17:00"})
	if err != nil || w[time.Monday].String() != "08:00-20:00" || w[time.Saturday].String() != "10:00-17:00" || w[time.Sunday] != nil {
		t.Fatalf("ParseWeek: %v, %v", w, err)
	}
	_, err = appointments.ParseWeek(map[string]string{"tue": "25:00-26:00", "monday": "08:00-20:00"})
	var ve *appointments.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "week" || ve.Fields[1].Field != "week.tue" {
		t.Fatalf("ParseWeek of bad days: %v", err)
	}
	if _, err := appointments.LoadTZ("Asia/Kamchatka"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "Local", "Europe/Atlantis", "../../etc/passwd"} {
		if _, err := appointments.LoadTZ(bad); err == nil {
			t.Errorf("LoadTZ(%q) accepted", bad)
		}
	}
}
