package idaschema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Base is the URL prefix of the schemas' $id.
const Base = "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/"

var files = []string{"verified_claims.json", "verified_claims_request.json", "claims_schema.json"}

// Schemas are the compiled response and request schemas.
type Schemas struct {
	response, request *jsonschema.Schema
}

// Load compiles the schemas in dir, with formats (date, date-time)
// asserted.
func Load(dir string) (*Schemas, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.AddResource(Base+f, doc); err != nil {
			return nil, err
		}
	}
	var s Schemas
	var err error
	if s.response, err = c.Compile(Base + "verified_claims.json"); err != nil {
		return nil, err
	}
	if s.request, err = c.Compile(Base + "verified_claims_request.json"); err != nil {
		return nil, err
	}
	return &s, nil
}

// Response validates a userinfo answer's or an ID token's claims (a JSON
// object that may hold verified_claims).
func (s *Schemas) Response(doc []byte) error { return validate(s.response, doc) }

// Request validates a claims parameter (a JSON object with id_token and
// userinfo members).
func (s *Schemas) Request(doc []byte) error { return validate(s.request, doc) }

func validate(s *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}
