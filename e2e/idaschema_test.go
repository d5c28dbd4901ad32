package e2e

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// idaSchemas validates against the OpenID Identity Assurance schemas that
// idp/oidc's tests use (idp/oidc/testdata/oidc-ida), their $id URLs mapped
// to those files. e2e imports no module but internal and keys (the import
// graph), hence this copy of idp/oidc/idaschema's few lines.
type idaSchemas struct{ response, request *jsonschema.Schema }

func loadIDASchemas(dir string) (*idaSchemas, error) {
	const base = "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, f := range []string{"verified_claims.json", "verified_claims_request.json", "claims_schema.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(base+f, doc); err != nil {
			return nil, err
		}
	}
	var s idaSchemas
	var err error
	if s.response, err = c.Compile(base + "verified_claims.json"); err == nil {
		s.request, err = c.Compile(base + "verified_claims_request.json")
	}
	return &s, err
}

// Response validates userinfo or ID-token claims; Request a claims
// parameter.
func (s *idaSchemas) Response(doc []byte) error { return validateJSON(s.response, doc) }
func (s *idaSchemas) Request(doc []byte) error  { return validateJSON(s.request, doc) }

func validateJSON(s *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}
