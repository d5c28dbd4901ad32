package partner_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// specPath is the partner API's OpenAPI document.
var specPath = filepath.Join("..", "..", "docs", "partner-api.yaml")

var spec = sync.OnceValues(func() (validator.Validator, error) {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, errs[0]
	}
	return v, nil
})

// specMu: the validator is not documented as safe for concurrent use.
var specMu sync.Mutex

// checkSpec validates a request of the test client and its answer
// against docs/partner-api.yaml (pb33f/libopenapi-validator: OpenAPI 3.1,
// JSON Schema 2020-12).
func checkSpec(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	v, err := spec()
	if err != nil {
		t.Errorf("docs/partner-api.yaml: %v", err)
		return
	}
	specMu.Lock()
	defer specMu.Unlock()
	validations.Add(1)
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	// A request the API refuses before looking at it (no token, no key,
	// a malformed body) is deliberately outside the document: only the
	// answer is checked then.
	deliberate := resp.StatusCode == 400 || resp.StatusCode == 401
	if ok, errs := v.ValidateHttpRequest(r); !ok && !deliberate {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message+": "+e.Reason)
		}
		t.Errorf("%s %s: request does not follow the OpenAPI document: %s", req.Method, req.URL.Path, strings.Join(msgs, "; "))
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rs := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Request: r}
	if ok, errs := v.ValidateHttpResponse(r, rs); !ok {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message+": "+e.Reason)
		}
		t.Errorf("%s %s → %d: answer does not follow the OpenAPI document: %s\n%s", req.Method, req.URL.Path, resp.StatusCode, strings.Join(msgs, "; "), body)
	}
}
