package partner

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Problem is an error answer of the partner API (RFC 9457,
// application/problem+json). Type is a URI under the issuer's
// /partner/v1/problems/; Fields names the request fields at fault
// (invalid input, data that differ from the account's).
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Fields []FieldProblem `json:"fields,omitempty"`
	// retryAfter, in whole seconds, becomes the Retry-After header.
	retryAfter int
}

// Problem types: the last segment of Type.
const (
	ProblemInvalidRequest     = "invalid_request"
	ProblemIdempotencyKey     = "idempotency_key_required"
	ProblemKeyReused          = "idempotency_key_reused"
	ProblemInProgress         = "request_in_progress"
	ProblemUnauthorized       = "unauthorized"
	ProblemForbidden          = "forbidden"
	ProblemAccountNotFound    = "account_not_found"
	ProblemConfirmationAbsent = "confirmation_not_found"
	ProblemMismatch           = "data_mismatch"
	ProblemInsufficient       = "insufficient_data"
	ProblemSNILSTaken         = "snils_taken"
	ProblemPhoneTaken         = "phone_taken"
	ProblemAccountExists      = "account_exists"
	ProblemRateLimited        = "rate_limited"
	ProblemUnavailable        = "temporarily_unavailable"
)

// titles are each problem type's title: Russian, then English.
var titles = map[string]string{
	ProblemInvalidRequest:     "Запрос не прошёл проверку / Invalid request",
	ProblemIdempotencyKey:     "Нужен заголовок Idempotency-Key / Idempotency-Key header required",
	ProblemKeyReused:          "Ключ идемпотентности уже использован с другим запросом / Idempotency key reused with another request",
	ProblemInProgress:         "Запрос с этим ключом ещё выполняется / A request with this key is still in progress",
	ProblemUnauthorized:       "Нужен действующий токен доступа / A valid access token is required",
	ProblemForbidden:          "Нет доступа / Forbidden",
	ProblemAccountNotFound:    "Учётная запись не найдена / Account not found",
	ProblemConfirmationAbsent: "Подтверждение не найдено / Confirmation not found",
	ProblemMismatch:           "Данные не совпадают с учётной записью / Data differ from the account's",
	ProblemInsufficient:       "Недостаточно данных для подтверждения / Not enough data to confirm",
	ProblemSNILSTaken:         "СНИЛС подтверждён в другой учётной записи / SNILS verified on another account",
	ProblemPhoneTaken:         "Телефон принадлежит другой учётной записи / Phone belongs to another account",
	ProblemAccountExists:      "Учётная запись уже есть / Account exists",
	ProblemRateLimited:        "Слишком много запросов / Too many requests",
	ProblemUnavailable:        "Сервис временно недоступен / Service temporarily unavailable",
}

// problem makes a problem of the given type.
func (h *Handler) problem(kind string, status int, detail string) *Problem {
	return &Problem{Type: h.issuer + "/partner/v1/problems/" + kind, Title: titles[kind], Status: status, Detail: detail}
}

// Kind is the last segment of p.Type.
func (p *Problem) Kind() string { return p.Type[strings.LastIndexByte(p.Type, '/')+1:] }

func (p *Problem) body() []byte {
	b, _ := json.Marshal(p) // a struct of strings and ints: Marshal cannot fail
	return b
}

// write sends a problem answer.
func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", itoa(p.retryAfter))
	}
	writeBody(w, p.Status, problemType, p.body())
}

const (
	problemType = "application/problem+json"
	jsonType    = "application/json"
)

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
