package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// Citizens whose names match the sandbox bank's customers
// (docs/verification.md, «The sandbox bank»).
var (
	bankIvanov   = registrant{Phone: "+7 916 700-55-01", E164: "+79167005501", Family: "Иванов", Given: "Иван", Middle: "Иванович", Password: browserPassword}
	bankSidorova = registrant{Phone: "+7 916 700-55-04", E164: "+79167005504", Family: "Сидорова", Given: "Анна", Middle: "Сергеевна", Password: browserPassword}
)

// TestBrowserBankConfirm: on the embedded default with its sandbox bank, a
// citizen confirms their identity through the bank: /account/confirm
// offers the sandbox, its page lists the test customers, and the account
// comes back confirmed with the bank's SNILS and passport; a citizen
// whose birth date the bank holds otherwise gets a page naming that field
// and stays simplified. With GOSID_E2E_SCREENSHOTS=1 the pages are saved
// at 1280 and 360 px to docs/screenshots/bank-*.png.
func TestBrowserBankConfirm(t *testing.T) {
	requireChromium(t)
	s, public := startLocalhost(t, "--data-dir", t.TempDir(), "--sandbox-bank-addr", "localhost:0")
	if rec := s.record("gosid serving"); rec == nil || rec["sandbox_bank"] == "off" || rec["sandbox_bank"] == nil {
		t.Fatalf("no sandbox bank in %v", rec)
	}
	shoot := func(b *browser, name string) {
		if os.Getenv("GOSID_E2E_SCREENSHOTS") != "1" {
			return
		}
		dir := filepath.Join("..", "docs", "screenshots")
		b.screenshot(1280, filepath.Join(dir, name+"-1280.png"))
		b.screenshot(360, filepath.Join(dir, name+"-360.png"))
	}

	b := newBrowser(t, public)
	registerByPhone(b, s, bankIvanov, func(string) {})
	b.open("/account/confirm")
	b.expectText("Подтвердить через банк", "Песочница банка · тестовый банк")
	shoot(b, "confirm-banks")
	b.click(`form[action="/account/confirm/bank"] button[value="sandbox"]`, "/authorize", 200)
	b.expectText("Песочница банка — тестовый банк, не настоящий", "Иванов Иван Иванович")
	shoot(b, "bank-sandbox")
	b.click(`#customer-sandbox-0001`, "/bank/callback", 200)
	b.expectText("Личность подтверждена через банк «Песочница банка».", "Подтверждённая")
	shoot(b, "bank-confirmed")
	b.open("/account")
	b.expectText("Подтверждённая")
	b.open("/account/confirm")
	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}

	m := newBrowser(t, public)
	registerByPhone(m, s, bankSidorova, func(string) {})
	m.fill("birthdate", "22.07.1992")
	m.submit("/account/details", "/account")
	m.open("/account/confirm")
	m.click(`form[action="/account/confirm/bank"] button[value="sandbox"]`, "/authorize", 200)
	m.click(`#customer-sandbox-0004`, "/bank/callback", 409)
	m.expectText("Данные в банке «Песочница банка» не совпадают с вашими.", "Дата рождения", "23.07.1992", "22.07.1992", "Данные учётной записи не изменились.")
	shoot(m, "bank-mismatch")
	m.open("/account")
	m.expectText("Упрощённая")
	m.open("/account/activity")
	m.expectText("Подтверждение через банк не прошло: данные банка не совпали с вашими")
	// The same in English.
	m.open("/account/confirm?lang=en")
	m.expectText("Confirm through a bank", "Sandbox bank · test bank")
	shoot(m, "confirm-banks-en")
	m.click(`form[action="/account/confirm/bank"] button[value="sandbox"]`, "/authorize", 200)
	m.click(`#customer-sandbox-0004`, "/bank/callback", 409)
	m.expectText("The data at Sandbox bank differ from yours.", "Date of birth — at the bank", "Nothing in your account changed.")
	shoot(m, "bank-mismatch-en")
	m.open("/account/confirm?lang=ru")
	for _, p := range m.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
}
