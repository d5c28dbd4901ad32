package bank

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/registration"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Registration through a bank (register.go):
//
//	POST /register/bank  bank=ID: register with the bank's data (Begin(Register));
//	                     without bank: with the bank identity a sign-in found unlinked
//
// The callback (or the unlinked sign-in) keeps the bank's data in a sealed
// flow (the database) and sends the browser to /register, whose steps
// (idp/registration) show the bank's data as confirmed, pre-fill the
// bank's phone, confirm a contact by code and set a password; the new
// account then gets the bank's vouch as evidence through Attach
// (Confirmer.Registered). A SNILS the bank vouches for that another
// account has verified is refused before anything starts.

// Queue queues a registry check of an account's data inside tx
// (check.Service); false when the data are incomplete.
type Queue interface {
	Queue(ctx context.Context, tx *sqldb.Tx, accountID string) (bool, error)
}

const (
	regFlow = "bank_register"
	regTTL  = 30 * time.Minute
)

func (h *Handler) registerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /register/bank", h.startRegister)
}

// RegisterBanks lists the enabled banks that may register accounts
// (registration.Banks).
func (h *Handler) RegisterBanks(ctx context.Context, lang string) ([]registration.Bank, error) {
	banks, err := h.banks.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []registration.Bank
	for _, b := range banks {
		if b.Disabled || !b.MayRegister {
			continue
		}
		out = append(out, registration.Bank{ID: b.ID, Name: b.Name(lang)})
	}
	return out, nil
}

func (h *Handler) startRegister(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("bank") == "" {
		h.registerLinked(w, r)
		return
	}
	if !h.allowed(w, r, "/register") {
		return
	}
	b, err := h.banks.Get(r.Context(), r.PostFormValue("bank"))
	if err == nil && !b.MayRegister {
		err = ErrUnknownBank
	}
	if err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			err = ErrUnknownBank
		}
		h.failFlow(w, r, "", err, "/register")
		return
	}
	to, err := h.conn.Begin(r.Context(), b.ID, Register, "", "", h.binding.Begin(w, r))
	if err != nil {
		h.failFlow(w, r, "", err, "/register")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// registerLinked registers with the bank identity that a sign-in found
// linked to no account (no second trip to the bank).
func (h *Handler) registerLinked(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var p pending
	token, _, err := h.signin.Flows.FromRequest(r, linkFlow, &p)
	if err == nil {
		err = h.signin.Flows.Take(ctx, linkFlow, token, &p)
	}
	h.signin.Flows.Clear(w, linkFlow)
	if err != nil {
		h.render.Render(w, r, http.StatusBadRequest, "signin", h.linkPage(r, "", "expired"))
		return
	}
	b, err := h.banks.Get(ctx, p.Bank)
	if err != nil || b.Disabled || !b.MayRegister {
		h.failFlow(w, r, "", ErrUnknownBank, "/register")
		return
	}
	h.beginRegistration(w, r, b, p)
}

// registerCallback finishes a Register flow.
func (h *Handler) registerCallback(w http.ResponseWriter, r *http.Request, res *Result) {
	if !res.Bank.MayRegister {
		h.failFlow(w, r, "", ErrUnknownBank, "/register")
		return
	}
	h.beginRegistration(w, r, &res.Bank, pending{Bank: res.Bank.ID, Subject: res.Subject, Values: res.Values, Vouched: res.Vouched, At: res.At})
}

// beginRegistration refuses a bank identity already linked and a SNILS
// verified on another account, and otherwise keeps the bank's data for
// /register.
func (h *Handler) beginRegistration(w http.ResponseWriter, r *http.Request, b *Bank, p pending) {
	ctx := r.Context()
	name := b.Name(webui.Lang(r))
	refuse := func(outcome string) {
		v := h.linkPage(r, name, outcome)
		v.Title = v.L.T("bank.register.title")
		h.render.Render(w, r, http.StatusConflict, "signin", v)
	}
	if _, err := h.banks.AccountFor(ctx, b.ID, p.Subject); err == nil {
		refuse("register_linked")
		return
	} else if !errors.Is(err, sqldb.ErrNotFound) {
		h.failFlow(w, r, name, err, "/register")
		return
	}
	if snils := p.Vouched[SNILS]; snils != "" {
		_, err := h.confirmer.Accounts.FindByLogin(ctx, account.SNILS, snils)
		if err == nil {
			refuse("register_snils_taken")
			return
		}
		if !errors.Is(err, sqldb.ErrNotFound) {
			h.failFlow(w, r, name, err, "/register")
			return
		}
	}
	if len(p.Vouched) == 0 || p.Vouched[FamilyName] == "" || p.Vouched[GivenName] == "" {
		// Nothing to pre-fill as confirmed: an ordinary registration.
		refuse("register_too_little")
		return
	}
	if err := h.signin.Flows.Begin(w, r, regFlow, p, regTTL); err != nil {
		h.failFlow(w, r, name, err, "/register")
		return
	}
	webui.Redirect(w, r, "/register")
}

// evidence is the bank's data carried into registration
// (registration.Voucher).
type evidence struct{ h *Handler }

// Evidence is what registration through a bank hands to
// idp/registration.
func (h *Handler) Evidence() registration.Voucher { return evidence{h} }

func (e evidence) load(r *http.Request) (pending, bool) {
	var p pending
	if e.h.signin == nil {
		return p, false
	}
	if _, _, err := e.h.signin.Flows.FromRequest(r, regFlow, &p); err != nil {
		return p, false
	}
	return p, true
}

func vouchedName(v map[string]string) account.Name {
	return account.Name{Family: v[FamilyName], Given: v[GivenName], Middle: v[MiddleName]}
}

func (e evidence) Pending(r *http.Request) (account.Name, string, bool) {
	p, ok := e.load(r)
	if !ok {
		return account.Name{}, "", false
	}
	return vouchedName(p.Vouched), p.Vouched[SNILS], true
}

func (e evidence) Vouch(r *http.Request) (registration.Vouch, bool) {
	p, ok := e.load(r)
	if !ok {
		return registration.Vouch{}, false
	}
	l := e.h.render.Localizer(r)
	v := registration.Vouch{By: e.h.bankName(r.Context(), r, p.Bank), Name: vouchedName(p.Vouched),
		Phone: p.Values[Phone], Email: p.Values[Email]}
	for field, form := range map[string]string{FamilyName: "family_name", GivenName: "given_name", MiddleName: "middle_name"} {
		if p.Vouched[field] != "" || field == MiddleName && p.Vouched[FamilyName] != "" {
			// A bank that vouches for the name vouches that there is no
			// patronymic when it sends none.
			v.Fixed = append(v.Fixed, form)
		}
	}
	slices.Sort(v.Fixed)
	show := func(field string, mask func(string) string) {
		if x := p.Vouched[field]; x != "" {
			v.Shown = append(v.Shown, registration.Fact{Label: l.T("bank.field." + field), Value: mask(x)})
		}
	}
	show(BirthDate, ruDate)
	show(SNILS, validate.MaskSNILS)
	if m := maskedPassport(p.Vouched); m != "" {
		v.Shown = append(v.Shown, registration.Fact{Label: l.T("bank.field.passport"), Value: m})
	}
	show(INN, validate.MaskINN)
	return v, true
}

func maskedPassport(v map[string]string) string {
	if v[PassportSeries] == "" || v[PassportNumber] == "" {
		return ""
	}
	return validate.MaskPassportSeries(v[PassportSeries]) + " " + validate.MaskPassportNumber(v[PassportNumber])
}

// Attach records the bank's vouch on the account registration created and
// links the bank identity; the flow is spent whatever happens.
func (e evidence) Attach(ctx context.Context, w http.ResponseWriter, r *http.Request, accountID string) error {
	var p pending
	token, _, err := e.h.signin.Flows.FromRequest(r, regFlow, &p)
	if err == nil {
		err = e.h.signin.Flows.Take(ctx, regFlow, token, &p)
	}
	e.h.signin.Flows.Clear(w, regFlow)
	if err != nil {
		return fmt.Errorf("bank registration: %w", err)
	}
	b, err := e.h.banks.Get(ctx, p.Bank)
	if err != nil {
		return err
	}
	res := &Result{Bank: *b, Purpose: Register, AccountID: accountID, Subject: p.Subject, Values: p.Values, Vouched: p.Vouched, At: p.At}
	reg, err := e.h.confirmer.Registered(ctx, res, httpx.ClientIP(r), e.h.signin.Checks)
	if err != nil {
		return err
	}
	e.h.log.InfoContext(ctx, "registered through a bank", "bank", b.ID, "level", string(reg.Level), "check_queued", reg.Queued)
	return nil
}

// Registered gives a new account (res.AccountID, registered with the
// bank's vouched name) what res's bank vouched for: when names, birth
// date, SNILS and passport are vouched, Confirm's evidence, the level
// confirmed, the documents and the link; otherwise the vouched data as
// evidence that raises no level (the SNILS verified), the documents filled
// in, the link, and a registry check queued if the data allow one — all
// in one transaction. What the bank sent without vouching for it is
// filled in as claims.
func (c *Confirmer) Registered(ctx context.Context, res *Result, ip string, checks Queue) (*Registration, error) {
	a, err := c.Accounts.Get(ctx, res.AccountID)
	if err != nil {
		return nil, err
	}
	if enough(res.Vouched, a) {
		conf, err := c.Confirm(ctx, res, ip)
		if err != nil {
			return nil, err
		}
		if len(conf.Mismatches) > 0 {
			return nil, errors.New("bank registration: the new account differs from the bank's data")
		}
		return &Registration{Level: conf.Level}, nil
	}
	v := res.Vouched
	values := claimValues(v)
	claims := make([]string, 0, len(values))
	for k := range values {
		claims = append(claims, k)
	}
	slices.Sort(claims)
	// What the bank sent without vouching for it goes in as claims, for
	// the registry check to verify like typed data.
	// The SNILS too, vouched or not: Verify verifies a vouched one only
	// after Apply, where the registry check must already see it.
	d := missing(res.Values, a)
	d.SNILS = res.Values[SNILS]
	var queued bool
	out, err := c.Verifier.Verify(ctx, assurance.Verification{
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodBank,
			Verifier: assurance.Verifier{Kind: "bank", ID: res.Bank.ID}, Claims: claims, Values: values,
			Document:   assurance.Document{Type: "bank_vouch", Number: res.Subject, Issuer: res.Bank.NameRU},
			VerifiedAt: res.At},
		SNILS: v[SNILS],
		Apply: func(ctx context.Context, tx *sqldb.Tx) error {
			if !d.empty() || d.SNILS != "" {
				if err := c.Accounts.With(tx).UpdateDocuments(ctx, a.ID, d.Documents); err != nil {
					return err
				}
			}
			if err := c.Banks.Link(ctx, tx, Link{BankID: res.Bank.ID, Subject: res.Subject, AccountID: a.ID}); err != nil {
				return err
			}
			if checks == nil {
				return nil
			}
			var err error
			queued, err = checks.Queue(ctx, tx, a.ID)
			return err
		},
		Actor: audit.Actor{Kind: audit.ActorBank, ID: res.Bank.ID}, IP: ip,
	})
	if err != nil {
		return nil, err
	}
	return &Registration{Level: out.Level, Queued: queued}, nil
}

// Registration is what Registered did: the new account's level, and
// whether a registry check was queued.
type Registration struct {
	Level  assurance.Level
	Queued bool
}
