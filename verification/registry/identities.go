package registry

import "time"

// Identity is a test person of the simulator: what a citizen types. The
// named identities and what each registry answers about them are listed
// in docs/verification.md ("The simulator's test identities").
type Identity struct {
	// Key names the identity's behaviour: "passes", "sfr-birthdate", …
	Key      string
	Person   Person
	SNILS    string // canonical
	Passport Passport
	// INN is what the citizen types for ФНС to confirm; empty asks ФНС
	// to find it.
	INN string
}

// Identities returns the simulator's named test identities, in the
// documented order. The caller may modify the copy.
func Identities() []Identity {
	ids := simIdentities()
	out := make([]Identity, len(ids))
	for i, id := range ids {
		out[i] = id.Identity
	}
	return out
}

// behaviour is how a registry treats an identity's request.
type behaviour int

const (
	// compare: the registry holds a record and compares the request with
	// it (the default).
	compare behaviour = iota
	notFound
	// invalid: the passport is known but reported lost.
	invalid
	// hang: no answer until the caller gives up.
	hang
	// flaky: ErrUnavailable for the first flakyFailures calls of each
	// request ID, then compare.
	flaky
	// becomesInvalid: compare for the first request ID answered, Invalid
	// for every other.
	becomesInvalid
)

// simIdentity is a named identity with what the registries hold and how
// each behaves.
type simIdentity struct {
	Identity
	sfr, mvd, fns behaviour
	// What the registries hold where it differs from what the citizen
	// types.
	sfrBirthDate  time.Time
	mvdFamilyName string
	mvdIssueDate  time.Time
	fnsINN        string
}

func (id *simIdentity) behaviour(source Source) behaviour {
	switch source {
	case SFR:
		return id.sfr
	case MVD:
		return id.mvd
	}
	return id.fns
}

// held is the person as source holds it.
func (id *simIdentity) held(source Source) Person {
	p := id.Person
	switch {
	case source == SFR && !id.sfrBirthDate.IsZero():
		p.BirthDate = id.sfrBirthDate
	case source == MVD && id.mvdFamilyName != "":
		p.FamilyName = id.mvdFamilyName
	}
	return p
}

// issued is the passport's issue date as МВД holds it.
func (id *simIdentity) issued() time.Time {
	if !id.mvdIssueDate.IsZero() {
		return id.mvdIssueDate
	}
	return id.Passport.IssueDate
}

// heldINN is the INN ФНС holds.
func (id *simIdentity) heldINN() string {
	if id.fnsINN != "" {
		return id.fnsINN
	}
	return id.INN
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// simIdentities is the table of named identities. SNILS values pass the
// pension fund's checksum and INNs the tax service's (a test says so);
// none is of the generated family (SNILS 100-…, passport series 4600).
func simIdentities() []*simIdentity {
	passport := func(series, number string, issued time.Time, issuer, division string) Passport {
		return Passport{Series: series, Number: number, IssueDate: issued, Issuer: issuer, DivisionCode: division}
	}
	return []*simIdentity{{
		Identity: Identity{
			Key:      "passes",
			Person:   Person{FamilyName: "Иванов", GivenName: "Иван", MiddleName: "Иванович", BirthDate: date(1985, time.March, 15)},
			SNILS:    "112-233-445 95",
			Passport: passport("4505", "123456", date(2005, time.April, 2), "ОВД района Хамовники г. Москвы", "772-093"),
		},
		fnsINN: "770412345664",
	}, {
		Identity: Identity{
			Key:      "sfr-birthdate",
			Person:   Person{FamilyName: "Петров", GivenName: "Пётр", MiddleName: "Петрович", BirthDate: date(1990, time.February, 1)},
			SNILS:    "112-233-446 96",
			Passport: passport("4010", "234567", date(2010, time.February, 10), "ТП № 12 отдела УФМС России по г. Санкт-Петербургу", "780-012"),
		},
		sfrBirthDate: date(1990, time.January, 2),
		fnsINN:       "780634567801",
	}, {
		Identity: Identity{
			Key:      "mvd-issue-date",
			Person:   Person{FamilyName: "Сидорова", GivenName: "Анна", MiddleName: "Сергеевна", BirthDate: date(1992, time.July, 22)},
			SNILS:    "112-233-447 97",
			Passport: passport("4612", "345678", date(2012, time.August, 1), "ТП УФМС России по Московской обл. в г. Химки", "500-047"),
		},
		mvdIssueDate: date(2012, time.August, 10),
		fnsINN:       "500345678979",
	}, {
		Identity: Identity{
			Key:      "mvd-family-name",
			Person:   Person{FamilyName: "Кузнецова", GivenName: "Ольга", MiddleName: "Андреевна", BirthDate: date(1988, time.November, 9)},
			SNILS:    "112-233-448 98",
			Passport: passport("4508", "456789", date(2008, time.November, 20), "ОВД района Сокольники г. Москвы", "772-112"),
		},
		mvdFamilyName: "Смирнова",
		fnsINN:        "770756789080",
	}, {
		Identity: Identity{
			Key:      "snils-not-found",
			Person:   Person{FamilyName: "Козлов", GivenName: "Дмитрий", MiddleName: "Александрович", BirthDate: date(1979, time.May, 30)},
			SNILS:    "112-233-449 99",
			Passport: passport("6504", "567890", date(2004, time.June, 15), "Отделом УФМС России по Свердловской обл. в г. Екатеринбурге", "660-003"),
		},
		sfr:    notFound,
		fnsINN: "660167890122",
	}, {
		Identity: Identity{
			Key:      "passport-not-found",
			Person:   Person{FamilyName: "Новикова", GivenName: "Елена", MiddleName: "Викторовна", BirthDate: date(1995, time.December, 12)},
			SNILS:    "112-233-450 92",
			Passport: passport("4516", "678901", date(2016, time.January, 11), "ГУ МВД России по г. Москве", "770-010"),
		},
		mvd: notFound,
		fns: notFound,
	}, {
		Identity: Identity{
			Key:      "passport-invalid",
			Person:   Person{FamilyName: "Морозов", GivenName: "Алексей", MiddleName: "Николаевич", BirthDate: date(1975, time.April, 3)},
			SNILS:    "112-233-451 93",
			Passport: passport("5020", "789012", date(2020, time.April, 20), "ГУ МВД России по Новосибирской обл.", "540-001"),
		},
		mvd:    invalid,
		fnsINN: "540989012301",
	}, {
		Identity: Identity{
			Key:      "mvd-timeout",
			Person:   Person{FamilyName: "Волков", GivenName: "Сергей", MiddleName: "Михайлович", BirthDate: date(1983, time.August, 18)},
			SNILS:    "112-233-452 94",
			Passport: passport("4503", "890123", date(2003, time.September, 1), "ОВД района Марьино г. Москвы", "772-061"),
		},
		mvd:    hang,
		fnsINN: "770990123459",
	}, {
		Identity: Identity{
			Key:      "flaky",
			Person:   Person{FamilyName: "Соколова", GivenName: "Мария", MiddleName: "Игоревна", BirthDate: date(1991, time.January, 25)},
			SNILS:    "112-233-453 95",
			Passport: passport("4511", "901234", date(2011, time.February, 3), "ОУФМС России по г. Москве по району Арбат", "770-005"),
		},
		sfr: flaky, mvd: flaky, fns: flaky,
		fnsINN: "771001234511",
	}, {
		Identity: Identity{
			Key:      "becomes-invalid",
			Person:   Person{FamilyName: "Лебедев", GivenName: "Николай", MiddleName: "Павлович", BirthDate: date(1970, time.June, 7)},
			SNILS:    "112-233-454 96",
			Passport: passport("4015", "012345", date(2015, time.June, 20), "ТП № 3 отдела УФМС России по г. Санкт-Петербургу", "780-003"),
		},
		mvd:    becomesInvalid,
		fnsINN: "781112345647",
	}, {
		Identity: Identity{
			Key:      "inn-mismatch",
			Person:   Person{FamilyName: "Егорова", GivenName: "Татьяна", MiddleName: "Олеговна", BirthDate: date(1987, time.October, 14)},
			SNILS:    "112-233-455 97",
			Passport: passport("0507", "112233", date(2007, time.October, 30), "Отделом УФМС России по Приморскому краю в г. Владивостоке", "250-001"),
			INN:      "781112345710",
		},
		fnsINN: "250123456753",
	}, {
		Identity: Identity{
			Key:      "passes-no-middle-name",
			Person:   Person{FamilyName: "Ким", GivenName: "Виктор", BirthDate: date(1999, time.March, 1)},
			SNILS:    "112-233-456 98",
			Passport: passport("4519", "223344", date(2019, time.March, 12), "ГУ МВД России по г. Москве", "770-021"),
			INN:      "770523456779",
		},
	}}
}
