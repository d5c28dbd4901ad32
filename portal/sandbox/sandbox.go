package sandbox

import (
	_ "embed"
	"time"

	"github.com/gosid/gosid/keys/cert"
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

// OGRN is the sandbox agency's OGRN, as its certificate names it: in
// development mode its signature counts as that of any agency the
// catalogue gives no OGRN.
var OGRN = func() string {
	c, err := cert.ParseCertificates(certificate)
	if err != nil || len(c) == 0 {
		panic("sandbox: the agency certificate does not parse")
	}
	return cert.SubjectOf(c[0]).OGRN
}()

// Sign is a detached CMS signature of content by the sandbox agency.
func Sign(content []byte, now time.Time) ([]byte, error) {
	return cms.SignWithKey(key, certificate, "", content, now)
}
