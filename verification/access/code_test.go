package access

import (
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newCode()
		if len(c) != CodeLen || strings.ContainsAny(c, "0O1IL") || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		f := Format(c)
		if len(f) != 14 || f[4] != '-' || f[9] != '-' {
			t.Fatalf("format %q", f)
		}
		for _, typed := range []string{c, f, strings.ToLower(f), strings.ReplaceAll(f, "-", " "), " " + f + " "} {
			if got, err := ParseCode(typed); err != nil || got != c {
				t.Fatalf("parse %q: %q %v", typed, got, err)
			}
		}
	}
	for _, bad := range []string{"", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0", "ABCD-EFGH-JKMO", "ABCD-EFGH-JKM1",
		"ABCD-EFGH-JKMI", "ABCD-EFGH-JKML", "АВСD-EFGH-JKMN", "ABCD_EFGH_JKMN", strings.Repeat("A", 100)} {
		if _, err := ParseCode(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN", "abcd efgh jkmn", "ABCD-EFGH-JKM0", "", "ААА", "A\u00a0B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		if len(c) != CodeLen {
			t.Fatalf("%q → %q: wrong length", s, c)
		}
		for _, r := range c {
			if !strings.ContainsRune(Alphabet, r) {
				t.Fatalf("%q → %q: %q outside the alphabet", s, c, r)
			}
		}
		if again, err := ParseCode(Format(c)); err != nil || again != c {
			t.Fatalf("%q → %q does not survive Format: %q %v", s, c, again, err)
		}
	})
}
