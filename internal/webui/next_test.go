package webui

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct {
		in   string
		safe bool
	}{
		{"/account", true},
		{"/authorize/continue?id=abc_DEF-123", true},
		{"/account/security?need=mfa#top", true},
		{"/login?next=%2Faccount", true},
		{"", false},
		{"account", false},
		{"//evil.example/", false},
		{"/\\evil.example/", false},
		{"/\t/evil.example/", false}, // browsers drop the tab: //evil.example/
		{"/\n/evil.example/", false},
		{"/\r\n/evil.example/", false},
		{"\t//evil.example/", false},
		{" /account", false},
		{"/ /evil.example", false},
		{"/\x00/evil.example", false},
		{"/\x7f/evil.example", false},
		{"https://evil.example/", false},
		{"javascript:alert(1)", false},
		{"/%0A/evil.example", true}, // an escaped line break stays a path on this site
		{"/a\\b", false},
		{"/путь", false},
		{"/" + strings.Repeat("a", maxNext), false},
	} {
		got := SafeNext(tc.in)
		if (got != "") != tc.safe {
			t.Errorf("SafeNext(%q) = %q, want safe=%v", tc.in, got, tc.safe)
		}
	}
}

// FuzzSafeNext checks that whatever SafeNext accepts stays on this site
// however a browser reads it: tabs and line breaks dropped, backslashes as
// slashes, resolved against the site's own URL.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/account", "/\t/evil.example/", "//x", "/\\x", "/a?b=c#d", "/%2F%2Fx", "/..//x", "/./x", "/:x", "/@x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://id.example.ru/login")
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeNext(in)
		if out == "" {
			return
		}
		if out != in {
			t.Fatalf("SafeNext(%q) = %q: a kept target is kept as is", in, out)
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimLeft(out, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
		u, err := url.Parse(browser)
		if err != nil {
			t.Fatalf("SafeNext kept %q, which does not parse: %v", in, err)
		}
		to := base.ResolveReference(u)
		if to.Scheme != "https" || to.Host != "id.example.ru" {
			t.Fatalf("SafeNext kept %q, which a browser takes to %s", in, to)
		}
	})
}
