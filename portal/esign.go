package portal

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/catalog"
)

// Services that need a qualified e-signature (catalog's signature: true)
// are submitted with a detached CMS signature of the application's
// canonical form instead of a texted code: the citizen downloads the form
// (GET /applications/{id}/document), signs it with their certificate
// (`gosid sign`, or any CryptoPro-compatible tool) and uploads the
// signature (POST /applications/{id}/sign). It is checked exactly as
// e-signature sign-in checks one (the trust list, validity, key usage,
// revocation), and the certificate must be the citizen's: its SNILS the
// account's verified SNILS, its surname the account's. The form and the signature go to
// the agency with the application.

// The kinds of the signed application's files.
const (
	kindDocument    = "application"
	kindApplication = "application-signature"
)

// canonicalForm is what the citizen signs: the application, the service,
// the draft's version and the values, as JSON with sorted keys. A change
// of the draft after the download changes it, and the signature no longer
// matches.
func canonicalForm(a *applications.Application) []byte {
	b, _ := json.Marshal(struct {
		Application string            `json:"application"`
		Service     string            `json:"service"`
		Version     int64             `json:"version"`
		Values      map[string]string `json:"values"`
	}{a.ID, a.ServiceID, a.Version, a.Values})
	return b
}

// signedDocument sends the canonical form to sign (GET
// /applications/{id}/document).
func (h *Handler) signedDocument(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	if a.Status != applications.Draft || !s.Signature {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	sendBytes(w, "application/json", "application-"+a.ID+".json", canonicalForm(a))
}

// normName folds a name for comparison: case, ё/е, hyphens and spaces.
func normName(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "ё", "е"), "Ё", "Е"))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' }), "")
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// signSubmit checks the citizen's signature and submits the draft (POST
// /applications/{id}/sign, multipart: signature).
func (h *Handler) signSubmit(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	if a.Status != applications.Draft || !s.Signature {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	if h.cfg.Signatures == nil {
		h.review(w, r, http.StatusServiceUnavailable, l.T("sign.off"))
		return
	}
	if errs := catalog.ValidateAt(s.Form, a.Values, l.Lang, h.now()); len(errs) > 0 {
		webui.Redirect(w, r, "/applications/"+a.ID)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	f, _, err := r.FormFile("signature")
	if err != nil {
		h.review(w, r, http.StatusUnprocessableEntity, l.T("sign.choose"))
		return
	}
	defer f.Close()
	sig, err := io.ReadAll(io.LimitReader(f, 128<<10))
	if err != nil {
		h.review(w, r, http.StatusUnprocessableEntity, l.T("sign.choose"))
		return
	}
	doc := canonicalForm(a)
	res, err := h.cfg.Signatures(r.Context(), sig, doc)
	p := session(r).Profile
	switch {
	case err != nil:
		h.log.InfoContext(r.Context(), "application signature refused", "reason", err.Error())
		h.review(w, r, http.StatusUnprocessableEntity, l.T("sign.invalid"))
		return
	// Only a SNILS Gosid verified ties a certificate to the account: one
	// merely typed would let an account claiming someone's SNILS submit
	// in their name with their signature.
	case !p.IsVerified("snils") || digitsOf(p.SNILS) == "" || res.Subject.SNILS != digitsOf(p.SNILS) ||
		normName(res.Subject.FamilyName) != normName(p.FamilyName):
		h.review(w, r, http.StatusUnprocessableEntity, l.T("sign.not_yours"))
		return
	}
	_, err = h.apps.Submit(r.Context(), session(r).Subject, a.ID, a.Version, s.Days)
	if errors.Is(err, applications.ErrTransition) || errors.Is(err, applications.ErrConflict) {
		webui.Redirect(w, r, "/applications/"+a.ID)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, f := range []struct {
		kind, name, ctype string
		data              []byte
	}{{kindDocument, "application.json", "application/json", doc}, {kindApplication, "application.json.sig", signatureType, sig}} {
		if _, err := h.storeFile(r.Context(), a.ID, f.kind, f.name, f.ctype, f.data); err != nil {
			h.log.ErrorContext(r.Context(), "signed application's file not kept", "err", err)
		}
	}
	webui.Redirect(w, r, "/applications/"+a.ID+"?submitted=1")
}
