package login

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Arrivals starts sessions for every way of signing in (password, second
// factor, passkey, certificate, registration, recovery) and does what each
// sign-in must, after the session exists:
//
//   - a pending account deletion is cancelled, and the owner told;
//   - the session takes the account's own idle timeout;
//   - the browser is recognised by a long-lived random cookie; a sign-in
//     from a browser the account has not used before is recorded as
//     "new device" in the sign-in history and, unless the citizen turned it
//     off, the owner is told on every verified contact.
//
// These are best effort: a failure is logged and the sign-in stands. The
// other session methods are the session store's.
type Arrivals struct {
	*session.Store
	Accounts ArrivalAccounts
	Notifier Notifier
	// Activity cancels a pending deletion with its activity-log entry in
	// one transaction: both or neither.
	Activity Activity
	Secure   bool
	Log      *slog.Logger
	Now      func() time.Time
}

// ArrivalAccounts is what Arrivals needs of the account store.
type ArrivalAccounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
	SeenDevice(ctx context.Context, accountID string, deviceHash []byte, userAgent string) (isNew bool, err error)
	AddEvent(ctx context.Context, e account.Event) error
	SetLang(ctx context.Context, id, lang string) error
}

// Activity runs a change of an account and appends the activity-log
// entries it returns in one transaction (account.Activity).
type Activity interface {
	Apply(ctx context.Context, fn func(tx *sqldb.Tx, accounts *account.Store) ([]audit.Entry, error)) error
}

// EventNewDevice is the history entry of a sign-in from a new device.
const EventNewDevice = "new_device"

const (
	browserCookie = "gosid_browser"
	browserTTL    = 2 * 365 * 24 * time.Hour
)

// Start signs the browser in (session.Store.Start) and then does the
// above.
func (a *Arrivals) Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*session.Session, error) {
	sess, err := a.Store.Start(w, r, accountID, amr, ip)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	acc, err := a.Accounts.Get(ctx, accountID)
	if err != nil {
		a.Log.ErrorContext(ctx, "account after sign-in", "err", err)
		return sess, nil
	}
	a.arrived(w, r, sess, acc, ip)
	return sess, nil
}

// StartIn is Start for a sign-in that spends state of its own in the
// session's transaction (session.Store.BeginIn).
func (a *Arrivals) StartIn(w http.ResponseWriter, r *http.Request, acc *account.Account, amr []string, ip string, spend func(tx *sqldb.Tx) error) (*session.Session, error) {
	sess, err := a.Store.BeginIn(w, r, acc.ID, amr, ip, spend)
	if err != nil {
		return nil, err
	}
	a.arrivedIn(w, r, sess, acc, ip)
	return sess, nil
}

// Arrive is Start for a caller that has just read the account (password
// sign-in, the hot path): the account is not read again, and its
// language is written only when the request's differs.
func (a *Arrivals) Arrive(w http.ResponseWriter, r *http.Request, acc *account.Account, amr []string, ip string) (*session.Session, error) {
	sess, err := a.Store.Begin(w, r, acc.ID, amr, ip)
	if err != nil {
		return nil, err
	}
	a.arrivedIn(w, r, sess, acc, ip)
	return sess, nil
}

// arrivedIn is arrived for a session Begin opened (Config.Started not
// told): the account's language follows the request's.
func (a *Arrivals) arrivedIn(w http.ResponseWriter, r *http.Request, sess *session.Session, acc *account.Account, ip string) {
	if lang := webui.Lang(r); lang != acc.Lang {
		// The sign-in stands even when this fails: notices then keep
		// the language before.
		if err := a.Accounts.SetLang(r.Context(), acc.ID, lang); err != nil {
			a.Log.WarnContext(r.Context(), "account language", "err", err)
		}
	}
	a.arrived(w, r, sess, acc, ip)
}

// arrived does what every sign-in must once its session exists.
func (a *Arrivals) arrived(w http.ResponseWriter, r *http.Request, sess *session.Session, acc *account.Account, ip string) {
	ctx := r.Context()
	accountID := acc.ID
	lang := webui.Lang(r)
	if !acc.DeleteAfter.IsZero() {
		if cancelled, err := a.cancelDeletion(ctx, accountID, ip); err != nil {
			// Still pending: the next sign-in cancels it.
			a.Log.ErrorContext(ctx, "cancel deletion on sign-in", "account", acc, "err", err)
		} else if cancelled {
			a.Notifier.Account(ctx, acc, notice.KindNoticeDeletionCancelled, lang, nil)
		}
	}
	if acc.IdleTimeout > 0 {
		if err := a.Store.SetIdleTimeout(ctx, sess.ID, acc.IdleTimeout); err != nil {
			a.Log.ErrorContext(ctx, "own idle timeout", "err", err)
		} else {
			sess.IdleTimeout = acc.IdleTimeout
		}
	}
	a.recogniseDevice(w, r, acc, ip, lang)
}

// cancelDeletion withdraws the account's pending deletion with its
// activity-log entry, and reports whether there was one.
func (a *Arrivals) cancelDeletion(ctx context.Context, accountID, ip string) (bool, error) {
	cancelled := false
	err := a.Activity.Apply(ctx, func(_ *sqldb.Tx, s *account.Store) ([]audit.Entry, error) {
		var err error
		if cancelled, err = s.CancelDeletion(ctx, accountID); err != nil || !cancelled {
			return nil, err
		}
		return []audit.Entry{{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
			Action: audit.ActionDeletionCancelled, IP: ip, Detail: map[string]string{"by": "sign_in"}}}, nil
	})
	return cancelled && err == nil, err
}

func (a *Arrivals) recogniseDevice(w http.ResponseWriter, r *http.Request, acc *account.Account, ip, lang string) {
	ctx := r.Context()
	var hash []byte
	name := webui.CookieName(browserCookie, a.Secure)
	if c, err := r.Cookie(name); err == nil {
		hash, _ = bearer.Hash(c.Value)
	}
	if hash == nil {
		var token string
		token, hash = bearer.New()
		http.SetCookie(w, &http.Cookie{Name: name, Value: token, Path: "/", MaxAge: int(browserTTL.Seconds()),
			HttpOnly: true, Secure: a.Secure, SameSite: http.SameSiteLaxMode})
	}
	isNew, err := a.Accounts.SeenDevice(ctx, acc.ID, hash, r.UserAgent())
	if err != nil {
		a.Log.ErrorContext(ctx, "recognise device", "err", err)
		return
	}
	if !isNew {
		return
	}
	if err := a.Accounts.AddEvent(ctx, account.Event{AccountID: acc.ID, Kind: EventNewDevice, Result: account.ResultOK,
		IP: ip, UserAgent: r.UserAgent(), Flags: account.FlagNewDevice}); err != nil {
		a.Log.ErrorContext(ctx, "record new device", "err", err)
	}
	if !acc.NotifyNewDevice {
		return
	}
	browser, system := webui.DescribeUA(r.UserAgent())
	at := a.Now().In(time.FixedZone("MSK", 3*3600)).Format("02.01.2006 15:04") + " МСК"
	a.Notifier.Account(ctx, acc, notice.KindNoticeNewDevice, lang, map[string]string{"time": at, "ip": ip, "device": browser + ", " + system})
}
