package portal

import (
	"io/fs"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/webui"
)

// TestAgeText: the console's «Ждёт» column in whole minutes, hours and
// days, in the reader's language.
func TestAgeText(t *testing.T) {
	pages, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	r, err := webui.NewRenderer(pages, supportTexts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ru, en := r.LocalizerFor("ru"), r.LocalizerFor("en")
	for _, c := range []struct {
		d      time.Duration
		ru, en string
	}{
		{-time.Second, "0 мин", "0 min"},
		{59 * time.Minute, "59 мин", "59 min"},
		{3*time.Hour + 59*time.Minute, "3 ч", "3 h"},
		{47 * time.Hour, "1 дн.", "1 d"},
		{50 * time.Hour, "2 дн.", "2 d"},
	} {
		if got := ageText(ru, c.d); got != c.ru {
			t.Errorf("%s: %q, want %q", c.d, got, c.ru)
		}
		if got := ageText(en, c.d); got != c.en {
			t.Errorf("%s (en): %q, want %q", c.d, got, c.en)
		}
	}
}
