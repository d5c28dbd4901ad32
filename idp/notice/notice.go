package notice

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/message"
)

// Notifier sends notices.
type Notifier struct {
	Sender Sender
	Log    *slog.Logger
	// Budget bounds how long a request waits for a notice to be taken by
	// the gateway (Account, Contact; 2 s by default): a notice is a side
	// effect of the request, whose failure is only logged, and a slow SMS
	// gateway held every sign-in from a new device for its whole delay.
	Budget Budget
}

// Deliver notifies the owner of a on every verified contact and returns
// what failed, for a job that retries (every contact again: at least
// once).
func (n *Notifier) Deliver(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) error {
	var errs []error
	if a.Phone.Verified() {
		errs = append(errs, n.Sender.Send(ctx, Message{Channel: message.SMS, To: a.Phone.Value, Kind: kind, Lang: lang, Data: data}))
	}
	if a.Email.Verified() {
		errs = append(errs, n.Sender.Send(ctx, Message{Channel: message.Email, To: a.Email.Value, Kind: kind, Lang: lang, Data: data}))
	}
	return errors.Join(errs...)
}

// Account notifies the owner of a on every verified contact.
func (n *Notifier) Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) {
	if a.Phone.Verified() {
		n.send(ctx, Message{Channel: message.SMS, To: a.Phone.Value, Kind: kind, Lang: lang, Data: data})
	}
	if a.Email.Verified() {
		n.send(ctx, Message{Channel: message.Email, To: a.Email.Value, Kind: kind, Lang: lang, Data: data})
	}
}

// Contact notifies one phone or e-mail (kind "phone" or "email").
func (n *Notifier) Contact(ctx context.Context, contactKind, to, kind, lang string, data map[string]string) {
	ch := message.SMS
	if contactKind == account.Email {
		ch = message.Email
	}
	n.send(ctx, Message{Channel: ch, To: to, Kind: kind, Lang: lang, Data: data})
}

func (n *Notifier) send(ctx context.Context, m Message) {
	// The request may end (the browser gets its answer) before a slow
	// gateway answers; the notice must still go out: Budget sends it on a
	// context the request's end does not cancel.
	ctx = context.WithoutCancel(ctx)
	failed := func(err error) {
		if err != nil {
			n.Log.ErrorContext(ctx, "notice not sent", "message", m, "err", err)
		}
	}
	failed(n.Budget.Send(ctx, func(ctx context.Context) error { return n.Sender.Send(ctx, m) }, failed))
}
