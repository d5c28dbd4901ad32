package profile

import "github.com/gosid/gosid/internal/webui"

// undoCatalog holds the «Это был не я» pages' texts.
var undoCatalog = webui.Catalog{
	"undo.title":         {"Это был не я", "It was not me"},
	"undo.lead.phone":    {"Номер телефона вашей учётной записи Gosid был изменён. Если это сделали не вы, отмените изменение:", "The phone number of your Gosid account was changed. If it was not you, undo the change:"},
	"undo.lead.email":    {"Адрес электронной почты вашей учётной записи Gosid был изменён. Если это сделали не вы, отмените изменение:", "The e-mail address of your Gosid account was changed. If it was not you, undo the change:"},
	"undo.will.restore":  {"вернём прежний контакт %s;", "we will put the previous contact %s back;"},
	"undo.will.taken":    {"прежний контакт %s вернуть нельзя: его уже подтвердила другая учётная запись;", "the previous contact %s cannot be put back: another account has confirmed it since;"},
	"undo.will.sessions": {"завершим все сеансы учётной записи на всех устройствах и сообщим об этом сайтам;", "we will end every session of the account on every device and tell the sites;"},
	"undo.will.password": {"заблокируем вход по паролю, пока вы не восстановите пароль.", "we will block password sign-in until you recover your password."},
	"undo.submit":        {"Это был не я — отменить изменение", "It was not me: undo the change"},
	"undo.done":          {"Изменение отменено. Все сеансы завершены, вход по паролю заблокирован.", "The change has been undone. Every session has ended and password sign-in is blocked."},
	"undo.done.restored": {"Прежний контакт %s снова указан в учётной записи.", "The previous contact %s is the account's again."},
	"undo.done.taken":    {"Прежний контакт %s вернуть не удалось: его подтвердила другая учётная запись. Обратитесь в службу поддержки.", "The previous contact %s could not be put back: another account has confirmed it. Please contact support."},
	"undo.done.next":     {"Чтобы снова войти, восстановите пароль: придумайте новый, который не знает никто другой.", "To sign in again, recover your password: choose a new one nobody else knows."},
	"undo.recover":       {"Восстановить пароль", "Recover the password"},
	"undo.invalid":       {"Ссылка недействительна или уже использована.", "This link is not valid or has been used already."},
	"undo.expired":       {"Срок действия ссылки истёк. Если изменение сделали не вы, восстановите пароль и обратитесь в службу поддержки.", "This link has expired. If you did not make the change, recover your password and contact support."},
}
