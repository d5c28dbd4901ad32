package letter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/verification/letter/lettertest"
)

func TestPDF(t *testing.T) {
	addr := Address{Index: "101000", Region: "Москва", City: "Москва", Street: "ул. Мясницкая", House: "26", Building: "2", Flat: "15"}
	ls := []ToExport{
		{Letter: Letter{ID: newID(), OrderedAt: time.Now()}, Recipient: Recipient{Family: "Иванов", Given: "Иван", Middle: "Иванович", Address: addr}},
		{Letter: Letter{ID: newID(), OrderedAt: time.Now()}, Recipient: Recipient{Family: "Щукина", Given: "Эльвира", Address: addr}},
	}
	codes := map[string]string{ls[0].ID: newCode(), ls[1].ID: newCode()}
	var buf bytes.Buffer
	if err := writePDF(&buf, ls, codes, "https://id.gosid.example/", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The font is embedded (a TrueType subset), not merely named.
	if !bytes.Contains(buf.Bytes(), []byte("/FontFile2")) {
		t.Fatal("no embedded TrueType font")
	}
	path := filepath.Join(t.TempDir(), "letters.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	text := lettertest.PDFText(t, path)
	pages := strings.Split(text, "\f")
	if len(pages) < 2 || strings.TrimSpace(strings.Join(pages[2:], "")) != "" {
		t.Fatalf("want 2 pages, got %d:\n%s", len(pages), text)
	}
	for i, l := range ls {
		if m := lettertest.CodeRe.FindStringSubmatch(pages[i]); m == nil || m[1] != codes[l.ID] {
			t.Errorf("page %d: code found %v, want %s", i+1, m, codes[l.ID])
		}
		for _, want := range []string{codes[l.ID], l.Recipient.Name(), "ул. Мясницкая, д. 26, корп. 2, кв. 15", "101000",
			"https://id.gosid.example/account/confirm/letter", "30 дней с даты отправки", l.ID} {
			if !strings.Contains(pages[i], want) {
				t.Errorf("page %d lacks %q:\n%s", i+1, want, pages[i])
			}
		}
	}
}

func TestCode(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := newCode()
		if len(c) != CodeLength || strings.ContainsAny(c, "0O1IL") || strings.Trim(c, CodeAlphabet) != "" {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1999 {
		t.Fatalf("%d distinct codes of 2000", len(seen))
	}
	if NormalizeCode(" abcd-efgh ") != "ABCDEFGH" {
		t.Fatal(NormalizeCode(" abcd-efgh "))
	}
}
