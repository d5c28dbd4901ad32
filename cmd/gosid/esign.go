package main

import (
	"context"
	"errors"
	"fmt"
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
	return cert.TrustConfig{TrustDir: o.TrustDir, CRLFiles: o.CRLFiles, CRLTimeout: o.CRLTimeout}.Open(now)
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
	out := cms.Explain(ctx, v, sig, body)
	if asJSON {
		writeJSON(env.stdout, out)
	} else {
		if out.Valid {
			fmt.Fprintln(env.stdout, "signature: valid")
		} else {
			fmt.Fprintf(env.stdout, "signature: REFUSED: %s\n", out.Reason)
		}
		for _, row := range out.Rows() {
			fmt.Fprintf(env.stdout, "%-12s %s\n", row[0], row[1])
		}
		if out.Subject != "" {
			fmt.Fprintf(env.stdout, "%-12s %v\n", "qualified", out.Qualified)
		}
	}
	if !out.Valid {
		return exitFailed
	}
	return exitOK
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
	pemText := cms.PEM(der)
	if out == "" {
		_, _ = env.stdout.Write(pemText)
		return exitOK
	}
	if err := os.WriteFile(out, pemText, 0o644); err != nil {
		return env.fail(exitFailed, err)
	}
	return exitOK
}
