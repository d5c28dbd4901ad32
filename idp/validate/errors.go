package validate

import (
	"errors"
	"strconv"
	"strings"
)

// FieldError reports one invalid form field. Field is the stable form field
// name ("snils", "inn", "passport_series", "passport_number",
// "division_code", "passport_issuer", "passport_issue_date", "family_name",
// "given_name", "middle_name", "birthdate", "date", "phone", "email",
// "gender", "login"). Code is a machine code: "required", "format",
// "checksum", "too_short", "too_long", "future", "too_young", "too_old",
// "too_early", "latin", "letters", "not_mobile", "country".
//
// RU and EN are complete messages for people; they name the field and never
// contain the value that was entered.
type FieldError struct {
	Field string
	Code  string
	RU    string
	EN    string
}

// Error returns the English message. It never contains the input value.
func (e *FieldError) Error() string { return e.EN }

// Message returns the message in the given language: English for "en" and
// its regional variants ("en-GB", "en_US"), Russian otherwise.
func (e *FieldError) Message(lang string) string {
	l := strings.ToLower(lang)
	if l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_") {
		return e.EN
	}
	return e.RU
}

// Errors collects the field errors of a form with several fields.
//
//	var errs validate.Errors
//	snils, err := validate.SNILS(f.SNILS)
//	errs.Add(err)
//	…
//	if err := errs.Err(); err != nil { … re-render the form with errs … }
type Errors []*FieldError

// Add appends err if it is not nil. A *FieldError (or Errors) is appended as
// is; any other error (this package returns none) becomes a generic field
// error with an empty Field and the code "invalid".
func (es *Errors) Add(err error) {
	if err == nil {
		return
	}
	var more Errors
	if errors.As(err, &more) {
		*es = append(*es, more...)
		return
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		*es = append(*es, fe)
		return
	}
	*es = append(*es, &FieldError{
		Code: "invalid",
		RU:   "Проверьте введённые данные",
		EN:   "Check the data you entered",
	})
}

// Field returns the first error for the named field, or nil.
func (es Errors) Field(name string) *FieldError {
	for _, e := range es {
		if e.Field == name {
			return e
		}
	}
	return nil
}

// Err returns es as an error, or nil when it is empty. Use it instead of
// returning es directly, which would give a non-nil error holding nil.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Error joins the English messages.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.EN
	}
	return strings.Join(parts, "; ")
}

// message is one entry of the message catalogue. All FieldErrors are built
// from catalogue entries, so a message can never contain user input.
type message struct {
	field, code string
	ru, en      string
}

// catalogue lists every message, for tests.
var catalogue []message

func def(field, code, ru, en string) message {
	m := message{field: field, code: code, ru: ru, en: en}
	catalogue = append(catalogue, m)
	return m
}

func fail(m message) *FieldError {
	return &FieldError{Field: m.field, Code: m.code, RU: m.ru, EN: m.en}
}

// Messages.
var (
	msgSNILSRequired = def("snils", "required",
		"СНИЛС: укажите номер СНИЛС",
		"SNILS: enter your SNILS number")
	msgSNILSFormat = def("snils", "format",
		"СНИЛС: введите 11 цифр в формате 123-456-789 01",
		"SNILS: enter 11 digits in the format 123-456-789 01")
	msgSNILSUnissued = def("snils", "format",
		"СНИЛС: такой номер не выдаётся — проверьте цифры",
		"SNILS: numbers like this are not issued — check the number")
	msgSNILSChecksum = def("snils", "checksum",
		"СНИЛС: неверная контрольная сумма — проверьте цифры",
		"SNILS: the check digits do not match — check the number")

	msgINNRequired = def("inn", "required",
		"ИНН: укажите ИНН",
		"INN: enter your INN")
	msgINNFormat = def("inn", "format",
		"ИНН: введите 12 цифр (ИНН организации — 10 цифр)",
		"INN: enter 12 digits (10 digits for an organisation)")
	msgINNPersonFormat = def("inn", "format",
		"ИНН: у физического лица — 12 цифр",
		"INN: a person's number has 12 digits")
	msgINNZero = def("inn", "format",
		"ИНН: такой номер не выдаётся — проверьте цифры",
		"INN: numbers like this are not issued — check the number")
	msgINNChecksum = def("inn", "checksum",
		"ИНН: неверная контрольная сумма — проверьте цифры",
		"INN: the check digits do not match — check the number")

	msgSeriesRequired = def("passport_series", "required",
		"Серия паспорта: укажите серию паспорта",
		"Passport series: enter the passport series")
	msgSeriesFormat = def("passport_series", "format",
		"Серия паспорта: введите 4 цифры, например 45 08",
		"Passport series: enter 4 digits, for example 45 08")
	msgNumberRequired = def("passport_number", "required",
		"Номер паспорта: укажите номер паспорта",
		"Passport number: enter the passport number")
	msgNumberFormat = def("passport_number", "format",
		"Номер паспорта: введите 6 цифр, например 123456",
		"Passport number: enter 6 digits, for example 123456")
	msgDivisionRequired = def("division_code", "required",
		"Код подразделения: укажите код подразделения из паспорта",
		"Division code: enter the division code from the passport")
	msgDivisionFormat = def("division_code", "format",
		"Код подразделения: введите 6 цифр в формате 123-456",
		"Division code: enter 6 digits in the format 123-456")
	msgIssuerRequired = def("passport_issuer", "required",
		"Кем выдан паспорт: укажите, кем выдан паспорт",
		"Passport issued by: enter the issuing authority")
	msgIssuerShort = def("passport_issuer", "too_short",
		"Кем выдан паспорт: укажите название подразделения полностью, как в паспорте",
		"Passport issued by: enter the full name of the authority, as in the passport")
	msgIssuerLong = def("passport_issuer", "too_long",
		"Кем выдан паспорт: не более 200 символов",
		"Passport issued by: at most 200 characters")
	msgIssuerLatin = def("passport_issuer", "latin",
		"Кем выдан паспорт: используйте только русские буквы, как в паспорте",
		"Passport issued by: use Cyrillic letters only, as in the passport")
	msgIssuerLetters = def("passport_issuer", "letters",
		"Кем выдан паспорт: допустимы русские буквы, цифры, пробел и знаки . , - № ( ) « » \"",
		"Passport issued by: use Cyrillic letters, digits, spaces and . , - № ( ) « » \" only")
	msgIssuerFormat = def("passport_issuer", "format",
		"Кем выдан паспорт: укажите название подразделения русскими буквами, как в паспорте",
		"Passport issued by: enter the authority's name in Cyrillic, as in the passport")

	msgIssueDateRequired = def("passport_issue_date", "required",
		"Дата выдачи паспорта: укажите дату выдачи",
		"Passport issue date: enter the date of issue")
	msgIssueDateFormatForm = def("passport_issue_date", "format",
		"Дата выдачи паспорта: введите существующую дату в формате ДД.ММ.ГГГГ",
		"Passport issue date: enter a real date as DD.MM.YYYY")
	msgIssueDateFormatAPI = def("passport_issue_date", "format",
		"Дата выдачи паспорта: укажите существующую дату в формате ГГГГ-ММ-ДД",
		"Passport issue date: give a real date as YYYY-MM-DD")
	msgIssueDateFuture = def("passport_issue_date", "future",
		"Дата выдачи паспорта: дата не может быть в будущем",
		"Passport issue date: the date cannot be in the future")
	msgIssueDateYoung = def("passport_issue_date", "too_young",
		"Дата выдачи паспорта: паспорт выдаётся с 14 лет — проверьте дату выдачи и дату рождения",
		"Passport issue date: a passport is issued from the age of 14 — check the issue date and the date of birth")
	msgIssueDateEarly = def("passport_issue_date", "too_early",
		"Дата выдачи паспорта: паспорта гражданина РФ выдаются с 01.10.1997 — проверьте дату",
		"Passport issue date: Russian passports have been issued since 1 October 1997 — check the date")

	msgDateRequired = def("date", "required",
		"Дата: укажите дату",
		"Date: enter a date")
	msgDateFormatForm = def("date", "format",
		"Дата: введите существующую дату в формате ДД.ММ.ГГГГ",
		"Date: enter a real date as DD.MM.YYYY")
	msgDateFormatAPI = def("date", "format",
		"Дата: укажите существующую дату в формате ГГГГ-ММ-ДД",
		"Date: give a real date as YYYY-MM-DD")

	msgBirthRequired = def("birthdate", "required",
		"Дата рождения: укажите дату рождения",
		"Date of birth: enter your date of birth")
	msgBirthFormatForm = def("birthdate", "format",
		"Дата рождения: введите существующую дату в формате ДД.ММ.ГГГГ",
		"Date of birth: enter a real date as DD.MM.YYYY")
	msgBirthFormatAPI = def("birthdate", "format",
		"Дата рождения: укажите существующую дату в формате ГГГГ-ММ-ДД",
		"Date of birth: give a real date as YYYY-MM-DD")
	msgBirthFuture = def("birthdate", "future",
		"Дата рождения: дата не может быть в будущем",
		"Date of birth: the date cannot be in the future")
	msgBirthYoung = def("birthdate", "too_young",
		"Дата рождения: зарегистрироваться можно с 14 лет",
		"Date of birth: you must be at least 14 years old to register")
	msgBirthOld = def("birthdate", "too_old",
		"Дата рождения: проверьте год — возраст не может быть больше 120 лет",
		"Date of birth: check the year — the age cannot exceed 120 years")

	msgPhoneRequired = def("phone", "required",
		"Мобильный телефон: укажите номер мобильного телефона",
		"Mobile phone: enter your mobile phone number")
	msgPhoneFormat = def("phone", "format",
		"Мобильный телефон: введите номер в формате +7 (912) 345-67-89",
		"Mobile phone: enter the number as +7 (912) 345-67-89")
	msgPhoneCountry = def("phone", "country",
		"Мобильный телефон: укажите российский номер, начинающийся с +7",
		"Mobile phone: enter a Russian number starting with +7")
	msgPhoneNotMobile = def("phone", "not_mobile",
		"Мобильный телефон: укажите номер мобильного телефона — он начинается с +7 9",
		"Mobile phone: enter a mobile number — it starts with +7 9")

	msgEmailRequired = def("email", "required",
		"Электронная почта: укажите адрес электронной почты",
		"E-mail: enter your e-mail address")
	msgEmailFormat = def("email", "format",
		"Электронная почта: введите адрес в формате name@example.ru",
		"E-mail: enter the address as name@example.ru")
	msgEmailLocal = def("email", "format",
		"Электронная почта: до @ допустимы латинские буквы, цифры и знаки . _ - +; точка не может стоять в начале, в конце или дважды подряд",
		"E-mail: before the @ use Latin letters, digits and . _ - + only; a dot cannot come first, last or twice in a row")
	msgEmailDomain = def("email", "format",
		"Электронная почта: после @ укажите домен, например mail.ru",
		"E-mail: after the @ give a domain such as mail.ru")
	msgEmailLong = def("email", "too_long",
		"Электронная почта: адрес слишком длинный",
		"E-mail: the address is too long")

	msgGenderRequired = def("gender", "required",
		"Пол: укажите пол",
		"Sex: choose your sex")
	msgGenderFormat = def("gender", "format",
		"Пол: выберите «мужской» или «женский»",
		"Sex: choose male or female")

	msgLoginRequired = def("login", "required",
		"Логин: укажите телефон, адрес электронной почты или СНИЛС",
		"Login: enter your phone number, e-mail address or SNILS")
	msgLoginFormat = def("login", "format",
		"Логин: введите мобильный телефон, адрес электронной почты или СНИЛС",
		"Login: enter a mobile phone number, an e-mail address or a SNILS")
)

// nameMessages holds the messages of one name field.
type nameMessages struct {
	required, tooLong, latin, letters, edge, doubled message
}

func defName(field, ru, en, ruAcc string, max int) nameMessages {
	n := strconv.Itoa(max)
	return nameMessages{
		required: def(field, "required",
			ru+": укажите "+ruAcc+", как в паспорте",
			en+": enter your "+strings.ToLower(en)+" as in the passport"),
		tooLong: def(field, "too_long",
			ru+": не более "+n+" символов",
			en+": at most "+n+" characters"),
		latin: def(field, "latin",
			ru+": используйте только русские буквы, как в паспорте",
			en+": use Cyrillic letters only, as in the passport"),
		letters: def(field, "letters",
			ru+": допустимы только русские буквы, дефис, апостроф и пробел",
			en+": use Cyrillic letters, hyphens, apostrophes and spaces only"),
		edge: def(field, "format",
			ru+": первым и последним символом должна быть буква",
			en+": must begin and end with a letter"),
		doubled: def(field, "format",
			ru+": дефис, апостроф и пробел не могут стоять подряд",
			en+": hyphens, apostrophes and spaces cannot follow one another"),
	}
}

var (
	msgFamily = defName("family_name", "Фамилия", "Surname", "фамилию", maxFamilyName)
	msgGiven  = defName("given_name", "Имя", "Given name", "имя", maxGivenName)
	msgMiddle = defName("middle_name", "Отчество", "Patronymic", "отчество", maxGivenName)
)
