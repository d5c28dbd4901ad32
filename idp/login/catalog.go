package login

import "github.com/gosid/gosid/idp/web"

var catalog = web.Catalog{
	"login.title":                   {"Вход в Gosid", "Sign in to Gosid"},
	"login.login":                   {"Телефон, почта или СНИЛС", "Phone, e-mail or SNILS"},
	"login.login.hint":              {"Например, +7 912 345‑67‑89 или 123‑456‑789 01", "For example +7 912 345‑67‑89 or 123‑456‑789 01"},
	"login.password":                {"Пароль", "Password"},
	"login.submit":                  {"Войти", "Sign in"},
	"login.forgot":                  {"Забыли пароль?", "Forgot your password?"},
	"login.register":                {"Зарегистрироваться", "Create an account"},
	"login.noaccount":               {"Нет учётной записи?", "No account yet?"},
	"login.err.login":               {"Введите телефон, почту или СНИЛС", "Enter a phone number, e-mail or SNILS"},
	"login.err.password_required":   {"Пароль: введите пароль", "Password: enter your password"},
	"login.err.wrong":               {"Неверный логин или пароль", "Wrong login or password"},
	"login.err.too_many":            {"Слишком много неудачных попыток входа. Повторите через %d мин.", "Too many failed sign-in attempts. Try again in %d min."},
	"login.err.blocked":             {"Учётная запись заблокирована. Обратитесь в службу поддержки.", "This account is blocked. Please contact support."},
	"login.err.internal":            {"Не удалось выполнить вход. Попробуйте ещё раз.", "Sign-in failed. Please try again."},
	"login.notice.password_changed": {"Пароль изменён. Войдите с новым паролем.", "Your password has been changed. Sign in with the new password."},
	"login.notice.signed_out":       {"Вы вышли из Gosid.", "You have signed out of Gosid."},
}
