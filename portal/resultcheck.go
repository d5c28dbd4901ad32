package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/portal/applications"
)

// The citizen's page of an approved application shows the check of the
// result's signature — what `gosid certs verify` tells, in the citizen's
// words — made when the page is shown: the document unchanged since it
// was signed, the certificate's chain to a trusted authority, its validity
// and revocation now, and that it is the deciding agency's (its OGRN). A
// certificate revoked or expired since the result was issued shows as
// such; the citizen does not need a tool of their own to know.

// resultCheckView is that check. Unchecked: it could not be made now
// (storage, the revocation list unavailable; the agency without an OGRN
// in the catalogue); else Valid, or ValidWhenIssued (the certificate has
// expired since the portal checked the signature on taking the result,
// Issued), or Problem says why not.
type resultCheckView struct {
	Valid, ValidWhenIssued, Unchecked bool
	Problem, Issued                   string
	// What the certificate says: its holder, the holder's OGRN, the
	// issuing authority, serial number, validity, and the signing time
	// the signature states (the signer's claim, not a trusted time).
	Holder, OGRN, Issuer, Serial, ValidFrom, ValidTo, SigningTime string
}

// checkResult checks the signature sigID of the result resultID of a.
func (h *Handler) checkResult(r *http.Request, a *applications.Application, resultID, sigID string) *resultCheckView {
	l := webui.Localizer{Lang: webui.Lang(r)}
	v := &resultCheckView{}
	pdf, err := h.attachment(r.Context(), a.ID, resultID)
	var sig []byte
	if err == nil {
		sig, err = h.attachment(r.Context(), a.ID, sigID)
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "read a result to check its signature", "application", a.ID, "err", err)
		v.Unchecked = true
		return v
	}
	res, refused, err := h.judgeResultSignature(r, a, pdf, sig)
	switch {
	case err != nil:
		h.log.ErrorContext(r.Context(), "check a result's signature", "application", a.ID, "err", err)
		v.Unchecked = true
		return v
	case refused != nil && refused.status != http.StatusUnprocessableEntity:
		v.Unchecked = true
		return v
	case refused != nil && errors.Is(refused.cause, cert.ErrExpired):
		// Expired since? The portal keeps a result's signature only
		// after the same check passed (agency API, back-office, or the
		// sandbox's own signing): made while the certificate was valid,
		// it stays valid — what a signature proves does not lapse.
		issued, signer, ok := h.issuedUnder(r, a, sigID, pdf, sig)
		if !ok {
			v.Problem = signatureProblem(l, refused.cause)
			break
		}
		v.ValidWhenIssued, v.Issued = true, moscowTime(issued)
		res = &cms.Result{Signer: signer, Subject: cert.SubjectOf(signer.Certificate)}
	case refused != nil:
		v.Problem = signatureProblem(l, refused.cause)
	default:
		v.Valid = true
	}
	if res != nil {
		c := res.Signer.Certificate
		v.Holder = res.Subject.Organization
		if v.Holder == "" {
			v.Holder = res.Subject.CommonName
		}
		v.OGRN, v.Issuer = res.Subject.OGRN, c.Issuer.CommonName
		v.Serial = fmt.Sprintf("%X", c.SerialNumber)
		v.ValidFrom, v.ValidTo = c.NotBefore.In(moscow).Format("02.01.2006"), c.NotAfter.In(moscow).Format("02.01.2006")
		if !res.Signer.SigningTime.IsZero() {
			v.SigningTime = moscowTime(res.Signer.SigningTime)
		}
	}
	return v
}

// issuedUnder reports when the portal took the signature sigID of a's
// result and its signer, if the signature is of pdf and its certificate was
// valid then: the only failure of today's check being that the
// certificate has expired since.
func (h *Handler) issuedUnder(r *http.Request, a *applications.Application, sigID string, pdf, sig []byte) (time.Time, *cms.Signer, bool) {
	var at int64
	if err := h.db.QueryRow(r.Context(), `SELECT created_at FROM portal_attachments WHERE id = $1 AND application_id = $2`, sigID, a.ID).Scan(&at); err != nil {
		return time.Time{}, nil, false
	}
	sd, err := cms.Parse(sig)
	if err != nil {
		return time.Time{}, nil, false
	}
	signer, err := sd.Verify(pdf)
	if err != nil {
		return time.Time{}, nil, false
	}
	issued := sqldb.Time(at)
	c := signer.Certificate
	if issued.Before(c.NotBefore) || !issued.Before(c.NotAfter) {
		return time.Time{}, nil, false
	}
	return issued, signer, true
}

// signatureProblem is why a result's signature failed its check (cause),
// in the citizen's words.
func signatureProblem(l webui.Localizer, cause error) string {
	switch {
	case errors.Is(cause, cert.ErrExpired):
		return l.Pick("срок действия сертификата подписи истёк.", "the signing certificate has expired.")
	case errors.Is(cause, cert.ErrRevoked):
		return l.Pick("сертификат подписи отозван удостоверяющим центром.", "the certification authority has revoked the signing certificate.")
	case errors.Is(cause, errOtherOGRN):
		return l.Pick("сертификат подписи выдан не ведомству, которое рассмотрело заявление.",
			"the signing certificate is not the agency's that decided the application.")
	}
	return l.Pick("подпись не соответствует документу или сертификат не прошёл проверку.",
		"the signature does not match the document, or the certificate failed the check.")
}

// attachment reads the file fileID of application appID whole (at most
// 64 MB).
func (h *Handler) attachment(ctx context.Context, appID, fileID string) ([]byte, error) {
	_, _, data, err := h.attachmentFile(ctx, appID, fileID)
	return data, err
}

// attachmentFile reads the file fileID of application appID whole (at
// most 64 MB) with its name and content type; sqldb.ErrNotFound when the
// application has no such file.
func (h *Handler) attachmentFile(ctx context.Context, appID, fileID string) (name, ctype string, data []byte, err error) {
	var key string
	err = h.db.QueryRow(ctx, `SELECT name, content_type, blob_key FROM portal_attachments WHERE id = $1 AND application_id = $2`,
		fileID, appID).Scan(&name, &ctype, &key)
	if err != nil {
		return "", "", nil, err
	}
	data, err = h.blobBytes(ctx, key)
	return name, ctype, data, err
}

// blobBytes reads the stored file key whole (at most 64 MB).
func (h *Handler) blobBytes(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := h.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 64<<20))
}
