package webui

import (
	"math"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// luminance is the relative luminance of a #rrggbb colour (WCAG 2.2).
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var rgb [3]float64
	for i := range rgb {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestFocusRingContrast: the focus ring shows at 3:1 or more (WCAG 2.2
// non-text contrast) on everything it can sit on: the outer ring on the
// white cards and the grey page, the band inside it on the blue buttons
// and the white fields. The ring applies to every focusable element, the
// consent checkbox included, and field errors are styled wherever they
// stand.
func TestFocusRingContrast(t *testing.T) {
	b, err := os.ReadFile("static/gosid.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	vars := map[string]string{"white": "#ffffff"}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(css, -1) {
		vars[m[1]] = strings.ToLower(m[2])
	}
	rule := regexp.MustCompile(`(?m)^:focus-visible\s*\{([^}]*)\}`).FindStringSubmatch(css)
	if rule == nil {
		t.Fatal("no rule for :focus-visible on every element")
	}
	if !strings.Contains(rule[1], "outline: 3px solid var(--focus)") || !strings.Contains(rule[1], "box-shadow: 0 0 0 2px var(--focus-fill)") {
		t.Fatalf("focus rule changed shape: %s", rule[1])
	}
	for _, c := range []struct{ ring, on string }{
		{"focus", "white"}, {"focus", "bg"}, {"focus-fill", "accent"}, {"focus-fill", "accent-dark"}, {"focus-fill", "err"},
	} {
		if r := contrast(t, vars[c.ring], vars[c.on]); r < 3 {
			t.Errorf("--%s (%s) on %s (%s): contrast %.2f:1, want at least 3:1", c.ring, vars[c.ring], c.on, vars[c.on], r)
		}
	}
	if !regexp.MustCompile(`(?m)^\.ferr\s*\{[^}]*color: var\(--err\)`).MatchString(css) {
		t.Error(".ferr is styled only inside some container: an error outside it shows as plain black text")
	}
}

// TestOtherLangKeepsQuery: the language link is the same address in the
// other language, its query kept (a sign-in's next, a filter).
func TestOtherLangKeepsQuery(t *testing.T) {
	r, err := NewRenderer(files, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"/login?next=%2Fauthorize%3Fclient_id%3Dx": "/login?lang=en&next=%2Fauthorize%3Fclient_id%3Dx",
		"/login?lang=ru&next=%2Faccount":           "/login?lang=en&next=%2Faccount",
		"/account/history?lang=en&kind=failed":     "/account/history?kind=failed&lang=ru",
		"/register":                                "/register?lang=en",
		"/login?next=%2F%2Fevil.example%2F":        "/login?lang=en",
	} {
		if got := r.NewPage(httptest.NewRequest("GET", target, nil), "x").OtherLangURL; got != want {
			t.Errorf("%s: language link %q, want %q", target, got, want)
		}
	}
}
