package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// Two of the registry simulator's documented test identities
// (docs/verification.md).
var (
	checkPasses = registrant{Phone: "+7 916 700-44-01", E164: "+79167004401", Family: "Иванов", Given: "Иван", Middle: "Иванович",
		Password: browserPassword}
	checkSFRBirthdate = registrant{Phone: "+7 916 700-44-02", E164: "+79167004402", Family: "Петров", Given: "Пётр", Middle: "Петрович",
		Password: browserPassword}
)

// fillDocuments types a simulator identity's documents into the details
// form and saves it: complete data start a registry check.
func fillDocuments(b *browser, birth, snils, series, number, issued, issuer, division string) {
	b.t.Helper()
	b.open("/account/details")
	for name, v := range map[string]string{"birthdate": birth, "snils": snils, "passport_series": series, "passport_number": number,
		"passport_issue_date": issued, "passport_issuer": issuer, "division_code": division} {
		b.fill(name, v)
	}
	b.submit("/account/details", "/account/confirm/check")
}

// waitText waits, without touching the page, until it shows want (the
// page's script reloads it when the check ends).
func waitText(b *browser, want string, within time.Duration) time.Duration {
	b.t.Helper()
	start := time.Now()
	// The page may be mid-reload: no body yet reads as no text.
	read := func() string {
		return evalIn[string](b, "read page text", `((document.querySelector('main') || document.body || {}).innerText) || ''`)
	}
	for !strings.Contains(read(), want) {
		if time.Since(start) > within {
			b.fatalf("page %s did not show %q within %v; it shows:\n%s", b.path(), want, within, b.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// TestBrowserRegistryCheck: on the embedded default (the simulator, 1 s
// per registry), a citizen who registers and saves the SNILS and passport
// of an identity that passes sees the pending page, which turns by itself
// into «Данные подтверждены» (the poll script reloads it), and the account
// page says «Стандартная»; an identity whose birth date the pension fund
// holds otherwise gets the message naming that field, and stays
// simplified. With GOSID_E2E_SCREENSHOTS=1 the pages are saved at 1280 and
// 360 px to docs/screenshots/check-*.png.
func TestBrowserRegistryCheck(t *testing.T) {
	requireChromium(t)
	s, public := startLocalhost(t, "--data-dir", t.TempDir())
	shots := os.Getenv("GOSID_E2E_SCREENSHOTS") == "1"
	shoot := func(b *browser, name string) {
		if !shots {
			return
		}
		dir := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b.screenshot(1280, filepath.Join(dir, name+"-1280.png"))
		b.screenshot(360, filepath.Join(dir, name+"-360.png"))
	}

	b := newBrowser(t, public)
	registerByPhone(b, s, checkPasses, func(string) {})
	fillDocuments(b, "15.03.1985", "112-233-445 95", "4505", "123456", "02.04.2005", "ОВД района Хамовники г. Москвы", "772-093")
	b.expectText("Данные проверяются, обычно это занимает до 5 минут.")
	checkPage(b, "check pending")
	took := waitText(b, "Данные подтверждены в государственных реестрах.", 20*time.Second)
	t.Logf("confirmed %v after the pending page showed (three registries at 1 s each)", took.Round(100*time.Millisecond))
	b.expectText("СНИЛС — Социальный фонд России: подтверждено", "Паспорт — МВД России: подтверждено", "Стандартная")
	shoot(b, "check-confirmed")
	b.open("/account")
	b.expectText("Стандартная")
	b.open("/account/confirm")
	b.expectText("Данные подтверждены.")
	shoot(b, "confirm")
	b.open("/account/confirm/check?lang=en")
	b.expectText("Your data are confirmed by the state registers.")
	shoot(b, "check-confirmed-en")
	b.open("/account/confirm?lang=ru")
	// At standard, the further ways: in person and by registered letter.
	b.expectText("Лично в центре обслуживания", "Код подтверждения письмом")
	shoot(b, "confirm-ways")
	b.click(`a[href="/account/confirm/letter"]`, "/account/confirm/letter", 200)
	shoot(b, "letter-order")
	b.fill("index", "1010")
	b.submitStatus("/account/confirm/letter", "/account/confirm/letter", 422)
	if n := evalIn[int](b, "invalid fields", `document.querySelectorAll('[aria-invalid="true"]').length`); n < 4 {
		t.Errorf("an address with a short index and nothing else: %d fields marked invalid, want index, region, city, street, house", n)
	}
	b.fill("index", "101000")
	evalIn[bool](b, "choose a region", `(() => { const s = document.querySelector('[name=region]'); s.value = 'Москва'; return s.value === 'Москва' })()`)
	b.fill("city", "Москва")
	b.fill("street", "ул. Мясницкая")
	b.fill("house", "26")
	b.fill("flat", "15")
	b.submit("/account/confirm/letter", "/account/confirm/letter")
	b.expectText("Письмо заказано")
	shoot(b, "letter-ordered")
	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}

	m := newBrowser(t, public)
	registerByPhone(m, s, checkSFRBirthdate, func(string) {})
	fillDocuments(m, "01.02.1990", "112-233-446 96", "4010", "234567", "10.02.2010", "ТП № 12 отдела УФМС России по г. Санкт-Петербургу", "780-012")
	waitText(m, "Проверка не пройдена.", 20*time.Second)
	m.expectText("Данные в Социальном фонде не совпадают с указанными: дата рождения. Проверьте их и исправьте.", "Исправить данные")
	shoot(m, "check-rejected")
	m.open("/account/confirm/check?lang=en")
	m.expectText("The check did not pass.", "The Social Fund holds other data: date of birth. Check and correct them.")
	shoot(m, "check-rejected-en")
	m.open("/account/confirm/check?lang=ru")
	m.open("/account")
	m.expectText("Упрощённая", "Проверка данных не пройдена")
	for _, p := range m.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
}

// TestRegistryCheckAcrossRestart: a check under way when `gosid serve`
// is stopped (SIGTERM after the first registry's answer, a one-second
// drain: the check's job is cut short) is not lost: the next server on
// the same database finishes it, asking each registry once more at most
// and recording its evidence once — on the embedded default and on
// PostgreSQL.
func TestRegistryCheckAcrossRestart(t *testing.T) {
	requireChromium(t)
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			db := []string{"--data-dir", t.TempDir()}
			if dialect == "postgres" {
				db = append(db, "--database-url", sqldbtest.EmptyPostgresURL(t))
			}
			args := append([]string{"--registry-simulator-latency", "2s", "--shutdown-timeout", "1s"}, db...)
			s, public := startLocalhost(t, args...)
			b := newBrowser(t, public)
			registerByPhone(b, s, checkPasses, func(string) {})
			fillDocuments(b, "15.03.1985", "112-233-445 95", "4505", "123456", "02.04.2005", "ОВД района Хамовники г. Москвы", "772-093")
			b.expectText("Данные проверяются, обычно это занимает до 5 минут.")
			// Stop once СФР has answered: МВД's answer is 2 s away, longer
			// than the drain.
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				_, metrics := s.adminGet(t, "/metrics")
				if strings.Contains(string(metrics), `gosid_verification_registry_answers_total{outcome="confirmed",source="ru_sfr"} 1`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("СФР did not answer within 20 s:\n%s", metrics)
				}
			}
			s.stop(t)
			show := func() string {
				code, out, errOut := gosid(t, append([]string{"verification", "show", checkPasses.E164}, db...)...)
				if code != 0 {
					t.Fatalf("gosid verification show: %d\n%s%s", code, out, errOut)
				}
				return out
			}
			if out := show(); strings.Contains(out, " confirmed") || !strings.Contains(out, "evidence (0)") {
				t.Fatalf("the check ended before the server stopped (make the simulator slower):\n%s", out)
			}

			s2, _ := startLocalhost(t, args...)
			start := time.Now()
			out := show()
			for !strings.Contains(out, "submitted confirmed") {
				if time.Since(start) > 60*time.Second {
					t.Fatalf("the check did not end within 60 s of the restart:\n%s", out)
				}
				time.Sleep(500 * time.Millisecond)
				out = show()
			}
			t.Logf("confirmed %v after the restart", time.Since(start).Round(100*time.Millisecond))
			if !strings.Contains(out, "evidence (3)") || !strings.Contains(out, "checks (1)") {
				t.Fatalf("want one check and three evidence records (СФР, МВД, ФНС), once:\n%s", out)
			}
			// СФР's answer was kept across the restart: only МВД and ФНС
			// were asked again.
			_, metrics := s2.adminGet(t, "/metrics")
			if m := string(metrics); strings.Contains(m, `source="ru_sfr"} 1`) || !strings.Contains(m, `gosid_verification_registry_answers_total{outcome="confirmed",source="ru_mvd"} 1`) {
				t.Fatalf("after the restart: want МВД asked and СФР not:\n%s", grepLines(m, "gosid_verification_registry_answers_total"))
			}
		})
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
