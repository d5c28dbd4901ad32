package cms

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
)

// RunSign is `gosid sign`: it makes a detached CMS signature with a software key, for tests and
// demonstrations of e-signature sign-in.
func RunSign(_ context.Context, env *cmdline.Env, args []string) int {
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
		pemText, err := SignWithKey(keyData, certData, env.Getenv(passwordEnv), body, time.Now())
		switch {
		case errors.Is(err, ErrNoCertificate):
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
