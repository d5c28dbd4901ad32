package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
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

func (o *esignOptions) register(s *cmdline.Set) {
	s.String(&o.TrustDir, "trust-dir", "", "Folder of accredited CA certificates (PEM or DER) for e-signature sign-in; reloaded on SIGHUP. Empty: e-signature sign-in is off.")
	s.StringList(&o.CRLFiles, "crl-file", nil, "CRL files (PEM or DER) to use before fetching distribution points; repeatable.")
	s.Duration(&o.CRLTimeout, "crl-fetch-timeout", 10*time.Second, "Timeout for fetching a CRL from a certificate's distribution point.")
}

func (o *esignOptions) check(s *cmdline.Set, p *cmdline.Problems) {
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

func runCerts(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "certs", args, []cmdline.Command{
		{Name: "verify", Synopsis: "check a detached signature exactly as e-signature sign-in does, and show its certificate", Run: runCertsVerify},
	})
}

// runCertsVerify answers support's question "why was my signature refused?".
func runCertsVerify(ctx context.Context, env *cmdline.Env, args []string) int {
	var o esignOptions
	var content, signature string
	var asJSON bool
	s := cmdline.NewSet("gosid certs verify", "Checks a detached CMS signature of a file as e-signature sign-in does: signature, chain to the trust list, validity, key usage, revocation. Exit 0 when valid, 1 with the reason when not.")
	o.register(s)
	s.String(&content, "content", "", "The signed file (the challenge).")
	s.String(&signature, "signature", "", "The detached signature: DER, PEM or Base64.")
	s.Bool(&asJSON, "json", false, "Print JSON.")
	var body, sig []byte
	return env.Run(s, args, func(p *cmdline.Problems) {
		o.check(s, p)
		p.Required(s, "trust-dir", o.TrustDir)
		body = p.ReadFile(s, "content", content, true)
		sig = p.ReadFile(s, "signature", signature, true)
	}, func() error {
		v, _, err := o.verifier(time.Now)
		if err != nil {
			return cmdline.Usage(err)
		}
		out := cms.Explain(ctx, v, sig, body)
		if asJSON {
			cmdline.WriteJSON(env.Stdout, out)
		} else {
			out.WriteText(env.Stdout)
		}
		if !out.Valid {
			return cmdline.ErrReported
		}
		return nil
	})
}

// runSign makes a detached CMS signature with a software key, for tests and
// demonstrations of e-signature sign-in.
func runSign(_ context.Context, env *cmdline.Env, args []string) int {
	var keyFile, certFile, in, out, passwordEnv string
	s := cmdline.NewSet("gosid sign", "Signs a file (e.g. a sign-in challenge) with a software key: a detached CMS signature, PEM, to stdout or --out.")
	s.String(&keyFile, "key", "", "The private key: PEM (PKCS#8, including GOST keys as OpenSSL writes them) or PKCS#12.")
	s.String(&certFile, "cert", "", "The certificate (PEM or DER), with its chain; optional when the key file is PKCS#12 with certificates.")
	s.String(&in, "in", "", "The file to sign.")
	s.String(&out, "out", "", "Where to write the signature (default: stdout).")
	s.String(&passwordEnv, "password-env", "GOSID_KEY_PASSWORD", "Environment variable holding the key file's password, if any.")
	var keyData, certData, body []byte
	return env.Run(s, args, func(p *cmdline.Problems) {
		keyData = p.ReadFile(s, "key", keyFile, true)
		certData = p.ReadFile(s, "cert", certFile, false)
		body = p.ReadFile(s, "in", in, true)
	}, func() error {
		pemText, err := cms.SignWithKey(keyData, certData, env.Getenv(passwordEnv), body, time.Now())
		switch {
		case errors.Is(err, cms.ErrNoCertificate):
			return cmdline.Usage(err)
		case err != nil:
			return err
		case out == "":
			_, err = env.Stdout.Write(pemText)
		default:
			err = os.WriteFile(out, pemText, 0o644)
		}
		return err
	})
}
