package profile

import "github.com/gosid/gosid/idp/web"

var securityCatalog = web.Catalog{
	"sec.title":        {"Безопасность", "Security"},
	"sec.passkeys":     {"Ключи доступа (вход по биометрии или ключу безопасности)", "Passkeys (sign in with biometrics or a security key)"},
	"sec.mfa":          {"Двухфакторная защита", "Two-factor protection"},
	"sec.mfa.off":      {"Выключена: для входа достаточно пароля.", "Off: the password alone signs in."},
	"sec.mfa.totp":     {"Включена: после пароля — код из приложения-аутентификатора.", "On: after the password, a code from an authenticator app."},
	"sec.mfa.sms":      {"Включена: после пароля — код из SMS.", "On: after the password, a code by SMS."},
	"sec.totp.start":   {"Включить с приложением-аутентификатором", "Turn on with an authenticator app"},
	"sec.sms.start":    {"Включить с кодом по SMS", "Turn on with SMS codes"},
	"sec.totp.lead":    {"Отсканируйте QR-код приложением-аутентификатором (например, Яндекс Ключ или Google Authenticator) или введите ключ вручную, затем введите код из приложения.", "Scan the QR code with an authenticator app or type the key by hand, then enter the code the app shows."},
	"sec.totp.secret":  {"Ключ для ввода вручную", "Key to type by hand"},
	"sec.sms.lead":     {"Мы отправили код в SMS на ваш номер. Введите его, чтобы включить защиту.", "We have sent a code by SMS to your phone. Enter it to turn the protection on."},
	"sec.code":         {"Код", "Code"},
	"sec.confirm":      {"Подтвердить", "Confirm"},
	"sec.codes.lead":   {"Резервные коды — сохраните их сейчас (распечатайте или запишите). Каждый код действует один раз и поможет войти, если телефон или приложение недоступны. Больше они не будут показаны.", "Backup codes: save them now (print or write them down). Each works once and lets you in if the phone or the app is not at hand. They will not be shown again."},
	"sec.disable":      {"Выключить двухфакторную защиту", "Turn off two-factor protection"},
	"sec.renew":        {"Создать новые резервные коды", "Make new backup codes"},
	"sec.fresh":        {"Для изменения введите код подтверждения или резервный код.", "To change this, enter a confirmation code or a backup code."},
	"sec.send":         {"Отправить код по SMS", "Send a code by SMS"},
	"sec.backup":       {"Резервный код", "Backup code"},
	"sec.enabled":      {"Двухфакторная защита включена.", "Two-factor protection is on."},
	"sec.disabled":     {"Двухфакторная защита выключена.", "Two-factor protection is off."},
	"sec.code_sent":    {"Мы отправили код по SMS.", "We have sent a code by SMS."},
	"sec.need_mfa":     {"Сайт требует двухфакторную защиту: включите её, затем вернитесь на сайт.", "The site requires two-factor protection: turn it on, then go back to the site."},
	"sec.err.code":     {"Код: неверный или устаревший код", "Code: wrong or expired code"},
	"sec.err.no_phone": {"Для кодов по SMS нужен подтверждённый мобильный телефон.", "SMS codes need a verified mobile phone."},
}
