package catalog

import (
	"reflect"
	"strings"
	"testing"
)

// The embedded defaults are about thirty real services, every one valid.
func TestDefaults(t *testing.T) {
	svcs, err := Defaults()
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if len(svcs) < 30 {
		t.Fatalf("%d default services, want about 30", len(svcs))
	}
	for _, want := range []string{"passport-14", "passport-20", "foreign-passport", "driving-licence", "no-criminal-record",
		"income-statement", "egrn-extract", "tax-deduction", "residence-registration", "pension-old-age", "child-benefit",
		"marriage-registration", "birth-registration", "vehicle-registration", "oms-policy"} {
		found := false
		for _, s := range svcs {
			found = found || s.ID == want
		}
		if !found {
			t.Errorf("default service %s missing", want)
		}
	}
}

// A file with problems is refused with every problem at once, each naming
// the file, the service and the field.
func TestLoadProblems(t *testing.T) {
	good := DefaultFiles()[0]
	bad := File{Name: "services/passport.yaml", Data: []byte(`services:
- id: passport-20
  title: {ru: Паспорт, en: Passport}
  description: {ru: Замена паспорта}
  agency: {code: mvd, name: {ru: МВД}, ogrn: "1037700029621"}
  category: passports
  kind: application
  level: confirmed
  regions: ["77", "777"]
  form:
    fields:
    - {name: a, label: {ru: А}, kind: text}
    - {name: b, label: {ru: Б}, kind: select}
    - {name: a, label: {ru: В}, kind: number, rules: {min: 5, max: 1}}
    - {name: d, label: {ru: Г}, kind: text, prefill: salary, rules: {pattern: "([a-z"}}
  documents:
  - {kind: scan, title: {ru: Скан}, formats: [pdf, gif], max_size: 6000000}
  processing_days: 10
  fee: -1
- id: Bad_Id
  title: {ru: X}
  description: {ru: Y}
  agency: {code: mvd, name: {ru: МВД}, ogrn: "1047707030513"}
  category: nowhere
  kind: visit
  level: gold
  processing_days: 1
  fee: 0
`)}
	_, err := Load([]File{good, bad})
	if err == nil {
		t.Fatal("a broken file loaded")
	}
	got := err.Error()
	for _, want := range []string{
		"services/passport.yaml: passport-20: form.fields[3].rules.pattern: invalid regexp",
		"services/passport.yaml: passport-20: form.fields[3].prefill: unknown profile field \"salary\"",
		"services/passport.yaml: passport-20: regions[1]: \"777\" is not a two-digit region code",
		"services/passport.yaml: passport-20: form.fields[1].options: a select field needs options",
		"services/passport.yaml: passport-20: form.fields[2].name: field \"a\" given twice",
		"services/passport.yaml: passport-20: form.fields[2].rules.max: smaller than min",
		"services/passport.yaml: passport-20: documents[0].formats[1]: \"gif\"",
		"services/passport.yaml: passport-20: documents[0].max_size: must be 1 to",
		"services/passport.yaml: passport-20: fee: must not be negative",
		"services/passport.yaml: Bad_Id: id: \"Bad_Id\" is not a slug",
		"services/passport.yaml: Bad_Id: category: unknown category \"nowhere\"",
		"services/passport.yaml: Bad_Id: kind: unknown kind \"visit\"",
		"services/passport.yaml: Bad_Id: level: unknown level \"gold\"",
		"services/passport.yaml: passport-20: agency.ogrn: \"1037700029621\" is not an OGRN",
		"services/passport.yaml: Bad_Id: agency.ogrn: mvd is given OGRN 1037700029621 elsewhere",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
}

// Decoding is strict: unknown keys, wrong types, a second document and a
// service defined twice are refused, naming the file and the line.
func TestLoadStrict(t *testing.T) {
	svc := "- id: x1\n  title: {ru: X}\n  description: {ru: Y}\n  agency: {code: mvd, name: {ru: МВД}}\n  category: taxes\n  kind: payment\n  level: simplified\n  processing_days: 0\n  fee: 0\n"
	for _, c := range []struct{ name, data, want string }{
		{"unknown key", "services:\n" + svc + "  titel: {ru: Z}\n", "f.yaml: line 11: field titel not found"},
		{"wrong type", "services:\n" + strings.Replace(svc, "fee: 0", "fee: free", 1), "f.yaml: line 10: cannot unmarshal"},
		{"two documents", "services:\n" + svc + "---\nservices: []\n", "f.yaml: more than one YAML document"},
		{"empty", "", "f.yaml: no services"},
		{"twice", "services:\n" + svc + svc, "f.yaml: x1: id: also defined in f.yaml"},
		{"not yaml", "services: [\n", "f.yaml: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]File{{Name: "f.yaml", Data: []byte(c.data)}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// Marshal's output loads back into the same definitions.
func TestMarshalRoundTrip(t *testing.T) {
	svcs, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(svcs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load([]File{{Name: "all.yaml", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(svcs, back) {
		t.Fatal("definitions changed through Marshal and Load")
	}
}

func TestValidOGRN(t *testing.T) {
	for s, want := range map[string]bool{
		"1047707030513":  true,  // ФНС России
		"1037700029620":  true,  // remainder 10 counts as 0
		"1037700029621":  false, // wrong check digit
		"1027700000000":  false, // the sandbox agency's, made up
		"104770703051":   false,
		"10477070305130": false,
		"+047707030513":  false,
		"104770703051x":  false,
		"":               false,
	} {
		if ValidOGRN(s) != want {
			t.Errorf("ValidOGRN(%q) = %v, want %v", s, !want, want)
		}
	}
}
