package login

import "github.com/gosid/gosid/internal/webui"

// reauthCatalog holds the re-authentication page's texts and the refusal
// of a suspended password.
var reauthCatalog = webui.Catalog{
	"reauth.title":          {"Подтвердите, что это вы", "Confirm it is you"},
	"reauth.lead":           {"Это действие меняет защиту учётной записи. Подтвердите вход ещё раз — затем вы вернётесь к форме.", "This action changes how your account is protected. Confirm your sign-in once more, then you will return to the form."},
	"reauth.password":       {"Пароль", "Password"},
	"reauth.code.totp":      {"Введите код из приложения-аутентификатора.", "Enter the code from your authenticator app."},
	"reauth.code.sms":       {"Получите код в SMS на номер %s и введите его.", "Get a code by SMS at %s and enter it."},
	"reauth.code.email":     {"Получите код на почту %s и введите его.", "Get a code by e-mail at %s and enter it."},
	"reauth.code":           {"Код подтверждения", "Confirmation code"},
	"reauth.send":           {"Получить код", "Get a code"},
	"reauth.sent":           {"Код отправлен на %s.", "The code has been sent to %s."},
	"reauth.backup":         {"Или резервный код", "Or a backup code"},
	"reauth.submit":         {"Подтвердить", "Confirm"},
	"reauth.cancel":         {"Отмена", "Cancel"},
	"reauth.passkey":        {"Подтвердить ключом доступа", "Confirm with a passkey"},
	"reauth.passkey.busy":   {"Следуйте указаниям браузера…", "Follow your browser's prompts…"},
	"reauth.err.password":   {"Неверный пароль", "Wrong password"},
	"reauth.err.send_first": {"Сначала получите код", "Get a code first"},
	"reauth.err.locked":     {"Вход по паролю временно заблокирован после неверных попыток. Подтвердите вход ключом доступа или повторите позже.", "Password sign-in is locked for a while after wrong attempts. Confirm with a passkey or try again later."},
	"reauth.err.nothing":    {"Для этой учётной записи нет способа подтвердить вход. Обратитесь в службу поддержки.", "This account has no way to confirm the sign-in. Please contact support."},
	"reauth.err.signed_out": {"Войдите в Gosid, чтобы продолжить.", "Sign in to Gosid to continue."},
	"reauth.err.passkey_uv": {"Ключ доступа не подтвердил, что это вы (отпечаток пальца, лицо или PIN-код). Попробуйте ещё раз.", "The passkey did not verify that it is you (fingerprint, face or PIN). Please try again."},
	"login.err.suspended":   {"Вход по паролю приостановлен: вы сообщили, что изменение контакта сделали не вы. Восстановите пароль («Забыли пароль?»), чтобы войти.", "Password sign-in is suspended: you reported a contact change you did not make. Recover your password (“Forgot your password?”) to sign in."},
}
