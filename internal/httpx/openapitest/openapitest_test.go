package openapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports instead of
// failing the test running it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func exchange(method, target, reqType, reqBody string, status int, respType, respBody string) (*http.Request, []byte, *http.Response, []byte) {
	req := httptest.NewRequest(method, "http://api.example"+target, strings.NewReader(reqBody))
	if reqType != "" {
		req.Header.Set("Content-Type", reqType)
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	if respType != "" {
		resp.Header.Set("Content-Type", respType)
	}
	return req, []byte(reqBody), resp, []byte(respBody)
}

// TestCheck: the check every API test relies on can fail — an answer or a
// request that breaks the document, or a route the document does not
// describe, is reported; one that follows it is not; a request the API
// refuses (422) is judged by its answer only.
func TestCheck(t *testing.T) {
	spec := New(filepath.Join("testdata", "things.yaml"))
	for _, c := range []struct {
		name                             string
		method, target, reqType, reqBody string
		status                           int
		respType, respBody               string
		want                             string // "" follows the document
	}{
		{"a thing", "GET", "/things/abc", "", "", 200, "application/json", `{"id":"abc","n":1}`, ""},
		{"a required field missing", "GET", "/things/abc", "", "", 200, "application/json", `{"id":"abc"}`, "answer does not follow"},
		{"a field of the wrong type", "GET", "/things/abc", "", "", 200, "application/json", `{"id":"abc","n":"one"}`, "answer does not follow"},
		{"a field the document does not have", "GET", "/things/abc", "", "", 200, "application/json", `{"id":"abc","n":1,"secret":"x"}`, "answer does not follow"},
		{"an undocumented status", "GET", "/things/abc", "", "", 500, "application/json", `{}`, "answer does not follow"},
		{"the wrong content type", "GET", "/things/abc", "", "", 404, "text/html", `<p>no</p>`, "answer does not follow"},
		{"a problem", "GET", "/things/abc", "", "", 404, "application/problem+json", `{"title":"no such thing"}`, ""},
		{"a path parameter the document refuses", "GET", "/things/ABC", "", "", 200, "application/json", `{"id":"abc","n":1}`, "request does not follow"},
		{"an undocumented route", "GET", "/widgets/abc", "", "", 200, "application/json", `{}`, "does not follow"},
		{"a body that breaks the document, taken", "POST", "/things", "application/json", `{"n":-1}`, 201, "application/json", `{"id":"abc"}`, "request does not follow"},
		{"a body that breaks the document, refused", "POST", "/things", "application/json", `{"n":-1}`, 422, "application/problem+json", `{"title":"n must be positive"}`, ""},
		{"a good body", "POST", "/things", "application/json", `{"n":2}`, 201, "application/json", `{"id":"abc"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			req, reqBody, resp, body := exchange(c.method, c.target, c.reqType, c.reqBody, c.status, c.respType, c.respBody)
			spec.Check(rec, req, reqBody, resp, body)
			switch {
			case c.want == "" && len(rec.errs) > 0:
				t.Errorf("reported: %q", rec.errs)
			case c.want != "" && !strings.Contains(strings.Join(rec.errs, "\n"), c.want):
				t.Errorf("reported %q, want %q", rec.errs, c.want)
			}
		})
	}
	// A document that cannot be read is reported, not passed.
	rec := &recorder{TB: t}
	req, reqBody, resp, body := exchange("GET", "/things/abc", "", "", 200, "application/json", `{"id":"abc","n":1}`)
	New(filepath.Join("testdata", "missing.yaml")).Check(rec, req, reqBody, resp, body)
	if len(rec.errs) != 1 {
		t.Errorf("a missing document: reported %q", rec.errs)
	}
}

// TestProjectDocuments: the API documents the tests check against load
// and are valid OpenAPI (a broken one would fail every check at once).
func TestProjectDocuments(t *testing.T) {
	for _, doc := range []string{"agency-api.yaml", "partner-api.yaml"} {
		if _, err := New(filepath.Join("..", "..", "..", "docs", doc)).load(); err != nil {
			t.Errorf("docs/%s: %v", doc, err)
		}
	}
}
