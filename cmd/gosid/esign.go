package main

import (
	"context"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// esignOptions configure the certificate checks, the same for sign-in and
// for `gosid certs verify`.
type esignOptions = cert.TrustConfig

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
	o.Register(s)
	s.String(&content, "content", "", "The signed file (the challenge).")
	s.String(&signature, "signature", "", "The detached signature: DER, PEM or Base64.")
	s.Bool(&asJSON, "json", false, "Print JSON.")
	var body, sig []byte
	return env.Run(s, args, func(p *cmdline.Problems) {
		o.Check(s, p)
		p.Required(s, "trust-dir", o.TrustDir)
		body = p.ReadFile(s, "content", content, true)
		sig = p.ReadFile(s, "signature", signature, true)
	}, func() error {
		v, _, err := o.Open(time.Now)
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
