package openapitest

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// Spec is one OpenAPI document, loaded and checked once.
type Spec struct {
	path string
	load func() (validator.Validator, error)
	// mu: the validator is not documented as safe for concurrent use.
	mu sync.Mutex
}

// New returns the document at path (read at the first check).
func New(path string) *Spec {
	return &Spec{path: path, load: sync.OnceValues(func() (validator.Validator, error) {
		raw, err := os.ReadFile(path)
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
	})}
}

// Check validates a request (with its body) and its answer. A request the
// API refuses (400, 401, and 422 for a body that breaks the document's
// rules: a fraction of a kopeck, a bad УИН) is deliberately outside the
// document: only the answer is checked then.
func (s *Spec) Check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	v, err := s.load()
	if err != nil {
		t.Errorf("%s: %v", s.path, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	deliberate := resp.StatusCode == 400 || resp.StatusCode == 401 || resp.StatusCode == 422
	if ok, errs := v.ValidateHttpRequest(r); !ok && !deliberate {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message+": "+e.Reason)
		}
		t.Errorf("%s %s: request does not follow %s: %s", req.Method, req.URL.Path, s.path, strings.Join(msgs, "; "))
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rs := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Request: r}
	if ok, errs := v.ValidateHttpResponse(r, rs); !ok {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message+": "+e.Reason)
		}
		t.Errorf("%s %s → %d: answer does not follow %s: %s\n%s", req.Method, req.URL.Path, resp.StatusCode, s.path, strings.Join(msgs, "; "), body)
	}
}
