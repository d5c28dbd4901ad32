// Package sandbox is the embedded default's agency signing key: in
// development mode every agency of the catalogue signs its result
// documents with it (a detached CMS signature, GOST R 34.10-2012), so that
// the citizen's download and its check by `gosid certs verify` can be
// tried. The key is a published test key (gen.sh made it with OpenSSL's
// GOST engine); production agencies sign with their own.
package sandbox

import (
	_ "embed"
	"time"

	"github.com/gosid/gosid/keys/cms"
)

var (
	//go:embed agency.key
	key []byte
	//go:embed agency.pem
	certificate []byte
	// CA is the sandbox CA's certificate (PEM), the trust list of the
	// check; CRL its (empty) revocation list.
	//go:embed trust/root.pem
	CA []byte
	//go:embed root.crl
	CRL []byte
)

// Sign is a detached CMS signature of content by the sandbox agency.
func Sign(content []byte, now time.Time) ([]byte, error) {
	return cms.SignWithKey(key, certificate, "", content, now)
}
