package idptest

import (
	"net/url"
	"strings"
	"testing"
)

// The checks of the "we sent you a code" step (idp/codestep) as every
// flow that has one shows it: registration, recovery, a contact change.

// Wrong returns a six-digit code other than code.
func Wrong(code string) string { return code[:5] + string('0'+(code[5]-'0'+1)%10) }

// CodeTypos posts what is not a code to path: each is refused under the
// code field and spends no attempt.
func CodeTypos(t testing.TB, b *Browser, path string) {
	t.Helper()
	for _, typo := range []string{"", "12345", "12a456", "1234567"} {
		b.Post(t, path, url.Values{"code": {typo}}).ExpectField(t, 422, "code", "Код: введите 6 цифр")
	}
}

// WrongCodes posts three wrong codes to path, each answered with the
// attempts left and the last with the challenge dead; then right is
// refused too.
func WrongCodes(t testing.TB, b *Browser, path, right string) {
	t.Helper()
	for _, want := range []string{"Неверный код. Осталось попыток: 2", "Неверный код. Осталось попыток: 1", "Код больше не действует"} {
		b.Post(t, path, url.Values{"code": {Wrong(right)}}).ExpectField(t, 422, "code", want)
	}
	b.Post(t, path, url.Values{"code": {right}}).ExpectField(t, 422, "code", "Код больше не действует")
}

// ExpectField fails the test unless the answer has status and marks field
// alone, with a message starting with prefix.
func (a Answer) ExpectField(t testing.TB, status int, field, prefix string) {
	t.Helper()
	if a.Status != status || !strings.HasPrefix(a.FieldError(field), prefix) || len(a.FieldErrors()) != 1 {
		t.Fatalf("got %d %v, want %d and %q under %s alone", a.Status, a.FieldErrors(), status, prefix, field)
	}
}

// ExpectAlert fails the test unless the answer has status and an alert
// starting with prefix.
func (a Answer) ExpectAlert(t testing.TB, status int, prefix string) {
	t.Helper()
	if a.Status != status || !strings.HasPrefix(a.Alert(), prefix) {
		t.Fatalf("got %d %q, want %d and an alert %q", a.Status, a.Alert(), status, prefix)
	}
}
