package cms

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosid/gosid/keys/cert"
)

// Report is support's answer to "why was my signature refused?": the
// verdict of Check, the reason, and the signer's certificate — shown even
// when the check failed, so that support sees which certificate it was.
type Report struct {
	Valid     bool     `json:"valid"`
	Reason    string   `json:"reason,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	SNILS     string   `json:"snils,omitempty"`
	INN       string   `json:"inn,omitempty"`
	OGRN      string   `json:"ogrn,omitempty"`
	Issuer    string   `json:"issuer,omitempty"`
	Serial    string   `json:"serial,omitempty"`
	NotBefore string   `json:"not_before,omitempty"`
	NotAfter  string   `json:"not_after,omitempty"`
	Algorithm string   `json:"algorithm,omitempty"`
	Qualified bool     `json:"qualified"`
	Policies  []string `json:"policies,omitempty"`
	Chain     []string `json:"chain,omitempty"`
	Signed    string   `json:"signing_time,omitempty"`
}

// Explain checks signature over content as sign-in does (Check) and
// reports the verdict with the signer's certificate.
func Explain(ctx context.Context, v *cert.Verifier, signature, content []byte) Report {
	res, err := Check(ctx, v, signature, content)
	r := Report{Valid: err == nil}
	if err != nil {
		r.Reason = err.Error()
	}
	if res == nil {
		sd, perr := Parse(signature)
		if perr != nil {
			return r
		}
		if signer, serr := sd.Verify(content); serr == nil {
			res = &Result{Signer: signer, Subject: cert.SubjectOf(signer.Certificate)}
		} else if len(sd.Certificates) > 0 {
			res = &Result{Signer: &Signer{Certificate: sd.Certificates[0]}, Subject: cert.SubjectOf(sd.Certificates[0])}
		} else {
			return r
		}
	}
	leaf := res.Signer.Certificate
	r.Subject, r.SNILS, r.INN, r.OGRN = leaf.Subject.String(), res.Subject.SNILS, res.Subject.INN, res.Subject.OGRN
	r.Issuer, r.Serial = leaf.Issuer.String(), strings.ToUpper(leaf.SerialNumber.Text(16))
	r.NotBefore, r.NotAfter = leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)
	r.Algorithm = leaf.SignatureAlgorithm.String()
	if res.Signer.SignatureAlgorithm.Algorithm != nil {
		r.Algorithm = res.Signer.SignatureAlgorithm.Algorithm.String()
	}
	r.Qualified, r.Policies = res.Subject.Qualified, res.Subject.Policies
	if res.Chain != nil {
		for _, x := range res.Chain.Certificates {
			r.Chain = append(r.Chain, x.Subject.String())
		}
	}
	if !res.Signer.SigningTime.IsZero() {
		r.Signed = res.Signer.SigningTime.UTC().Format(time.RFC3339)
	}
	return r
}

// Rows are the report's fields for a text listing, empty ones left out.
func (r Report) Rows() [][2]string {
	var out [][2]string
	for _, row := range [][2]string{{"subject", r.Subject}, {"snils", r.SNILS}, {"inn", r.INN}, {"ogrn", r.OGRN}, {"issuer", r.Issuer},
		{"serial", r.Serial}, {"valid from", r.NotBefore}, {"valid until", r.NotAfter}, {"algorithm", r.Algorithm},
		{"signed at", r.Signed}, {"chain", strings.Join(r.Chain, " → ")}} {
		if row[1] != "" {
			out = append(out, row)
		}
	}
	return out
}

// WriteText writes the report for people, as `gosid certs verify` prints
// it: the verdict, then one line per field.
func (r Report) WriteText(w io.Writer) {
	if r.Valid {
		fmt.Fprintln(w, "signature: valid")
	} else {
		fmt.Fprintf(w, "signature: REFUSED: %s\n", r.Reason)
	}
	for _, row := range r.Rows() {
		fmt.Fprintf(w, "%-12s %s\n", row[0], row[1])
	}
	if r.Subject != "" {
		fmt.Fprintf(w, "%-12s %v\n", "qualified", r.Qualified)
	}
}

// PEM encodes a DER signature as a PEM block "CMS", as OpenSSL writes one.
func PEM(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}) }
