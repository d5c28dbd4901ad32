package letter

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeTracking(t *testing.T) {
	for in, want := range map[string]string{
		"RA123456785RU":    "RA123456785RU",
		"ra 123456785 ru":  "RA123456785RU",
		"80085022123452":   "80085022123452",
		"800850 22 123452": "80085022123452",
	} {
		if got, err := NormalizeTracking(in); err != nil || got != want {
			t.Errorf("NormalizeTracking(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "RA123456784RU", "80085022123457", "8008502212345", "RA12345678RU", "R1123456785RU", "ЯA123456785RU"} {
		if got, err := NormalizeTracking(in); err == nil {
			t.Errorf("NormalizeTracking(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseTracking(t *testing.T) {
	id1, id2, id3 := newID(), newID(), newID()
	file := "\uFEFFletter;tracking\n" +
		id1 + ";RA123456785RU\n" +
		"\n" +
		"not-an-id;RA123456785RU\n" +
		id2 + ";RA123456784RU\n" +
		id3 + "\n" +
		id1 + ";80085022123452\n" +
		id3 + "; 80085022123452 \n"
	good, bad, err := ParseTracking(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != 2 || good[0] != (Dispatch{Line: 2, LetterID: id1, Tracking: "RA123456785RU"}) ||
		good[1] != (Dispatch{Line: 8, LetterID: id3, Tracking: "80085022123452"}) {
		t.Errorf("good lines %+v", good)
	}
	var lines []int
	for _, b := range bad {
		lines = append(lines, b.Line)
	}
	if !slices.Equal(lines, []int{4, 5, 6, 7}) {
		t.Errorf("bad lines %v (%v), want 4, 5, 6, 7", lines, bad)
	}
	if !strings.Contains(bad[3].Problem, "line 2") {
		t.Errorf("a letter listed twice: %q", bad[3].Problem)
	}
	// Comma-separated, without a header.
	good, bad, err = ParseTracking(strings.NewReader(id1 + ",RA123456785RU\r\n"))
	if err != nil || len(good) != 1 || len(bad) != 0 {
		t.Errorf("comma file: %v %v %v", good, bad, err)
	}
}

// FuzzParseTracking: any file parses without panicking; every good line
// names a letter id and a valid tracking number, and no line is both good
// and bad.
func FuzzParseTracking(f *testing.F) {
	f.Add("letter,tracking\n" + newID() + ",RA123456785RU\n")
	f.Add(newID() + ";80085022123452\n\"unterminated\n")
	f.Add("\uFEFF;;;\n\n,,\n")
	f.Fuzz(func(t *testing.T, file string) {
		good, bad, err := ParseTracking(strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		lines := map[int]bool{}
		for _, g := range good {
			if !validID(g.LetterID) {
				t.Fatalf("good line with id %q", g.LetterID)
			}
			if n, err := NormalizeTracking(g.Tracking); err != nil || n != g.Tracking {
				t.Fatalf("good line with tracking %q", g.Tracking)
			}
			lines[g.Line] = true
		}
		for _, b := range bad {
			if lines[b.Line] {
				t.Fatalf("line %d both good and bad", b.Line)
			}
		}
	})
}

func TestAddress(t *testing.T) {
	a, errs := Address{Index: " 101000 ", Region: "Москва", City: "Москва", Street: "ул.  Мясницкая", House: "26А", Building: "2", Flat: "15"}.Normalize()
	if len(errs) != 0 || a.Street != "ул. Мясницкая" {
		t.Fatalf("a good address: %+v %v", a, errs)
	}
	_, errs = Address{Index: "01000", Region: "Нарния", City: "", Street: "<script>", House: "дом", Flat: strings.Repeat("1", 20)}.Normalize()
	want := []FieldError{{FieldIndex, "format"}, {FieldRegion, "unknown"}, {FieldCity, "required"}, {FieldStreet, "format"}, {FieldHouse, "format"}, {FieldFlat, "too_long"}}
	if !slices.Equal(errs, want) {
		t.Errorf("errors %v, want %v", errs, want)
	}
	if len(Regions) != 89 {
		t.Errorf("%d regions, want the 89 subjects", len(Regions))
	}
}
