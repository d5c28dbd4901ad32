package audit

// label is a text in Russian and English.
type label struct{ ru, en string }

func (l label) in(lang string) string {
	if lang == "en" {
		return l.en
	}
	return l.ru
}

// actionLabels name the actions for the account centre, in the wording of
// Госуслуги's activity page.
var actionLabels = map[string]label{
	ActionProfileUpdated:     {"Изменены личные данные", "Personal data changed"},
	ActionDocumentsUpdated:   {"Изменены данные документов", "Document data changed"},
	ActionDocumentsPending:   {"Изменения данных отправлены на проверку", "Data changes sent for verification"},
	ActionContactChanged:     {"Изменены контактные данные", "Contact details changed"},
	ActionPasswordChanged:    {"Изменён пароль", "Password changed"},
	ActionPasswordRecovered:  {"Пароль восстановлен", "Password recovered"},
	ActionMFAEnabled:         {"Включена двухэтапная проверка", "Two-step verification turned on"},
	ActionMFADisabled:        {"Отключена двухэтапная проверка", "Two-step verification turned off"},
	ActionBackupCodesRenewed: {"Выпущены новые резервные коды", "New backup codes issued"},
	ActionPasskeyAdded:       {"Добавлен ключ доступа", "Passkey added"},
	ActionPasskeyRemoved:     {"Удалён ключ доступа", "Passkey removed"},
	ActionPasskeyRenamed:     {"Переименован ключ доступа", "Passkey renamed"},
	ActionCertificateLinked:  {"Привязан сертификат электронной подписи", "Electronic signature certificate linked"},
	ActionCertificateRemoved: {"Отвязан сертификат электронной подписи", "Electronic signature certificate removed"},
	ActionSettingsChanged:    {"Изменены настройки учётной записи", "Account settings changed"},
	ActionSessionEnded:       {"Завершён сеанс на устройстве", "Session on a device ended"},
	ActionGrantGiven:         {"Выдано разрешение на доступ к данным", "Access to data granted"},
	ActionGrantRevoked:       {"Отозвано разрешение на доступ к данным", "Access to data revoked"},
	ActionLevelChanged:       {"Изменён уровень учётной записи", "Account level changed"},
	ActionSNILSVerified:      {"СНИЛС подтверждён", "SNILS confirmed"},
	ActionSNILSClaimDropped:  {"СНИЛС удалён: его владелец подтвердил его в другой учётной записи", "SNILS removed: its holder confirmed it on another account"},
	ActionDeletionRequested:  {"Запрошено удаление учётной записи", "Account deletion requested"},
	ActionDeletionCancelled:  {"Удаление учётной записи отменено", "Account deletion cancelled"},
	ActionAccountErased:      {"Учётная запись удалена", "Account erased"},
	ActionAccountLocked:      {"Вход по паролю временно заблокирован", "Password sign-in temporarily locked"},
	ActionAccountUnlocked:    {"Вход по паролю разблокирован", "Password sign-in unlocked"},
	ActionAccountBlocked:     {"Учётная запись заблокирована", "Account blocked"},
	ActionAccountUnblocked:   {"Учётная запись разблокирована", "Account unblocked"},
	ActionExportDownloaded:   {"Выгружены данные учётной записи", "Account data downloaded"},
	ActionAccountCreated:     {"Учётная запись создана", "Account created"},
	ActionBankMismatch:       {"Подтверждение через банк не прошло: данные банка не совпали с вашими", "Confirmation through a bank failed: the bank's data differ from yours"},
	ActionBankLinked:         {"Привязан вход через банк", "Bank sign-in linked"},
	ActionBankUnlinked:       {"Отвязан вход через банк", "Bank sign-in removed"},
	ActionPartnerConfirmed:   {"Личность подтверждена банком", "Identity confirmed by a bank"},
	ActionPartnerRegistered:  {"Учётная запись создана банком", "Account created by a bank"},
	ActionPartnerDisputed:    {"Подтверждение личности банком оспорено", "A bank's confirmation of identity disputed"},
	ActionStaffGranted:       {"Назначена роль сотрудника", "Staff role granted"},
	ActionStaffRevoked:       {"Снята роль сотрудника", "Staff role revoked"},
	ActionAccessCodeIssued:   {"Выдан временный код доступа", "Temporary access code issued"},
	ActionAccessCodeUsed:     {"По временному коду доступа заданы новый пароль и телефон", "New password and phone set with a temporary access code"},
	ActionLetterOrdered:      {"Заказан код подтверждения личности письмом", "Confirmation code by letter ordered"},
	ActionLetterSent:         {"Письмо с кодом подтверждения отправлено", "Letter with the confirmation code sent"},
	ActionLetterConfirmed:    {"Личность подтверждена кодом из письма", "Identity confirmed with the code from the letter"},
	ActionLetterSpent:        {"Код из письма заблокирован: три неверные попытки", "Code from the letter blocked: three wrong tries"},
	ActionLetterCancelled:    {"Письмо с кодом отменено до отправки: можно заказать новое", "Letter with the code cancelled before dispatch: a new one may be ordered"},
	ActionDeskCodeIssued:     {"Получен код для подтверждения личности в центре обслуживания", "Code for confirming your identity at a service centre issued"},
	ActionDeskCodeCancelled:  {"Код для подтверждения личности в центре обслуживания отменён", "Code for confirming your identity at a service centre cancelled"},
	ActionDeskViewed:         {"Оператор центра обслуживания просмотрел ваши данные для сверки с документами", "A service centre operator viewed your data to compare with your documents"},
	ActionDeskConfirmed:      {"Личность подтверждена в центре обслуживания", "Identity confirmed at a service centre"},
	ActionDeskRefused:        {"В подтверждении личности в центре обслуживания отказано", "Identity confirmation at a service centre refused"},
	ActionDeskCorrected:      {"Оператор центра обслуживания исправил данные паспорта по оригиналу", "A service centre operator corrected passport data from the original"},
	ActionDeskCheckStarted:   {"Оператор центра обслуживания отправил данные на проверку", "A service centre operator sent your data for checking"},
	ActionContactChangeUndone: {"Изменение контакта отменено по ссылке «Это был не я», вход по паролю заблокирован до восстановления пароля",
		"Contact change undone with the “It was not me” link; password sign-in blocked until the password is recovered"},
}

// contactLabels refine ActionContactChanged by Detail["field"].
var contactLabels = map[string]label{
	"phone": {"Изменён номер телефона", "Phone number changed"},
	"email": {"Изменён адрес электронной почты", "E-mail address changed"},
}

// mfaMethods name the second factor of ActionMFAEnabled and
// ActionMFADisabled by Detail["method"].
var mfaMethods = map[string]label{
	"totp": {"приложение-аутентификатор", "authenticator app"},
	"sms":  {"код из SMS", "SMS code"},
}

var actorLabels = map[string]label{
	ActorCitizen:  {"Вы", "You"},
	ActorOperator: {"Оператор центра обслуживания", "Service centre operator"},
	ActorStaff:    {"Сотрудник ведомства или поддержки", "Agency or support staff"},
	ActorBank:     {"Банк", "Bank"},
	ActorAdmin:    {"Администратор", "Administrator"},
	ActorSystem:   {"Система", "System"},
}

// Label names an action in lang ("ru", or "en"; anything else is Russian).
// An unknown action is returned as it is.
func Label(action, lang string) string {
	if l, ok := actionLabels[action]; ok {
		return l.in(lang)
	}
	return action
}

// Label names the entry's action in lang, using its detail where that says
// more (which contact changed).
func (e Entry) Label(lang string) string {
	switch e.Action {
	case ActionContactChanged:
		if l, ok := contactLabels[e.Detail["field"]]; ok {
			return l.in(lang)
		}
	case ActionMFAEnabled, ActionMFADisabled:
		if m, ok := mfaMethods[e.Detail["method"]]; ok {
			return Label(e.Action, lang) + ": " + m.in(lang)
		}
	}
	return Label(e.Action, lang)
}

// ActorLabel names a kind of actor in lang, as the account owner sees it
// ("Вы" for the citizen). An unknown kind is returned as it is.
func ActorLabel(kind, lang string) string {
	if l, ok := actorLabels[kind]; ok {
		return l.in(lang)
	}
	return kind
}
