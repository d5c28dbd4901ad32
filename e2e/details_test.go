package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// detailsCitizen is the citizen of TestBrowserDetails.
var detailsCitizen = registrant{Phone: "+7 916 700-33-44", E164: "+79167003344", Family: "Данилова", Given: "Вера", Middle: "Игоревна",
	Password: browserPassword}

// TestBrowserDetails: right after registration the details form shows the
// name the citizen typed; a SNILS added there is shown masked afterwards;
// saving the form untouched changes nothing (the patronymic and the masked
// SNILS stay) and says so; changing one field names it in the notice. With
// GOSID_E2E_SCREENSHOTS=1 the filled form is saved at 1280 and 360 px to
// docs/screenshots/details-*.png.
func TestBrowserDetails(t *testing.T) {
	requireChromium(t)
	start := time.Now()
	s, public := startLocalhost(t, "--data-dir", t.TempDir())
	b := newBrowser(t, public)
	registerByPhone(b, s, detailsCitizen, func(string) {})

	value := func(name string) string {
		return evalIn[string](b, "read "+name, fmt.Sprintf(`document.querySelector('[name=%q]').value`, name))
	}
	expectValues := func(when string, want map[string]string) {
		b.t.Helper()
		for k, v := range want {
			if got := value(k); got != v {
				b.t.Errorf("%s: field %s shows %q, want %q", when, k, got, v)
			}
		}
	}
	expectValues("right after registration", map[string]string{"family_name": detailsCitizen.Family, "given_name": detailsCitizen.Given,
		"middle_name": detailsCitizen.Middle})

	b.fill("snils", "112-233-445 95")
	b.fill("birthdate", "07.06.1985")
	b.submit("/account/details", "/account")
	b.expectText("Изменено: дата рождения, СНИЛС.")

	b.open("/account/details")
	expectValues("with a SNILS", map[string]string{"middle_name": detailsCitizen.Middle, "snils": "112-***-*** 95", "birthdate": "07.06.1985"})
	b.expectText("Номера документов показаны частично")
	checkPage(b, "details")
	if os.Getenv("GOSID_E2E_SCREENSHOTS") == "1" {
		shots := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		b.screenshot(1280, filepath.Join(shots, "details-1280.png"))
		b.screenshot(360, filepath.Join(shots, "details-360.png"))
	}

	// Saved untouched: nothing changes.
	b.submit("/account/details", "/account")
	b.expectText("Ничего не изменилось", detailsCitizen.Family+" "+detailsCitizen.Given+" "+detailsCitizen.Middle, "112-***-*** 95")

	// One field changed: the notice names it; the rest stays.
	b.open("/account/details")
	b.fill("inn", "500100732259")
	b.submit("/account/details", "/account")
	b.expectText("Изменено: ИНН.", detailsCitizen.Family+" "+detailsCitizen.Given+" "+detailsCitizen.Middle, "112-***-*** 95", "07.06.1985", "********2259")
	b.open("/account/details")
	expectValues("after changing the INN", map[string]string{"middle_name": detailsCitizen.Middle, "snils": "112-***-*** 95", "inn": "********2259"})

	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("flow took %v", time.Since(start).Round(time.Millisecond))
}
