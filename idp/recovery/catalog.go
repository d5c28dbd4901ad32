package recovery

import "github.com/gosid/gosid/idp/web"

var catalog = web.Catalog{
	"rec.title":                {"Восстановление пароля", "Restore your password"},
	"rec.lead":                 {"Укажите телефон, почту или СНИЛС из учётной записи — мы пришлём код для смены пароля.", "Enter the phone, e-mail or SNILS of your account — we will send a code to set a new password."},
	"rec.login":                {"Телефон, почта или СНИЛС", "Phone, e-mail or SNILS"},
	"rec.continue":             {"Продолжить", "Continue"},
	"rec.back":                 {"Вернуться ко входу", "Back to sign-in"},
	"rec.expired":              {"Время на восстановление истекло. Начните заново.", "The recovery has expired. Please start again."},
	"rec.code.title":           {"Код для смены пароля", "Code to change the password"},
	"rec.code.lead":            {"Если учётная запись существует, мы отправили код на %s. Код действует 5 минут.", "If the account exists, we have sent a code to %s. It is valid for 5 minutes."},
	"rec.code.where.account":   {"телефон или почту, указанные в учётной записи", "the phone or e-mail of the account"},
	"rec.code":                 {"Код из сообщения", "Code from the message"},
	"rec.code.submit":          {"Подтвердить", "Confirm"},
	"rec.code.resend":          {"Отправить код ещё раз", "Send the code again"},
	"rec.code.resent":          {"Мы отправили новый код.", "We have sent a new code."},
	"rec.password.title":       {"Новый пароль", "New password"},
	"rec.password.lead":        {"После смены пароля все сеансы на других устройствах завершатся.", "After the change, all sessions on other devices will end."},
	"rec.password":             {"Новый пароль", "New password"},
	"rec.password.rules":       {"Требования к паролю:", "The password must have:"},
	"rec.password_confirm":     {"Новый пароль ещё раз", "Repeat the new password"},
	"rec.save":                 {"Сохранить пароль", "Save the password"},
	"rec.err.confirm":          {"Пароль ещё раз: пароли не совпадают", "Repeat the password: the passwords do not match"},
	"rec.signin.title":         {"Или войдите с текущим паролем", "Or sign in with your current password"},
	"rec.signin.lead":          {"Если вы помните пароль, но вход по паролю заблокирован после неудачных попыток, введите его: код уже подтвердил, что телефон или почта ваши. Блокировка будет снята.", "If you remember your password but password sign-in is locked after failed attempts, enter it: the code has confirmed the phone or e-mail is yours. The lock will be lifted."},
	"rec.signin.password":      {"Текущий пароль", "Current password"},
	"rec.signin.submit":        {"Войти", "Sign in"},
	"rec.err.current_required": {"Текущий пароль: введите пароль", "Current password: enter your password"},
	"rec.err.current_wrong":    {"Текущий пароль: неверный пароль. Осталось попыток: %d", "Current password: wrong password. Attempts left: %d"},
	"rec.err.current_tries":    {"Слишком много неверных паролей. Запросите новый код.", "Too many wrong passwords. Request a new code."},
	"rec.err.blocked":          {"Учётная запись заблокирована. Обратитесь в службу поддержки.", "This account is blocked. Please contact support."},
}
