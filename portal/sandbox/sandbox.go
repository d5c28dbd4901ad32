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
