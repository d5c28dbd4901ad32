package passkey

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels of the store and the service; check with errors.Is.
var (
	// ErrTooMany: the account has Config.MaxCredentials credentials already.
	ErrTooMany = errors.New("passkey: too many credentials")
	// ErrCounter: the signature counter did not advance (possibly cloned).
	ErrCounter = errors.New("passkey: signature counter did not advance")
	// ErrNoCredentials: the account has no credential to assert with.
	ErrNoCredentials = errors.New("passkey: the account has no credentials")
)

// Error is a refused ceremony step: a stable Code for programs (the JSON
// "error" member), the HTTP status, a message for people in both languages
// and, for the log only, the underlying detail. It never carries the
// citizen's identifiers.
type Error struct {
	Code   string
	Status int
	ru, en string
	// Err is the detail for the log (go-webauthn's error, a store error).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "passkey: " + e.Code + ": " + e.Err.Error()
	}
	return "passkey: " + e.Code
}

func (e *Error) Unwrap() error { return e.Err }

// Message is the text for people in lang ("ru" or "en").
func (e *Error) Message(lang string) string {
	if lang == "en" {
		return e.en
	}
	return e.ru
}

// Is lets errors.Is match an *Error by its Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Refused reports whether the ceremony was judged and refused (a 4xx: a
// wrong, expired or unknown assertion), not left unjudged by a store that
// did not answer (ErrInternal): only a refusal may count toward a
// lock-out.
func (e *Error) Refused() bool { return e.Status < 500 }

// with returns a copy carrying err as the log detail.
func (e *Error) with(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// withf returns a copy with the messages formatted by args.
func (e *Error) withf(args ...any) *Error {
	c := *e
	c.ru, c.en = fmt.Sprintf(e.ru, args...), fmt.Sprintf(e.en, args...)
	return &c
}

func newError(code string, status int, ru, en string) *Error {
	return &Error{Code: code, Status: status, ru: ru, en: en}
}

// The refusals. Every one is a 4xx: whatever a client sends, only a failing
// database makes a 5xx (ErrInternal, 503).
var (
	ErrMalformed = newError("malformed", http.StatusBadRequest,
		"Ответ ключа доступа повреждён или неполон. Попробуйте ещё раз.",
		"The passkey response is malformed or incomplete. Please try again.")
	ErrChallenge = newError("challenge", http.StatusBadRequest,
		"Запрос устарел или уже использован. Попробуйте ещё раз.",
		"This request is no longer valid or was already used. Please try again.")
	ErrExpired = newError("expired", http.StatusBadRequest,
		"Время на подтверждение истекло. Попробуйте ещё раз.",
		"The request has expired. Please try again.")
	ErrOrigin = newError("origin", http.StatusBadRequest,
		"Ключ доступа применён на другом сайте. Откройте Gosid по его адресу и попробуйте снова.",
		"The passkey was used on another site. Open Gosid at its own address and try again.")
	ErrRPID = newError("rp_id", http.StatusBadRequest,
		"Ключ доступа создан для другого сайта.",
		"The passkey belongs to another site.")
	ErrUserVerification = newError("user_verification", http.StatusBadRequest,
		"Ключ доступа не подтвердил, что это вы (отпечаток пальца, лицо или PIN-код). Попробуйте ещё раз.",
		"The authenticator did not verify that it is you (fingerprint, face or PIN). Please try again.")
	ErrVerification = newError("verification", http.StatusBadRequest,
		"Не удалось проверить ключ доступа. Попробуйте ещё раз.",
		"The passkey could not be verified. Please try again.")
	ErrUnknownCredential = newError("unknown_credential", http.StatusBadRequest,
		"Этот ключ доступа не зарегистрирован в Gosid. Войдите по паролю и добавьте ключ в личном кабинете.",
		"This passkey is not registered with Gosid. Sign in with your password and add it in your account.")
	ErrCloned = newError("cloned", http.StatusBadRequest,
		"Этот ключ доступа заблокирован: возможно, он скопирован. Удалите его в личном кабинете и добавьте ключ заново.",
		"This passkey is blocked: it may have been cloned. Remove it in your account and add it again.")
	ErrDuplicate = newError("duplicate", http.StatusBadRequest,
		"Этот ключ доступа уже зарегистрирован.",
		"This passkey is already registered.")
	ErrLimit = newError("too_many", http.StatusBadRequest,
		"Можно зарегистрировать не более %d ключей доступа. Удалите ненужный ключ.",
		"At most %d passkeys can be registered. Remove one you no longer use.")
	ErrNone = newError("no_credentials", http.StatusBadRequest,
		"У вас нет зарегистрированных ключей доступа.",
		"You have no registered passkeys.")
	ErrBlocked = newError("blocked", http.StatusForbidden,
		"Учётная запись заблокирована. Обратитесь в службу поддержки.",
		"This account is blocked. Please contact support.")
	ErrSignedOut = newError("signed_out", http.StatusUnauthorized,
		"Войдите в Gosid, чтобы продолжить.",
		"Sign in to Gosid to continue.")
	ErrReauth = newError("reauth", http.StatusUnauthorized,
		"Чтобы изменить ключи доступа, подтвердите вход ещё раз.",
		"To change your passkeys, please confirm your sign-in again.")
	ErrRateLimited = newError("rate_limited", http.StatusTooManyRequests,
		"Слишком много попыток. Повторите через несколько минут.",
		"Too many attempts. Please try again in a few minutes.")
	ErrUnavailable = newError("unavailable", http.StatusNotFound,
		"Ключи доступа недоступны по этому адресу Gosid.",
		"Passkeys are not available at this address of Gosid.")
	// ErrInternal: a store did not answer; nothing was judged (503 with
	// Retry-After).
	ErrInternal = newError("internal", http.StatusServiceUnavailable,
		"Сервис временно недоступен. Попробуйте ещё раз через минуту.",
		"The service is temporarily unavailable. Please try again in a minute.")
)
