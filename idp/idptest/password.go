package idptest

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var ruleRe = regexp.MustCompile(`<li data-rule="([a-z_]+)"( class="unmet")?>([^<]*)(<span class="rule-note"> — ([^<]*)</span>)?</li>`)

// ExpectRulesMarked fails the test unless the page's list of password
// rules marks exactly the rules unmet — by class and by a note in words
// (note) — and the field "password" has one message, not the rules
// repeated (no «;»).
func (a Answer) ExpectRulesMarked(t testing.TB, note string, unmet ...string) {
	t.Helper()
	rules := ruleRe.FindAllStringSubmatch(a.Body, -1)
	if len(rules) == 0 {
		t.Fatalf("no list of password rules on the page:\n%s", a.Body)
	}
	var got []string
	for _, r := range rules {
		if (r[2] != "") != (r[5] != "") {
			t.Errorf("rule %s: class %q but note %q (want both or neither)", r[1], r[2], r[5])
		}
		if r[2] != "" {
			got = append(got, r[1])
			if r[5] != note {
				t.Errorf("rule %s is marked with %q, want %q", r[1], r[5], note)
			}
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(unmet))
	if !slices.Equal(got, want) {
		t.Errorf("rules marked unmet: %v, want %v", got, want)
	}
	if msg := a.FieldError("password"); msg == "" || strings.Contains(msg, ";") {
		t.Errorf("the password field's message %q: want one message", msg)
	}
}
