package validate

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrors(t *testing.T) {
	var errs Errors
	if errs.Err() != nil {
		t.Fatal("empty Errors.Err() != nil")
	}
	errs.Add(nil)
	_, err := SNILS("123-456-789 65")
	errs.Add(err)
	_, err = Phone("")
	errs.Add(fmt.Errorf("wrapped: %w", err))
	errs.Add(errors.New("something else"))
	if len(errs) != 3 {
		t.Fatalf("len = %d", len(errs))
	}
	if f := errs.Field("snils"); f == nil || f.Code != "checksum" {
		t.Errorf("Field(snils) = %v", f)
	}
	if f := errs.Field("phone"); f == nil || f.Code != "required" {
		t.Errorf("Field(phone) = %v", f)
	}
	if errs.Field("email") != nil {
		t.Error("Field(email) != nil")
	}
	if errs[2].Code != "invalid" {
		t.Errorf("foreign error: %+v", errs[2])
	}
	want := "SNILS: the check digits do not match — check the number; Mobile phone: enter your mobile phone number; Check the data you entered"
	if got := errs.Err().Error(); got != want {
		t.Errorf("Error() = %q", got)
	}
	var more Errors
	more.Add(errs.Err())
	if len(more) != 3 {
		t.Errorf("adding Errors: len = %d", len(more))
	}
}

func TestMessageLanguage(t *testing.T) {
	_, err := SNILS("123-456-789 65")
	fe := err.(*FieldError)
	if fe.Message("ru") != "СНИЛС: неверная контрольная сумма — проверьте цифры" {
		t.Errorf("ru: %q", fe.Message("ru"))
	}
	for _, l := range []string{"en", "EN", "en-GB", "en_US"} {
		if fe.Message(l) != fe.EN {
			t.Errorf("Message(%q) = %q", l, fe.Message(l))
		}
	}
	for _, l := range []string{"", "ru", "ru-RU", "de", "eng"} {
		if fe.Message(l) != fe.RU {
			t.Errorf("Message(%q) = %q", l, fe.Message(l))
		}
	}
}

// TestCatalogue: every message names its field in both languages (the label
// before the colon) and the catalogue has no duplicate texts.
func TestCatalogue(t *testing.T) {
	labels := map[string][2]string{
		"snils": {"СНИЛС", "SNILS"}, "inn": {"ИНН", "INN"},
		"passport_series": {"Серия паспорта", "Passport series"}, "passport_number": {"Номер паспорта", "Passport number"},
		"division_code": {"Код подразделения", "Division code"}, "passport_issuer": {"Кем выдан паспорт", "Passport issued by"},
		"passport_issue_date": {"Дата выдачи паспорта", "Passport issue date"},
		"family_name":         {"Фамилия", "Surname"}, "given_name": {"Имя", "Given name"}, "middle_name": {"Отчество", "Patronymic"},
		"birthdate": {"Дата рождения", "Date of birth"}, "date": {"Дата", "Date"},
		"phone": {"Мобильный телефон", "Mobile phone"}, "email": {"Электронная почта", "E-mail"},
		"gender": {"Пол", "Sex"}, "login": {"Логин", "Login"},
	}
	seen := map[string]bool{}
	for _, m := range catalogue {
		l, ok := labels[m.field]
		if !ok {
			t.Errorf("unknown field %q", m.field)
			continue
		}
		if len(m.ru) <= len(l[0])+2 || m.ru[:len(l[0])+2] != l[0]+": " || m.en[:len(l[1])+2] != l[1]+": " {
			t.Errorf("%s/%s: %q / %q do not start with the field's label", m.field, m.code, m.ru, m.en)
		}
		if seen[m.ru] || seen[m.en] {
			t.Errorf("duplicate message %q", m.en)
		}
		seen[m.ru], seen[m.en] = true, true
	}
}
