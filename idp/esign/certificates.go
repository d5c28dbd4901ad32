package esign

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/gost"
)

func (h *Handler) loc(r *http.Request) webui.Localizer { return h.render.NewPage(r, "es.title").L }

// subjectName is how a certificate is named in lists: its common name.
func subjectName(s cert.Subject, c *x509.Certificate) string {
	if s.CommonName != "" {
		return s.CommonName
	}
	return c.Subject.String()
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.String()
}

// algorithmName names the certificate's key algorithm for people.
func algorithmName(c *x509.Certificate) string {
	pub, err := cert.PublicKeyOf(c)
	if err != nil {
		return "—"
	}
	switch k := pub.(type) {
	case *gost.PublicKey:
		return fmt.Sprintf("ГОСТ Р 34.10-2012 (%d бит)", k.Curve.Size*8)
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

func certDetail(c *x509.Certificate) map[string]string {
	return map[string]string{"serial": strings.ToUpper(c.SerialNumber.Text(16)), "issuer": issuerName(c),
		"fingerprint": hex.EncodeToString(Fingerprint(c))[:16]}
}

type certRow struct {
	Fingerprint, Subject, Issuer, Serial, Algorithm, Until, Linked string
	Expired                                                        bool
}

type certsView struct {
	webui.Page
	Rows      []certRow
	Challenge string
	Download  string
}

func (h *Handler) showCertificates(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r, false)
	if !ok {
		return
	}
	h.renderCertificates(w, r, s.AccountID, http.StatusOK, "", "")
}

func (h *Handler) renderCertificates(w http.ResponseWriter, r *http.Request, accountID string, status int, notice, errMsg string) {
	c := challenge{Text: h.newChallenge(), AccountID: accountID}
	if !h.begin(w, r, flowBind, c) {
		return
	}
	p := h.render.NewPage(r, "es.certs.title")
	p.SignedIn, p.Tab = true, "security"
	v := certsView{Page: p, Challenge: c.Text, Download: "/account/certificates/challenge.txt"}
	v.Notice, v.Error = notice, errMsg
	list, err := h.Store.List(r.Context(), accountID)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "list certificates", "err", err)
		v.Error = v.L.T("es.err.internal")
	}
	now := h.Now()
	for _, x := range list {
		v.Rows = append(v.Rows, certRow{Fingerprint: hex.EncodeToString(x.Fingerprint), Subject: x.Subject, Issuer: x.Issuer,
			Serial: x.Serial, Algorithm: x.Algorithm, Until: x.NotAfter.In(h.msk).Format("02.01.2006"),
			Linked: x.LinkedAt.In(h.msk).Format("02.01.2006"), Expired: now.After(x.NotAfter)})
	}
	h.render.Render(w, r, status, "certificates", v)
}

// submitBind binds one more certificate: it must verify like a sign-in,
// and carry the account's verified SNILS or, for an account without one,
// the account's name (bindProof); it then verifies the SNILS.
func (h *Handler) submitBind(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	l := h.loc(r)
	res, c, _, err := h.check(w, r, flowBind, false)
	if errors.Is(err, errUnavailable) {
		h.unavailable(w, r, err)
		return
	}
	if err == nil && c.AccountID != s.AccountID {
		err = errChallenge
	}
	if err == nil && res.Subject.SNILS == "" {
		err = errNoSNILS
	}
	if err != nil {
		h.renderCertificates(w, r, s.AccountID, http.StatusUnprocessableEntity, "", explain(err, l))
		return
	}
	a, err := h.Accounts.Get(ctx, s.AccountID)
	if err == nil {
		err = h.bindProof(ctx, r, a, res)
	}
	switch {
	case errors.Is(err, errSNILSMismatch):
		h.renderCertificates(w, r, s.AccountID, http.StatusConflict, "", l.T("es.err.snils_mismatch"))
		return
	case errors.Is(err, errNameMismatch):
		h.renderCertificates(w, r, s.AccountID, http.StatusConflict, "", l.T("es.err.name_mismatch"))
		return
	case errors.Is(err, errVerifiedElsewhere):
		h.renderCertificates(w, r, s.AccountID, http.StatusConflict, "", l.T("es.err.verified_elsewhere"))
		return
	case h.outage(w, r, err):
		return
	case err != nil:
		h.Log.ErrorContext(ctx, "bind certificate", "err", err)
		h.renderCertificates(w, r, s.AccountID, http.StatusInternalServerError, "", l.T("es.err.internal"))
		return
	}
	// The proof first: the SNILS becomes the account's verified one, so
	// a certificate is never bound to an account that another holds by
	// proof.
	leaf := res.Signer.Certificate
	if err := h.prove(ctx, r, a, res.Subject, leaf); err != nil {
		if errors.Is(err, account.ErrTaken) {
			h.renderCertificates(w, r, s.AccountID, http.StatusConflict, "", l.T("es.err.verified_elsewhere"))
			return
		}
		if h.outage(w, r, err) {
			return
		}
		h.Log.ErrorContext(ctx, "record what the certificate proves", "err", err)
		h.renderCertificates(w, r, s.AccountID, http.StatusInternalServerError, "", l.T("es.err.internal"))
		return
	}
	if err := h.bind(r, a.ID, res.Subject, leaf); err != nil {
		if h.outage(w, r, err) {
			return
		}
		if !errors.Is(err, ErrOtherAccount) {
			h.Log.ErrorContext(ctx, "bind certificate", "err", err)
		}
		h.renderCertificates(w, r, s.AccountID, http.StatusConflict, "", explain(err, l))
		return
	}
	h.renderCertificates(w, r, s.AccountID, http.StatusOK, l.T("es.certs.bound"), "")
}

func (h *Handler) removeCertificate(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r, true)
	if !ok {
		return
	}
	fp, err := hex.DecodeString(r.PostFormValue("fingerprint"))
	if err == nil {
		err = h.change(r, s.AccountID, func(st *Store) (string, map[string]string, error) {
			if err := st.Remove(r.Context(), s.AccountID, fp); err != nil {
				return "", nil, err
			}
			return audit.ActionCertificateRemoved, map[string]string{"fingerprint": hex.EncodeToString(fp)[:16]}, nil
		})
	} else {
		err = sqldb.ErrNotFound // not a fingerprint: bound to nothing
	}
	l := h.loc(r)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		h.renderCertificates(w, r, s.AccountID, http.StatusNotFound, "", l.T("es.err.not_bound"))
		return
	case h.outage(w, r, err):
		return
	case err != nil:
		// Nothing removed: the store, or the activity log, failed.
		h.Log.ErrorContext(r.Context(), "remove certificate", "err", err)
		h.renderCertificates(w, r, s.AccountID, http.StatusInternalServerError, "", l.T("es.err.internal"))
		return
	}
	h.renderCertificates(w, r, s.AccountID, http.StatusOK, l.T("es.certs.removed"), "")
}

// signedIn returns the session of the certificates page; without one the
// browser goes to sign in first. A change (a binding or a removal) needs a
// recently authenticated session (Deps.Reauth): a stolen session must
// neither bind a certificate, a lasting way in, nor remove the owner's. A
// stale one changes nothing, not even the challenge, and goes to
// re-authenticate, then back to the list.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, change bool) (*session.Session, bool) {
	s, err := h.Sessions.Current(r)
	if err != nil {
		if !session.Gone(err) {
			// Not read, so not signed out: 503, the citizen tries again.
			h.unavailable(w, r, err)
			return nil, false
		}
		http.Redirect(w, r, "/login?next=/account/certificates", http.StatusFound)
		return nil, false
	}
	if !change {
		return s, true
	}
	rule := h.Reauth
	if rule.Now == nil {
		rule.Now = h.Now
	}
	return s, rule.Require(w, r, s, "/account/certificates")
}
