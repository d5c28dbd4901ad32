package sandbox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// customersJSON is the test customers: one file that the sandbox embeds
// and the e2e stand-in bank (e2e/bankpeer_test.go) reads, so that both
// banks know the same people. Each entry is {sub, purpose, claims}, the
// claims exactly as the ID token and userinfo carry them.
//
//go:embed customers.json
var customersJSON []byte

// Customer is a test customer of the sandbox bank, with the claims it
// vouches for.
type Customer struct {
	// Sub is the customer's stable subject identifier.
	Sub string `json:"sub"`
	// Purpose says what the customer is for, in English (the
	// documentation's table repeats it).
	Purpose string `json:"purpose"`
	// CustomerClaims are in the file's "claims" object.
	CustomerClaims `json:"claims"`
}

// CustomerClaims are the claims the sandbox bank sends for a customer.
type CustomerClaims struct {
	FamilyName    string    `json:"family_name"`
	GivenName     string    `json:"given_name"`
	MiddleName    string    `json:"middle_name,omitempty"` // "" when the customer has none
	BirthDate     string    `json:"birthdate"`             // YYYY-MM-DD
	SNILS         string    `json:"snils"`                 // XXX-XXX-XXX YY
	Passport      *Passport `json:"passport,omitempty"`
	INN           string    `json:"inn"`
	Phone         string    `json:"phone_number"` // E.164
	PhoneVerified bool      `json:"phone_number_verified"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
}

// Passport is a customer's passport as the sandbox bank sends it.
type Passport struct {
	Series    string `json:"series"`
	Number    string `json:"number"`
	IssueDate string `json:"issue_date"` // YYYY-MM-DD
}

var customers = sync.OnceValue(func() []Customer {
	var cs []Customer
	if err := json.Unmarshal(customersJSON, &cs); err != nil {
		// The file is part of the source and tested.
		panic(fmt.Sprintf("sandbox: customers.json: %v", err))
	}
	return cs
})

// Customers returns the sandbox bank's test customers, in the documented
// order. The caller may modify the copy.
func Customers() []Customer {
	cs := customers()
	out := make([]Customer, len(cs))
	for i, c := range cs {
		out[i] = c
		if c.Passport != nil {
			p := *c.Passport
			out[i].Passport = &p
		}
	}
	return out
}

// claims returns the customer's claims with sub, as a JSON object.
func (c *Customer) claims() map[string]any {
	var m map[string]any
	b, err := json.Marshal(c.CustomerClaims)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		panic(fmt.Sprintf("sandbox: claims: %v", err)) // plain strings and bools always marshal
	}
	m["sub"] = c.Sub
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
