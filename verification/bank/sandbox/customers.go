package sandbox

// Customer is a test customer of the sandbox bank, with the claims it
// vouches for.
type Customer struct {
	// Sub is the customer's stable subject identifier.
	Sub        string
	FamilyName string
	GivenName  string
	MiddleName string // "" when the customer has none
	BirthDate  string // YYYY-MM-DD
	SNILS      string // XXX-XXX-XXX YY
	Passport   *Passport
	INN        string
	Phone      string // E.164
	Email      string
	// Purpose says what the customer is for, in English (the
	// documentation's table repeats it).
	Purpose string
}

// Passport is a customer's passport as the sandbox bank sends it.
type Passport struct {
	Series    string `json:"series"`
	Number    string `json:"number"`
	IssueDate string `json:"issue_date"` // YYYY-MM-DD
}

// Customers returns the sandbox bank's test customers, in the documented
// order. The caller may modify the copy.
func Customers() []Customer {
	return []Customer{{
		Sub:        "sandbox-0001",
		FamilyName: "Иванов", GivenName: "Иван", MiddleName: "Иванович",
		BirthDate: "1985-03-15",
		SNILS:     "112-233-445 95",
		Passport:  &Passport{Series: "4505", Number: "123456", IssueDate: "2005-04-02"},
		INN:       "770412345664",
		Phone:     "+79160000001",
		Email:     "ivanov@example.com",
		Purpose:   "matches the registry simulator's passing identity (key passes)",
	}, {
		Sub:        "sandbox-0002",
		FamilyName: "Сёмина-Петрова", GivenName: "Алёна", MiddleName: "Сергеевна",
		BirthDate: "1993-05-20",
		SNILS:     "112-233-460 94",
		Passport:  &Passport{Series: "4514", Number: "654321", IssueDate: "2014-06-10"},
		INN:       "771434567831",
		Phone:     "+79160000002",
		Email:     "semina-petrova@example.com",
		Purpose:   "«ё» and a hyphenated surname: a name normaliser must match «Семина-Петрова Алена»",
	}, {
		Sub:        "sandbox-0003",
		FamilyName: "Ким", GivenName: "Виктор",
		BirthDate: "1999-03-01",
		SNILS:     "112-233-456 98",
		INN:       "770523456779",
		Phone:     "+79160000003",
		Email:     "kim@example.com",
		Purpose:   "no passport (SNILS only) and no middle name; the simulator's passes-no-middle-name identity",
	}, {
		Sub:        "sandbox-0004",
		FamilyName: "Сидорова", GivenName: "Анна", MiddleName: "Сергеевна",
		BirthDate: "1992-07-23",
		SNILS:     "112-233-447 97",
		Passport:  &Passport{Series: "4612", Number: "345678", IssueDate: "2012-08-01"},
		INN:       "500345678979",
		Phone:     "+79160000004",
		Email:     "sidorova@example.com",
		Purpose:   "mismatch: the birth date differs from the simulator's identity with this SNILS (1992-07-22)",
	}}
}

// Claims returns the customer's claims as the sandbox sends them in the ID
// token and at userinfo (the e2e stand-in bank serves the same).
func (c *Customer) Claims() map[string]any {
	m := map[string]any{
		"sub":                   c.Sub,
		"family_name":           c.FamilyName,
		"given_name":            c.GivenName,
		"birthdate":             c.BirthDate,
		"snils":                 c.SNILS,
		"inn":                   c.INN,
		"phone_number":          c.Phone,
		"phone_number_verified": true,
		"email":                 c.Email,
		"email_verified":        true,
	}
	if c.MiddleName != "" {
		m["middle_name"] = c.MiddleName
	}
	if c.Passport != nil {
		m["passport"] = *c.Passport
	}
	return m
}

// claimNames is every claim the sandbox can send, for discovery.
var claimNames = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
	"family_name", "given_name", "middle_name", "birthdate", "snils", "passport", "inn",
	"phone_number", "phone_number_verified", "email", "email_verified",
}

func customerBySub(sub string) (Customer, bool) {
	for _, c := range Customers() {
		if c.Sub == sub {
			return c, true
		}
	}
	return Customer{}, false
}
