package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// esignOptions configure the certificate checks, the same for sign-in and
// for `gosid certs verify`.
type esignOptions struct {
	TrustDir   string
	CRLFiles   []string
	CRLTimeout time.Duration
}

func (o *esignOptions) register(s *config.Set) {
	s.String(&o.TrustDir, "trust-dir", "", "Folder of accredited CA certificates (PEM or DER) for e-signature sign-in; reloaded on SIGHUP. Empty: e-signature sign-in is off.")
	s.StringList(&o.CRLFiles, "crl-file", nil, "CRL files (PEM or DER) to use before fetching distribution points; repeatable.")
	s.Duration(&o.CRLTimeout, "crl-fetch-timeout", 10*time.Second, "Timeout for fetching a CRL from a certificate's distribution point.")
}

func (o *esignOptions) check(s *config.Set, p *config.Problems) {
	if o.TrustDir != "" {
		if st, err := os.Stat(o.TrustDir); err != nil || !st.IsDir() {
			p.Add("%s: %s is not a readable folder", s.Source("trust-dir"), o.TrustDir)
		}
	}
	for _, f := range o.CRLFiles {
		if _, err := os.Stat(f); err != nil {
			p.Add("%s: %s: %v", s.Source("crl-file"), f, errors.Unwrap(err))
		}
	}
	if o.CRLTimeout <= 0 {
		p.Add("%s: must be positive", s.Source("crl-fetch-timeout"))
	}
}

// verifier opens the trust list and the CRLs.
func (o *esignOptions) verifier(now func() time.Time) (*cert.Verifier, *cert.Pool, error) {
	pool, err := cert.OpenTrustDir(o.TrustDir)
	if err != nil {
		return nil, nil, err
	}
	crls := cert.NewCRLStore(&cert.HTTPFetcher{Client: &http.Client{Timeout: o.CRLTimeout}, Timeout: o.CRLTimeout})
	crls.Now = now
	if err := crls.AddFiles(o.CRLFiles...); err != nil {
		return nil, nil, err
	}
	return &cert.Verifier{Roots: pool, CRLs: crls, Now: now}, pool, nil
}

func runCerts(ctx context.Context, env *environment, args []string) int {
	return dispatch(ctx, env, "certs", args, []command{
		{"verify", "check a detached signature exactly as e-signature sign-in does, and show its certificate", runCertsVerify},
	})
}

// runCertsVerify answers support's question "why was my signature refused?".
func runCertsVerify(ctx context.Context, env *environment, args []string) int {
	var o esignOptions
	var content, signature string
	var asJSON bool
	s := config.NewSet("gosid certs verify", "Checks a detached CMS signature of a file as e-signature sign-in does: signature, chain to the trust list, validity, key usage, revocation. Exit 0 when valid, 1 with the reason when not.")
	o.register(s)
	s.String(&content, "content", "", "The signed file (the challenge).")
	s.String(&signature, "signature", "", "The detached signature: DER, PEM or Base64.")
	s.Bool(&asJSON, "json", false, "Print JSON.")
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK
	}
	o.check(s, &p)
	if o.TrustDir == "" {
		p.Add("%s: required", s.Source("trust-dir"))
	}
	var body, sig []byte
	var err error
	if content == "" {
		p.Add("%s: required", s.Source("content"))
	} else if body, err = os.ReadFile(content); err != nil {
		p.Add("%s: %v", s.Source("content"), err)
	}
	if signature == "" {
		p.Add("%s: required", s.Source("signature"))
	} else if sig, err = os.ReadFile(signature); err != nil {
		p.Add("%s: %v", s.Source("signature"), err)
	}
	if !env.report(p) {
		return exitConfig
	}
	v, _, err := o.verifier(time.Now)
	if err != nil {
		return env.fail(exitConfig, err)
	}
	res, err := cms.Check(ctx, v, sig, body)
	out := certReport{Valid: err == nil}
	if err != nil {
		out.Reason = err.Error()
	}
	if res != nil {
		out.fill(res)
	} else if sd, perr := cms.Parse(sig); perr == nil {
		// Show the signer even when the check failed, so support can see
		// which certificate it was.
		if signer, serr := sd.Verify(body); serr == nil {
			out.fill(&cms.Result{Signer: signer, Subject: cert.SubjectOf(signer.Certificate)})
		} else if len(sd.Certificates) > 0 {
			out.fill(&cms.Result{Signer: &cms.Signer{Certificate: sd.Certificates[0]}, Subject: cert.SubjectOf(sd.Certificates[0])})
		}
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		out.print(env)
	}
	if !out.Valid {
		return exitFailed
	}
	return exitOK
}

type certReport struct {
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

func (c *certReport) fill(res *cms.Result) {
	leaf := res.Signer.Certificate
	c.Subject, c.SNILS, c.INN, c.OGRN = leaf.Subject.String(), res.Subject.SNILS, res.Subject.INN, res.Subject.OGRN
	c.Issuer, c.Serial = leaf.Issuer.String(), strings.ToUpper(leaf.SerialNumber.Text(16))
	c.NotBefore, c.NotAfter = leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)
	c.Algorithm = certAlgorithm(leaf.SignatureAlgorithm.String(), res)
	c.Qualified, c.Policies = res.Subject.Qualified, res.Subject.Policies
	if res.Chain != nil {
		for _, x := range res.Chain.Certificates {
			c.Chain = append(c.Chain, x.Subject.String())
		}
	}
	if !res.Signer.SigningTime.IsZero() {
		c.Signed = res.Signer.SigningTime.UTC().Format(time.RFC3339)
	}
}

func certAlgorithm(sigAlg string, res *cms.Result) string {
	if res.Signer.SignatureAlgorithm.Algorithm != nil {
		return res.Signer.SignatureAlgorithm.Algorithm.String()
	}
	return sigAlg
}

func (c *certReport) print(env *environment) {
	if c.Valid {
		fmt.Fprintln(env.stdout, "signature: valid")
	} else {
		fmt.Fprintf(env.stdout, "signature: REFUSED: %s\n", c.Reason)
	}
	for _, row := range [][2]string{{"subject", c.Subject}, {"snils", c.SNILS}, {"inn", c.INN}, {"ogrn", c.OGRN}, {"issuer", c.Issuer},
		{"serial", c.Serial}, {"valid from", c.NotBefore}, {"valid until", c.NotAfter}, {"algorithm", c.Algorithm},
		{"signed at", c.Signed}, {"chain", strings.Join(c.Chain, " → ")}} {
		if row[1] != "" {
			fmt.Fprintf(env.stdout, "%-12s %s\n", row[0], row[1])
		}
	}
	if c.Subject != "" {
		fmt.Fprintf(env.stdout, "%-12s %v\n", "qualified", c.Qualified)
	}
}

// runSign makes a detached CMS signature with a software key, for tests and
// demonstrations of e-signature sign-in.
func runSign(_ context.Context, env *environment, args []string) int {
	var keyFile, certFile, in, out, passwordEnv string
	s := config.NewSet("gosid sign", "Signs a file (e.g. a sign-in challenge) with a software key: a detached CMS signature, PEM, to stdout or --out.")
	s.String(&keyFile, "key", "", "The private key: PEM (PKCS#8, including GOST keys as OpenSSL writes them) or PKCS#12.")
	s.String(&certFile, "cert", "", "The certificate (PEM or DER), with its chain; optional when the key file is PKCS#12 with certificates.")
	s.String(&in, "in", "", "The file to sign.")
	s.String(&out, "out", "", "Where to write the signature (default: stdout).")
	s.String(&passwordEnv, "password-env", "GOSID_KEY_PASSWORD", "Environment variable holding the key file's password, if any.")
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK
	}
	var keyData, certData, body []byte
	var err error
	for _, f := range []struct {
		name, path string
		dst        *[]byte
		required   bool
	}{{"key", keyFile, &keyData, true}, {"cert", certFile, &certData, false}, {"in", in, &body, true}} {
		if f.path == "" {
			if f.required {
				p.Add("%s: required", s.Source(f.name))
			}
			continue
		}
		if *f.dst, err = os.ReadFile(f.path); err != nil {
			p.Add("%s: %v", s.Source(f.name), err)
		}
	}
	if !env.report(p) {
		return exitConfig
	}
	password := ""
	for _, kv := range env.environ {
		if v, ok := strings.CutPrefix(kv, passwordEnv+"="); ok {
			password = v
		}
	}
	signer, certs, err := cms.LoadSigner(keyData, password)
	if err != nil {
		return env.fail(exitFailed, fmt.Errorf("key: %w", err))
	}
	if len(certData) > 0 {
		if certs, err = cert.ParseCertificates(certData); err != nil {
			return env.fail(exitFailed, fmt.Errorf("cert: %w", err))
		}
	}
	if len(certs) == 0 {
		return env.fail(exitConfig, errors.New("no certificate: give --cert"))
	}
	der, err := cms.SignDetached(body, signer, certs[0], certs[1:], time.Now())
	if err != nil {
		return env.fail(exitFailed, err)
	}
	pemText := "-----BEGIN CMS-----\n" + wrap64(der) + "-----END CMS-----\n"
	if out == "" {
		fmt.Fprint(env.stdout, pemText)
		return exitOK
	}
	if err := os.WriteFile(out, []byte(pemText), 0o644); err != nil {
		return env.fail(exitFailed, err)
	}
	return exitOK
}

// wrap64 is base64 in lines of 64 characters, as PEM has it.
func wrap64(der []byte) string {
	b := base64.StdEncoding.EncodeToString(der)
	var sb strings.Builder
	for len(b) > 64 {
		sb.WriteString(b[:64] + "\n")
		b = b[64:]
	}
	sb.WriteString(b + "\n")
	return sb.String()
}
