package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/notify"
	"github.com/gosid/gosid/portal/support"
)

// Delivery of notices: one job per notice and channel, of a kind per
// channel so that each channel has its own retries. What a job does is in
// deliver; what it may do twice is settled by the delivery row
// (portal/notify).

// noticeArgs is a notice job's argument: one notice on one channel.
// Unique: a second job for the same notice and channel is not added while
// one is waiting.
type noticeArgs struct {
	Notice  string `json:"notice"`
	Channel string `json:"channel"`
}

// Kind is the job kind of PR 18's single notice job, still worked so that
// jobs enqueued before this version are sent.
func (noticeArgs) Kind() string { return "portal.notice" }

type emailJob struct{ noticeArgs }
type smsJob struct{ noticeArgs }
type pushJob struct{ noticeArgs }

func (emailJob) Kind() string { return "portal.notice.email" }
func (smsJob) Kind() string   { return "portal.notice.sms" }
func (pushJob) Kind() string  { return "portal.notice.push" }

// channelPolicy is a channel's retries and its per-citizen limit.
type channelPolicy struct {
	attempts  int           // then the delivery is marked failed
	base, cap time.Duration // the wait after attempt n: base·2ⁿ⁻¹, at most cap
	perHour   int           // sent to one citizen in an hour, urgent ones aside
}

var policies = map[notify.Channel]channelPolicy{
	notify.Email: {attempts: 8, base: 30 * time.Second, cap: time.Hour, perHour: 30},
	notify.SMS:   {attempts: 5, base: 15 * time.Second, cap: 10 * time.Minute, perHour: 10},
	notify.Push:  {attempts: 5, base: 30 * time.Second, cap: 30 * time.Minute, perHour: 30},
}

func (h *Handler) backoff(c notify.Channel) func(int) time.Duration {
	p := policies[c]
	return func(n int) time.Duration {
		if h.cfg.NoticeBackoff != nil {
			return h.cfg.NoticeBackoff(n)
		}
		return min(p.cap, p.base<<min(n-1, 20))
	}
}

func (h *Handler) registerNotices(q *jobs.Queue) error {
	if err := registerChannel(h, q, notify.Email, func(a noticeArgs) noticeArgs { return a }); err != nil {
		return err
	}
	if err := registerChannel(h, q, notify.Email, func(j emailJob) noticeArgs { return j.noticeArgs }); err != nil {
		return err
	}
	if err := registerChannel(h, q, notify.SMS, func(j smsJob) noticeArgs { return j.noticeArgs }); err != nil {
		return err
	}
	return registerChannel(h, q, notify.Push, func(j pushJob) noticeArgs { return j.noticeArgs })
}

// registerChannel declares the notice job T with channel c's retries.
// River gives up a few attempts after the delivery row is marked failed:
// the row, not River, counts the attempts.
func registerChannel[T jobs.Args](h *Handler, q *jobs.Queue, c notify.Channel, args func(T) noticeArgs) error {
	return jobs.Register(q, jobs.Worker[T]{Work: func(ctx context.Context, j jobs.Job[T]) error {
		a := args(j.Args)
		return h.deliverNotice(ctx, a.Notice, notify.Channel(a.Channel))
	}, Backoff: h.backoff(c), MaxAttempts: policies[c].attempts + 2, Timeout: 30 * time.Second})
}

// job is the job that sends a notice on c.
func job(notice string, c notify.Channel) jobs.Args {
	a := noticeArgs{Notice: notice, Channel: string(c)}
	switch c {
	case notify.SMS:
		return smsJob{a}
	case notify.Push:
		return pushJob{a}
	}
	return emailJob{a}
}

// queueDeliveries writes a notice's delivery rows and enqueues the jobs of
// the channels the citizen's settings want (bulk: on the bulk queue).
func (h *Handler) queueDeliveries(ctx context.Context, tx *sqldb.Tx, id, subject string, ev notify.Event, bulk bool) error {
	m, err := h.notify.Matrix(ctx, tx, subject)
	if err != nil {
		return err
	}
	for _, c := range notify.Sent {
		status := notify.Pending
		if !m.On(ev, c) {
			status = notify.Off
		}
		if err := h.notify.Queue(ctx, tx, id, subject, c, status); err != nil {
			return err
		}
		if status == notify.Pending {
			if _, err := h.jobs.Enqueue(ctx, tx, job(id, c), &jobs.Options{Unique: true, Bulk: bulk}); err != nil {
				return err
			}
		}
	}
	return nil
}

// deliverNotice sends one notice on one channel, at most once whatever runs
// twice (see portal/notify): held by quiet hours, limited per citizen,
// retried on a gateway's failure until the channel's attempts are spent,
// then marked failed without holding anything else up.
func (h *Handler) deliverNotice(ctx context.Context, id string, c notify.Channel) error {
	n, err := scanNotice(h.db.QueryRow(ctx, `SELECT `+noticeColumns+noticeFrom+` WHERE n.id = $1`, id))
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil // the application was deleted, and its notices
	} else if err != nil {
		return err
	}
	finish := func(status string, until time.Time) error { return h.notify.Finish(ctx, id, c, status, until) }
	if n.Kind == noticeBooking {
		// Jobs run in any order: a booking's notice that a newer one has
		// superseded (booked, then moved a second later) is not sent, so
		// the last message the citizen gets is the booking's state.
		var newer int
		if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE kind = $1 AND ref = $2
			AND created_at > (SELECT created_at FROM portal_notices WHERE id = $3)`, noticeBooking, n.Ref, id).Scan(&newer); err != nil {
			return err
		}
		if newer > 0 {
			return finish(notify.Skipped, time.Time{})
		}
	}
	now := h.now()
	if h.cfg.QuietHours && notify.Waits(c) && !n.Urgent {
		tz, _, err := h.notify.ZoneOf(ctx, h.db, n.Subject)
		if err != nil {
			return err
		}
		if until, quiet := notify.Quiet(now, notify.Zone(tz)); quiet {
			if err := finish(notify.Deferred, until); err != nil {
				return err
			}
			return jobs.Snooze(until.Sub(now))
		}
	}
	if !n.Urgent {
		sent, err := h.notify.SentSince(ctx, n.Subject, c, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if sent >= policies[c].perHour {
			return finish(notify.Limited, time.Time{})
		}
	}
	send, err := h.prepare(ctx, n, c)
	if err != nil {
		return err
	}
	if send == nil {
		return finish(notify.NoContact, time.Time{})
	}
	attempt, err := h.notify.Begin(ctx, id, c)
	var busy *notify.BusyError
	switch {
	case errors.Is(err, notify.ErrDone):
		return nil
	case errors.As(err, &busy):
		// A run that died mid-call (or is still calling): once its lease
		// is over, send again with the same dedupe key.
		return jobs.Snooze(busy.Until.Sub(now))
	case err != nil:
		return err
	}
	err = send(ctx, id+":"+string(c))
	switch {
	case err == nil:
		return finish(notify.SentOK, time.Time{})
	case errors.Is(err, errNoSubscriber) || permanent(err) || attempt >= policies[c].attempts:
		// Nothing another attempt could change, or the attempts are spent.
		h.log.WarnContext(ctx, "notice not delivered", "notice", id, "channel", string(c), "attempts", attempt, "err", err)
		status := notify.Failed
		if errors.Is(err, errNoSubscriber) {
			status = notify.NoContact
		}
		return finish(status, time.Time{})
	default:
		if ferr := finish(notify.Pending, time.Time{}); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
}

// permanent reports whether no other attempt could deliver: a recipient
// that is not an address, a push service that refuses our signature or
// the size.
func permanent(err error) bool {
	return errors.Is(err, message.ErrBadRecipient) || errors.Is(err, webpush.ErrRejected) || errors.Is(err, webpush.ErrTooLarge)
}

// errNoSubscriber: every push subscription of the citizen is gone.
var errNoSubscriber = errors.New("no push subscription left")

// sender sends a rendered notice with its dedupe key.
type sender func(ctx context.Context, key string) error

// prepare makes a notice ready for a channel, in the citizen's language, to
// their latest contacts; nil when they have none on that channel.
func (h *Handler) prepare(ctx context.Context, n notice, c notify.Channel) (sender, error) {
	cit, ok, err := h.citizen(ctx, n.Subject)
	if err != nil || !ok {
		return nil, err
	}
	if n.Kind == noticeSupport && h.support != nil {
		// A support request's answer goes to the contact the citizen gave
		// for it, on its channel, instead of their sign-in's.
		r, err := h.support.Mine(ctx, n.Subject, n.Ref)
		if err != nil && !errors.Is(err, support.ErrNotFound) {
			return nil, err
		}
		if r != nil && r.Contact.Value != "" {
			switch r.Contact.Kind {
			case support.Email:
				cit.Email = r.Contact.Value
			case support.Phone:
				cit.Phone = r.Contact.Value
			}
		}
	}
	l := h.render.LocalizerFor(cit.Lang)
	text := h.noticeText(ctx, l, n)
	if c == notify.Push {
		return h.pushSender(ctx, n, l, text)
	}
	kind := "portal." + n.Kind // portal.booking, portal.charge
	if n.Kind == noticeApplication {
		kind = "portal.status"
	}
	m := message.Message{Channel: message.Channel(c), Kind: kind, Lang: l.Lang, Text: text}
	switch c {
	case notify.SMS:
		m.To = cit.Phone
	case notify.Email:
		m.To = cit.Email
		if m.To != "" {
			if err := h.composeMail(ctx, &m, n, l, cit); err != nil {
				return nil, err
			}
		}
	}
	if m.To == "" {
		return nil, nil
	}
	return func(ctx context.Context, key string) error {
		m.Key = key
		return h.messages.Send(ctx, m)
	}, nil
}

// citizen reads the contacts and language of the citizen's latest sign-in.
func (h *Handler) citizen(ctx context.Context, subject string) (citizen, bool, error) {
	var c citizen
	var sealed []byte
	err := h.db.QueryRow(ctx, `SELECT data_enc FROM portal_citizens WHERE subject = $1`, subject).Scan(&sealed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return c, false, nil
	} else if err != nil {
		return c, false, err
	}
	plain, err := h.cfg.Sealer.Open(ctx, sealed, citizenAAD(subject))
	if err != nil {
		return c, false, err
	}
	return c, true, json.Unmarshal(plain, &c)
}

// unsubscribeKey keys the unsubscribe links' MACs: derived from the index
// key, so that no new secret needs configuring.
func (h *Handler) unsubscribeKey() []byte {
	m := hmac.New(sha256.New, h.cfg.IndexKey)
	m.Write([]byte("gosid portal unsubscribe key"))
	return m.Sum(nil)
}
