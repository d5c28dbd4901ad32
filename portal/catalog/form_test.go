package catalog

import (
	"strings"
	"testing"
	"time"
)

func ptr(x float64) *float64 { return &x }

// testForm has a field for every kind and rule.
var testForm = Form{Fields: []Field{
	{Name: "family_name", Label: Text{"Фамилия", "Family name"}, Kind: FieldText, Prefill: "family_name", Hint: Text{"Кириллицей", "In Cyrillic"},
		Rules: Rules{Required: true, Pattern: `[А-Яа-яЁё -]+`, MinLength: 2, MaxLength: 10}},
	{Name: "count", Label: Text{"Количество", "Count"}, Kind: FieldNumber, Rules: Rules{Min: ptr(1), Max: ptr(5)}},
	{Name: "birthdate", Label: Text{"Дата рождения", "Date of birth"}, Kind: FieldDate, Prefill: "birthdate",
		Rules: Rules{Required: true, NotFuture: true, MinAge: 14, MaxAge: 20}},
	{Name: "visit", Label: Text{"Дата визита", "Visit date"}, Kind: FieldDate, Rules: Rules{NotPast: true}},
	{Name: "reason", Label: Text{"Причина", "Reason"}, Kind: FieldSelect, Rules: Rules{Required: true},
		Options: []Option{{Value: "age", Label: Text{"Возраст", "Age"}}}},
	{Name: "agree", Label: Text{"Согласие", "Consent"}, Kind: FieldCheckbox, Rules: Rules{Required: true}},
	{Name: "address", Label: Text{"Адрес", "Address"}, Kind: FieldAddress, Rules: Rules{MaxLength: 20, Pattern: `[^\n]*`}},
	{Name: "scan", Label: Text{"Скан", "Scan"}, Kind: FieldFile, Rules: Rules{Required: true}},
	{Name: "snils", Label: Text{"СНИЛС", "SNILS"}, Kind: FieldText, Rules: Rules{Check: "snils"}},
	{Name: "inn", Label: Text{"ИНН", "INN"}, Kind: FieldText, Rules: Rules{Check: "inn"}},
	{Name: "passport", Label: Text{"Паспорт", "Passport"}, Kind: FieldText, Rules: Rules{Check: "passport"}},
	{Name: "phone", Label: Text{"Телефон", "Phone"}, Kind: FieldText, Rules: Rules{Check: "phone"}},
	{Name: "email", Label: Text{"Почта", "E-mail"}, Kind: FieldText, Rules: Rules{Check: "email"}},
	{Name: "issued", Label: Text{"Дата выдачи", "Date of issue"}, Kind: FieldText, Rules: Rules{Check: "date", NotFuture: true}},
}}

var today = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

func validValues() map[string]string {
	return map[string]string{
		"family_name": "Иванов", "count": "3", "birthdate": "05.03.2010", "visit": "04.12.2026", "reason": "age",
		"agree": "on", "address": "Москва", "scan": "att-1", "snils": "112-233-445 95", "inn": "500100732259",
		"passport": "45 08 123456", "phone": "+7 (912) 345-67-89", "email": "ivanov@mail.ru", "issued": "01.02.2024",
	}
}

func TestValidateAccepts(t *testing.T) {
	if errs := ValidateAt(testForm, validValues(), "ru", today); len(errs) != 0 {
		t.Fatalf("valid values refused: %v", errs)
	}
	// Optional fields may stay empty; other writings of identifiers pass.
	v := validValues()
	for _, k := range []string{"count", "visit", "address", "snils", "inn", "passport", "phone", "email", "issued"} {
		v[k] = ""
	}
	if errs := ValidateAt(testForm, v, "ru", today); len(errs) != 0 {
		t.Fatalf("empty optional fields refused: %v", errs)
	}
	v = validValues()
	v["snils"], v["phone"], v["passport"], v["count"] = "11223344595", "89123456789", "4508123456", "2,5"
	if errs := ValidateAt(testForm, v, "en", today); len(errs) != 0 {
		t.Fatalf("other writings refused: %v", errs)
	}
}

// Every rule fails with a message naming the field, in both languages.
func TestValidateRules(t *testing.T) {
	for _, c := range []struct{ field, value, ru, en string }{
		{"family_name", "", "Заполните поле «Фамилия»", "Fill in “Family name”"},
		{"family_name", "Ivanov", "Поле «Фамилия» заполнено в неверном формате. Кириллицей", "“Family name” is not in the expected format. In Cyrillic"},
		{"address", "Москва\nМосква", "Поле «Адрес» заполнено в неверном формате", "“Address” is not in the expected format"},
		{"family_name", "И", "В поле «Фамилия» должно быть не меньше 2 символов", "“Family name” must be at least 2 characters"},
		{"family_name", "Ивановвввввв", "В поле «Фамилия» должно быть не больше 10 символов", "“Family name” must be at most 10"},
		{"family_name", "Иван\xff", "Поле «Фамилия» содержит недопустимые символы", "“Family name” contains characters"},
		{"count", "три", "В поле «Количество» укажите число", "“Count” must be a number"},
		{"count", "NaN", "В поле «Количество» укажите число", "“Count” must be a number"},
		{"count", "0", "В поле «Количество» укажите число не меньше 1", "“Count” must be at least 1"},
		{"count", "6", "В поле «Количество» укажите число не больше 5", "“Count” must be at most 5"},
		{"birthdate", "", "Заполните поле «Дата рождения»", "Fill in “Date of birth”"},
		{"birthdate", "2010-03-05", "«Дата рождения»: укажите дату в виде ДД.ММ.ГГГГ", "“Date of birth”: enter a date as DD.MM.YYYY"},
		{"birthdate", "30.02.2010", "«Дата рождения»: такой даты нет", "“Date of birth”: there is no such date"},
		{"birthdate", "29.02.2011", "«Дата рождения»: такой даты нет", "“Date of birth”: there is no such date"},
		{"birthdate", "05.12.2026", "«Дата рождения»: дата не может быть позже сегодняшней", "“Date of birth”: the date cannot be later than today"},
		{"birthdate", "05.12.2012", "«Дата рождения»: возраст должен быть не меньше 14 лет", "“Date of birth”: the age must be at least 14"},
		{"birthdate", "04.12.2006", "«Дата рождения»: возраст должен быть меньше 20 лет", "“Date of birth”: the age must be under 20"},
		{"visit", "03.12.2026", "«Дата визита»: дата не может быть раньше сегодняшней", "“Visit date”: the date cannot be earlier than today"},
		{"reason", "", "Выберите значение в поле «Причина»", "Choose a value for “Reason”"},
		{"reason", "money", "В поле «Причина» выберите один из предложенных вариантов", "Choose one of the offered values for “Reason”"},
		{"agree", "", "Отметьте «Согласие»", "Tick “Consent”"},
		{"agree", "off", "Отметьте «Согласие»", "Tick “Consent”"},
		{"agree", "maybe", "Поле «Согласие»: отметьте его или оставьте пустым", "“Consent”: tick it or leave it empty"},
		{"address", strings.Repeat("д", 21), "В поле «Адрес» должно быть не больше 20 символов", "“Address” must be at most 20"},
		{"address", strings.Repeat("д", 2001), "В поле «Адрес» должно быть не больше 2000 символов", "“Address” must be at most 2000"},
		{"scan", "", "Приложите файл «Скан»", "Attach “Scan”"},
		{"snils", "112-233-445", "«СНИЛС»: СНИЛС — 11 цифр", "“SNILS”: a SNILS is 11 digits"},
		{"snils", "112-233-445 94", "«СНИЛС»: в номере СНИЛС ошибка", "“SNILS”: the SNILS has a mistake"},
		{"snils", "001-001-998 00", "«СНИЛС»: СНИЛС — 11 цифр", "“SNILS”: a SNILS is 11 digits"},
		{"inn", "5001007322", "«ИНН»: ИНН физического лица — 12 цифр", "“INN”: a person's INN is 12 digits"},
		{"inn", "500100732258", "«ИНН»: в ИНН ошибка", "“INN”: the INN has a mistake"},
		{"passport", "45 08 12345", "«Паспорт»: серия и номер паспорта", "“Passport”: a passport's series and number"},
		{"passport", "0000 123456", "«Паспорт»: серия и номер паспорта", "“Passport”: a passport's series and number"},
		{"phone", "+7 495 123-45-67", "«Телефон»: укажите мобильный телефон", "“Phone”: enter a mobile phone number"},
		{"phone", "+1 912 345 67 89", "«Телефон»: укажите мобильный телефон", "“Phone”: enter a mobile phone number"},
		{"phone", "912-345-67", "«Телефон»: укажите мобильный телефон", "“Phone”: enter a mobile phone number"},
		{"email", "ivanov@mail", "«Почта»: укажите адрес электронной почты", "“E-mail”: enter an e-mail address"},
		{"email", "ива@mail.ru", "«Почта»: укажите адрес электронной почты", "“E-mail”: enter an e-mail address"},
		{"email", "a..b@mail.ru", "«Почта»: укажите адрес электронной почты", "“E-mail”: enter an e-mail address"},
		{"issued", "01.01.2027", "«Дата выдачи»: дата не может быть позже сегодняшней", "“Date of issue”: the date cannot be later than today"},
		{"issued", "1.1.2020", "«Дата выдачи»: укажите дату в виде ДД.ММ.ГГГГ", "“Date of issue”: enter a date as DD.MM.YYYY"},
	} {
		v := validValues()
		v[c.field] = c.value
		for lang, want := range map[string]string{"ru": c.ru, "en": c.en} {
			errs := ValidateAt(testForm, v, lang, today)
			if len(errs) != 1 || !strings.HasPrefix(errs[c.field], want) {
				t.Errorf("%s=%q (%s): got %v, want %q", c.field, c.value, lang, errs, want)
			}
		}
	}
}

func TestPrefill(t *testing.T) {
	got := Prefill(testForm, map[string]string{"family_name": "Петрова", "birthdate": "", "salary": "1"})
	if len(got) != 1 || got["family_name"] != "Петрова" {
		t.Fatalf("prefill: %v", got)
	}
}

// A birthday on 29 February counts as passed on 1 March of a common year.
func TestAgeLeapDay(t *testing.T) {
	f := Form{Fields: []Field{{Name: "b", Label: Text{RU: "Д"}, Kind: FieldDate, Rules: Rules{MinAge: 14}}}}
	if errs := ValidateAt(f, map[string]string{"b": "29.02.2012"}, "ru", time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)); len(errs) != 1 {
		t.Errorf("14 the day before: %v", errs)
	}
	if errs := ValidateAt(f, map[string]string{"b": "29.02.2012"}, "ru", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)); len(errs) != 0 {
		t.Errorf("not 14 on 1 March: %v", errs)
	}
}

// The fuzz targets are run with a short minimisation, e.g.
//
//	go test ./portal/catalog -run X -fuzz FuzzLoad -fuzztime 30s -fuzzminimizetime 1s
//
// With the default of 60 s per new input a worker spends most of a short
// run minimising and reports no executions.

// FuzzValidate: no input panics, every message names its field's label
// and a field that passes once passes again (no state).
func FuzzValidate(f *testing.F) {
	for _, v := range validValues() {
		f.Add("snils", v)
	}
	f.Add("birthdate", "29.02.2000")
	f.Add("count", "1e308")
	f.Add("phone", "+7 (912)) 345")
	f.Fuzz(func(t *testing.T, field, value string) {
		v := validValues()
		v[field] = value
		for _, lang := range []string{"ru", "en"} {
			errs := ValidateAt(testForm, v, lang, today)
			for name, msg := range errs {
				var label string
				for _, fd := range testForm.Fields {
					if fd.Name == name {
						label = fd.Label.In(lang)
					}
				}
				if label == "" || !strings.Contains(msg, label) {
					t.Fatalf("message %q for %s does not name %q", msg, name, label)
				}
			}
			if len(errs) > 1 || (len(errs) == 1 && errs[field] == "") {
				t.Fatalf("%s=%q failed other fields: %v", field, value, errs)
			}
		}
	})
}

// FuzzLoad: no file panics the loader, and what loads is valid and
// survives Marshal and Load unchanged.
func FuzzLoad(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, slowly
	// for a whole default file.
	defs, err := Defaults()
	if err != nil {
		f.Fatal(err)
	}
	for _, id := range []string{"traffic-fines", "tax-debts"} {
		for _, d := range defs {
			if d.ID == id {
				data, err := Marshal([]Service{d})
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	f.Add([]byte("services:\n- id: x\n  form: {fields: [{name: a, rules: {pattern: '('}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		svcs, err := Load([]File{{Name: "f.yaml", Data: data}})
		if err != nil {
			return
		}
		for _, s := range svcs {
			if p := s.Check(); len(p) > 0 {
				t.Fatalf("loaded an invalid service: %v", p)
			}
		}
		out, err := Marshal(svcs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load([]File{{Name: "again.yaml", Data: out}}); err != nil {
			t.Fatalf("marshalled services do not load: %v", err)
		}
	})
}
