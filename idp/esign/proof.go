package esign

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// What a certificate proves. A verified certificate is evidence of its
// holder's SNILS and name: it maps to an account only through a SNILS that
// is already verified (never a claimed one), it makes a SNILS verified
// (dropping other accounts' claims of it, whose owners are told), and, if
// qualified and issued to the account's surname and given name, it
// confirms the account's identity (level confirmed).

// Verifier records what evidence proves (assurance.Service): the SNILS
// verified and other accounts' claims of it dropped, the level raised, and
// their activity-log entries, in one transaction.
type Verifier interface {
	Verify(ctx context.Context, v assurance.Verification) (assurance.Outcome, error)
}

// Notifier tells owners of dropped claims.
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

var (
	errNameMismatch      = errors.New("esign: the certificate names another person")
	errVerifiedElsewhere = errors.New("esign: the SNILS is verified on another account")
	errSNILSMismatch     = errors.New("esign: the certificate's SNILS is not the account's verified SNILS")
)

// namesMatch reports whether the certificate is issued to the account's
// surname and given name (its G attribute holds the given name and the
// patronymic).
func namesMatch(a *account.Account, s cert.Subject) bool {
	given, _, _ := strings.Cut(strings.TrimSpace(s.GivenName), " ")
	return validate.SameName(a.Name.Family, s.FamilyName) && validate.SameName(a.Name.Given, given)
}

// prove records what the certificate leaf with subject s proves about a
// and tells the owners of dropped claims. Only a qualified certificate
// issued to the account's holder confirms the identity.
func (h *Handler) prove(ctx context.Context, r *http.Request, a *account.Account, s cert.Subject, leaf *x509.Certificate) error {
	v := assurance.Verification{SNILS: formatSNILS(s.SNILS), IP: httpx.ClientIP(r),
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodQualifiedESignature,
			Verifier: assurance.Verifier{Kind: "ca", ID: issuerName(leaf)},
			Claims:   []string{"snils"},
			Values:   map[string]string{"snils": formatSNILS(s.SNILS)},
			Document: assurance.Document{Type: "qualified_certificate", Number: strings.ToUpper(leaf.SerialNumber.Text(16)),
				Issuer: issuerName(leaf), IssuedAt: leaf.NotBefore, ValidUntil: leaf.NotAfter},
			VerifiedAt: h.Now()}}
	if namesMatch(a, s) {
		// The account's spelling, which the certificate's matches.
		v.Claims = append(v.Claims, "family_name", "given_name")
		v.Values["family_name"], v.Values["given_name"] = a.Name.Family, a.Name.Given
		if s.Qualified {
			// Only a qualified certificate issued to the account's
			// holder confirms the identity.
			v.Level = assurance.Confirmed
		}
	}
	out, err := h.Verifier.Verify(ctx, v)
	if err != nil {
		return err
	}
	h.tellDropped(ctx, r, out.Dropped)
	return nil
}

// tellDropped notifies the owners of accounts whose claim of a SNILS gave
// way to its holder's proof.
func (h *Handler) tellDropped(ctx context.Context, r *http.Request, ids []string) {
	for _, id := range ids {
		other, err := h.Accounts.Get(ctx, id)
		if err != nil {
			h.Log.ErrorContext(ctx, "account of a dropped SNILS claim", "err", err)
			continue
		}
		h.Notifier.Account(ctx, other, notice.KindNoticeSNILSClaimDropped, other.Lang, nil)
	}
}

// Registration with a certificate's proof. A certificate whose SNILS no
// account has verified leads to registration: the proof waits in a flow
// bound to this browser (sealed, 30 minutes), pre-fills the profile, and
// is attached to the account the registration creates — the SNILS verified
// by the certificate, the certificate bound, the level raised when the
// name typed matches it. Nothing of it travels in a URL or a form field.

const (
	flowRegister = "esign_register"
	registerTTL  = 30 * time.Minute
	registerPath = "/register?from=esign"
)

// pendingProof is the flow's sealed state.
type pendingProof struct {
	SNILS     string `json:"snils"`
	Family    string `json:"family"`
	Given     string `json:"given"`
	Middle    string `json:"middle,omitempty"`
	Qualified bool   `json:"qualified"`
	DER       []byte `json:"der"`
}

func newPendingProof(res *cms.Result) pendingProof {
	p := pendingProof{SNILS: formatSNILS(res.Subject.SNILS), Qualified: res.Subject.Qualified, DER: res.Signer.Certificate.Raw}
	given, middle, _ := strings.Cut(strings.TrimSpace(res.Subject.GivenName), " ")
	if v, err := validate.FamilyName(res.Subject.FamilyName); err == nil {
		p.Family = v
	}
	if v, err := validate.GivenName(given); err == nil {
		p.Given = v
	}
	if v, err := validate.MiddleName(middle); err == nil {
		p.Middle = v
	}
	return p
}

// Pending returns the name and SNILS of the browser's pending proof, for
// registration to pre-fill (registration.Evidence).
func (h *Handler) Pending(r *http.Request) (account.Name, string, bool) {
	var p pendingProof
	if _, _, err := h.Flows.FromRequest(r, flowRegister, &p); err != nil {
		return account.Name{}, "", false
	}
	return account.Name{Family: p.Family, Given: p.Given, Middle: p.Middle}, p.SNILS, true
}

// Attach proves the pending proof on the account registration has just
// created (registration.Evidence). The certificate was verified when the
// proof began, at most registerTTL ago.
func (h *Handler) Attach(ctx context.Context, w http.ResponseWriter, r *http.Request, accountID string) error {
	var p pendingProof
	token, _, err := h.Flows.FromRequest(r, flowRegister, &p)
	if err == nil {
		err = h.Flows.Take(ctx, flowRegister, token, &p)
	}
	h.Flows.Clear(w, flowRegister)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(p.DER)
	if err != nil {
		return err
	}
	a, err := h.Accounts.Get(ctx, accountID)
	if err != nil {
		return err
	}
	// The proof first: when another account has meanwhile had the SNILS
	// verified, nothing is bound here.
	s := cert.SubjectOf(leaf)
	s.Qualified = p.Qualified
	if err := h.prove(ctx, r, a, s, leaf); err != nil {
		return err
	}
	return h.bind(r, a.ID, s, leaf)
}

// bind binds leaf to the account, a new binding with its activity-log
// entry (a known one only has its use recorded).
func (h *Handler) bind(r *http.Request, accountID string, s cert.Subject, leaf *x509.Certificate) error {
	return h.change(r, accountID, func(st *Store) (string, map[string]string, error) {
		created, err := st.Bind(r.Context(), accountID, leaf, subjectName(s, leaf), issuerName(leaf), algorithmName(leaf))
		if err != nil || !created {
			return "", nil, err
		}
		return audit.ActionCertificateLinked, certDetail(leaf), nil
	})
}

// offerRegistration keeps the proof for registration and shows the way
// there.
func (h *Handler) offerRegistration(w http.ResponseWriter, r *http.Request, res *cms.Result) (string, string, bool) {
	p := newPendingProof(res)
	if err := h.Flows.Begin(w, r, flowRegister, p, registerTTL); err != nil {
		h.Log.ErrorContext(r.Context(), "keep the certificate's proof for registration", "err", err)
		return "", "", false
	}
	return registerPath, strings.TrimSpace(p.Family + " " + p.Given), true
}

// bindProof decides whether a certificate may be bound to the signed-in
// account a, and records what it proves. The account's verified SNILS
// must be the certificate's; an account without one must carry the
// certificate's surname and given name, and the certificate then
// verifies its SNILS (unless another account has it verified).
func (h *Handler) bindProof(ctx context.Context, r *http.Request, a *account.Account, res *cms.Result) error {
	snils := formatSNILS(res.Subject.SNILS)
	switch {
	case a.SNILSVerified() && a.SNILS != snils:
		return errSNILSMismatch
	case !a.SNILSVerified() && !namesMatch(a, res.Subject):
		return errNameMismatch
	}
	if other, err := h.Accounts.FindByLogin(ctx, account.SNILS, snils); err == nil && other.ID != a.ID {
		return errVerifiedElsewhere
	} else if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return err
	}
	return nil
}
