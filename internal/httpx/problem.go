package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an API's error answer, application/problem+json (RFC 9457):
// Type is a URI naming the kind of problem (its last segment is a short
// code clients switch on), Title says it in Russian and English, Fields
// name what is wrong in the request.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Fields []FieldProblem `json:"fields,omitempty"`
	// RetryAfter, in whole seconds, becomes the Retry-After header.
	RetryAfter int `json:"-"`
}

// FieldProblem is one field of the request that is wrong: its name (a
// JSON path, a query parameter or a header) and what is wrong, in Russian
// and English.
type FieldProblem struct {
	Name     string `json:"name"`
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// WriteProblem sends p.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	b, _ := json.Marshal(p) // strings and ints: Marshal cannot fail
	writeBody(w, p.Status, "application/problem+json", b)
}

// WriteJSON sends v as JSON with status, not to be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, &Problem{Type: "about:blank", Title: "Внутренняя ошибка / Internal error", Status: http.StatusInternalServerError})
		return
	}
	writeBody(w, status, "application/json", b)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
