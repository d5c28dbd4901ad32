package partner_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/gosid/gosid/internal/httpx/openapitest"
)

// specPath is the partner API's OpenAPI document.
var (
	specPath = filepath.Join("..", "..", "docs", "partner-api.yaml")
	spec     = openapitest.New(specPath)
)

// checkSpec validates a request of the test client and its answer
// against docs/partner-api.yaml.
func checkSpec(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	validations.Add(1)
	spec.Check(t, req, reqBody, resp, body)
}
