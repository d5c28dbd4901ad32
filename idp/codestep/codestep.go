package codestep

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

// Step issues and checks codes.
type Step struct {
	OTP    *otp.Service
	Sender notice.Sender
	Log    *slog.Logger
	// TTL is the codes' lifetime, shown in the message.
	TTL time.Duration
	// Budget bounds how long Issue waits for the gateway (2 s by
	// default): past it the page answers "code sent" and the send goes on
	// in the background; a send that then fails is logged, and the
	// citizen asks for another code after the cool-down, as when an SMS
	// is lost on the way. A slow gateway held every page that sends a
	// code for its whole delay before. A gateway that refuses within the
	// budget is ErrNotSent, and the citizen may ask again at once.
	Budget notice.Budget
}

// Send describes one code to issue.
type Send struct {
	Purpose string // otp purpose: "register", "recover", "contact"
	Channel message.Channel
	To      string // E.164 phone or e-mail; the otp destination
	IP      string
	Lang    string
	// Kind is the message template with the code (notice.KindCode…).
	// Empty: issue the challenge but send nothing (the destination belongs
	// to no account, and saying so would reveal it).
	Kind string
	// Instead, when set, is sent in place of the code: a notice without a
	// code (someone tried to register a contact that has an account).
	Instead string
}

// Issue creates the challenge and sends what s says. The returned error
// is one of otp's (cool-down, daily cap) or a sending failure.
func (st *Step) Issue(ctx context.Context, s Send) (challengeID string, err error) {
	id, err := st.OTP.NewID()
	if err != nil {
		return "", err
	}
	if err := st.IssueAs(ctx, id, s); err != nil {
		return "", err
	}
	return id, nil
}

// IssueAs is Issue with the challenge id chosen by the caller
// (otp.Service.NewID), which a flow keeps before the code is issued.
func (st *Step) IssueAs(ctx context.Context, id string, s Send) error {
	ch, err := st.OTP.IssueAs(ctx, id, s.Purpose, s.To, s.IP)
	if err != nil {
		return err
	}
	m := notice.Message{Channel: s.Channel, To: s.To, Lang: s.Lang}
	switch {
	case s.Instead != "":
		m.Kind = s.Instead
	case s.Kind != "":
		m.Kind = s.Kind
		m.Data = map[string]string{"code": ch.Code, "minutes": strconv.Itoa(int(st.TTL.Minutes()))}
	default:
		return nil
	}
	if err := st.send(ctx, m); err != nil {
		st.Log.ErrorContext(ctx, "send code", "message", m, "err", err)
		// The refused code replaced the earlier one: no cool-down stands
		// between the citizen and a code that reaches them.
		if err := st.OTP.Release(ctx, id); err != nil {
			st.Log.WarnContext(ctx, "release the cool-down of a code not sent", "err", err)
		}
		return ErrNotSent
	}
	return nil
}

// IssueFor issues a code for s into a flow that names its challenge
// before the code exists: name keeps id in the flow and returns how to name
// the earlier challenge again. A flow that cannot be saved (name's error)
// costs the citizen neither a code nor a cool-down, and a code refused
// before it was stored (cool-down, cap, a store's failure) leaves the
// earlier one named. A cool-down refuses before name is called.
func (st *Step) IssueFor(ctx context.Context, s Send, name func(id string) (undo func(), err error)) error {
	if err := st.OTP.Ready(ctx, s.Purpose, s.To); err != nil {
		return err
	}
	id, err := st.OTP.NewID()
	if err != nil {
		return err
	}
	undo, err := name(id)
	if err != nil {
		return err
	}
	if err := st.IssueAs(ctx, id, s); err != nil {
		// A code the gateway did not take was stored: it replaced the
		// earlier one, which stays dead; its cool-down was released, so
		// the citizen asks for another at once.
		if !errors.Is(err, ErrNotSent) {
			undo()
		}
		return err
	}
	return nil
}

// FlowSaver saves a flow's state (flow.Store).
type FlowSaver interface {
	Save(ctx context.Context, kind, token string, version int, data any) (int, error)
}

// IssueInto issues a code for s into the flow (kind, token, loaded at
// version) whose state data keeps the code's challenge at *challenge: the
// flow names the new challenge first (IssueFor), and is saved naming the
// earlier one again when the code is refused.
func (st *Step) IssueInto(ctx context.Context, s Send, flows FlowSaver, kind, token string, version int, data any, challenge *string) error {
	return st.IssueFor(ctx, s, func(id string) (func(), error) {
		old := *challenge
		*challenge = id
		saved, err := flows.Save(ctx, kind, token, version, data)
		if err != nil {
			*challenge = old
			return nil, err
		}
		return func() {
			*challenge = old
			if _, err := flows.Save(ctx, kind, token, saved, data); err != nil {
				st.Log.WarnContext(ctx, "name the earlier code again", "kind", kind, "err", err)
			}
		}, nil
	})
}

// Refusal is the status of a page that shows an Issue error (Explain):
// 429 for a refusal (a cool-down, a cap, a gateway that did not take the
// message); else a store did not answer: the error is logged and the page
// is 503, with an overload's Retry-After.
func (st *Step) Refusal(ctx context.Context, w http.ResponseWriter, err error) int {
	if Judged(err) {
		return http.StatusTooManyRequests
	}
	st.Log.ErrorContext(ctx, "issue code", "err", err)
	webui.Overloaded(w, err)
	return http.StatusServiceUnavailable
}

// send hands m to the sender within the budget (Budget.Send).
func (st *Step) send(ctx context.Context, m notice.Message) error {
	return st.Budget.Send(ctx, func(ctx context.Context) error { return st.Sender.Send(ctx, m) }, func(err error) {
		if err != nil {
			st.Log.ErrorContext(context.WithoutCancel(ctx), "send code (after its page was answered)", "message", m, "err", err)
		}
	})
}

// ErrNotSent: the gateway refused or failed.
var ErrNotSent = errors.New("code not sent")

// Check verifies a typed code.
func (st *Step) Check(ctx context.Context, challengeID, purpose, to, code string) error {
	return st.OTP.Verify(ctx, challengeID, purpose, to, code)
}

// ErrFormat: what was typed is not six digits; no attempt is used up.
var ErrFormat = errors.New("code: not six digits")

// CheckForm reads the "code" field of the submitted form and checks it:
// ErrFormat for a typo, else Check's answer. Explain turns the error into
// the field's message.
func (st *Step) CheckForm(r *http.Request, challengeID, purpose, to string) error {
	code := strings.TrimSpace(r.PostFormValue("code"))
	if !ValidCode(code) {
		return ErrFormat
	}
	return st.Check(r.Context(), challengeID, purpose, to, code)
}

// Catalog holds the step's texts.
var Catalog = webui.Catalog{
	"code.err.wrong":    {"Неверный код. Осталось попыток: %d", "Wrong code. Attempts left: %d"},
	"code.err.dead":     {"Код больше не действует: слишком много неверных попыток. Запросите новый код.", "This code no longer works: too many wrong attempts. Request a new code."},
	"code.err.expired":  {"Срок действия кода истёк. Запросите новый код.", "The code has expired. Request a new code."},
	"code.err.gone":     {"Код больше не действует. Запросите новый код.", "This code no longer works. Request a new code."},
	"code.err.format":   {"Код: введите 6 цифр из сообщения", "Code: enter the 6 digits from the message"},
	"code.err.soon":     {"Новый код можно запросить через %d сек.", "You can request a new code in %d s."},
	"code.err.cap":      {"Превышено число кодов на сегодня. Попробуйте завтра.", "Too many codes today. Please try again tomorrow."},
	"code.err.not_sent": {"Не удалось отправить код. Запросите код ещё раз.", "The code could not be sent. Please request it again."},
	"code.err.internal": {"Что-то пошло не так. Попробуйте ещё раз.", "Something went wrong. Please try again."},
}

// Explain turns an Issue or Check error into a message for the citizen.
func Explain(err error, l webui.Localizer) string {
	var wrong *otp.ErrWrongCode
	var soon *otp.ErrResendTooSoon
	switch {
	case errors.As(err, &wrong):
		if wrong.AttemptsLeft == 0 {
			return l.T("code.err.dead")
		}
		return l.T("code.err.wrong", wrong.AttemptsLeft)
	case errors.Is(err, otp.ErrTooManyAttempts):
		return l.T("code.err.dead")
	case errors.Is(err, otp.ErrExpired):
		return l.T("code.err.expired")
	case errors.Is(err, otp.ErrNotFound):
		return l.T("code.err.gone")
	case errors.As(err, &soon):
		return l.T("code.err.soon", int(soon.RetryAfter.Round(time.Second)/time.Second))
	case errors.Is(err, otp.ErrDailyCap):
		return l.T("code.err.cap")
	case errors.Is(err, ErrNotSent):
		return l.T("code.err.not_sent")
	case errors.Is(err, ErrFormat):
		return l.T("code.err.format")
	}
	return l.T("code.err.internal")
}

// ValidCode reports whether s looks like a code (6 digits), so that a typo
// like a letter is reported without using up an attempt.
func ValidCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
