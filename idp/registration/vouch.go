package registration

import (
	"context"
	"net/http"
	"slices"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/webui"
)

// vouchCatalog holds the texts of registration through a bank (kept apart
// so that the main catalogue's alignment stays as it was).
var vouchCatalog = webui.Catalog{
	"reg.prefill.bank":         {"Данные из банка «%s»: %s, СНИЛС %s — они подтверждены банком. Подтвердите телефон или почту кодом, чтобы создать учётную запись.", "Data from %s: %s, SNILS %s — confirmed by the bank. Confirm a phone or e-mail by code to create the account."},
	"reg.prefill.bank.nosnils": {"Данные из банка «%s»: %s — они подтверждены банком. Подтвердите телефон или почту кодом, чтобы создать учётную запись.", "Data from %s: %s — confirmed by the bank. Confirm a phone or e-mail by code to create the account."},
	"reg.bank":                 {"Зарегистрироваться через банк", "Register through a bank"},
	"reg.bank.lead":            {"Или зарегистрируйтесь с данными, которые подтвердит ваш банк:", "Or register with data your bank confirms:"},
	"reg.vouched":              {"подтверждено банком «%s»", "confirmed by %s"},
	"reg.vouched.facts":        {"Также подтверждено банком «%s»:", "Also confirmed by %s:"},
}

// Voucher is Evidence whose data an attester (a bank) vouches for: the
// vouched name fields are shown as confirmed and cannot be changed, and
// the attester's phone or e-mail pre-fills the contact step (which the
// citizen still confirms by code).
type Voucher interface {
	Evidence
	Vouch(r *http.Request) (Vouch, bool)
}

// Vouch is what a Voucher shows.
type Vouch struct {
	// By names the attester («Песочница банка»), in the page's language.
	By   string
	Name account.Name
	// Fixed are the profile form's fields the attester vouched for
	// ("family_name", "given_name", "middle_name").
	Fixed        []string
	Phone, Email string
	// Shown are the other vouched data, as the citizen may see them
	// (masked documents).
	Shown []Fact
}

// Fact is one vouched datum shown on the profile step.
type Fact struct{ Label, Value string }

// Bank is a bank offered for registration.
type Bank struct{ ID, Name string }

// Banks lists the banks that may register accounts; verification plugs
// them in (idp.UseBankRegistration).
type Banks interface {
	RegisterBanks(ctx context.Context, lang string) ([]Bank, error)
}

// UseBanks offers «Зарегистрироваться через банк» for b's banks and adds
// e, their data, to the evidence registration carries (before serving).
func (h *Handler) UseBanks(b Banks, e Evidence) {
	h.banks = b
	h.more = append(h.more, e)
}

// sources are every kind of evidence, the e-signature's first.
func (h *Handler) sources() []Evidence {
	var out []Evidence
	if h.Evidence != nil {
		out = append(out, h.Evidence)
	}
	return append(out, h.more...)
}

// current is the browser's pending evidence, if any.
func (h *Handler) current(r *http.Request) (Evidence, account.Name, string, bool) {
	for _, e := range h.sources() {
		if n, snils, ok := e.Pending(r); ok {
			return e, n, snils, true
		}
	}
	return nil, account.Name{}, "", false
}

// vouch is the browser's vouched data, if its evidence is a Voucher.
func (h *Handler) vouch(r *http.Request) (Vouch, bool) {
	e, _, _, ok := h.current(r)
	if !ok {
		return Vouch{}, false
	}
	if v, isV := e.(Voucher); isV {
		return v.Vouch(r)
	}
	return Vouch{}, false
}

func (h *Handler) offeredBanks(r *http.Request) []Bank {
	if h.banks == nil {
		return nil
	}
	bs, err := h.banks.RegisterBanks(r.Context(), webui.Lang(r))
	if err != nil {
		h.Log.ErrorContext(r.Context(), "banks for registration", "err", err)
		return nil
	}
	return bs
}

// fixed reports whether field is vouched (not editable) in v.
func (v Vouch) fixed(field string) bool { return slices.Contains(v.Fixed, field) }

// value is the vouched value of a fixed name field.
func (v Vouch) value(field string) string {
	switch field {
	case "family_name":
		return v.Name.Family
	case "given_name":
		return v.Name.Given
	case "middle_name":
		return v.Name.Middle
	}
	return ""
}
