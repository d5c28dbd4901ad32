package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/notify"
)

// Broadcasts: an administrator sends news to a category's subscribers
// (gosid portal notify). Everything runs on the bulk queue, so that a
// million subscribers do not delay anyone's transactional notice:
//
//	portal.broadcast       fans out one page of subscribers (broadcastPage)
//	                       per transaction — their inbox notices and
//	                       delivery rows, the cursor moved on, the page's
//	                       send job — and enqueues itself for the next page
//	portal.broadcast.send  sends one page's pending deliveries (e-mail,
//	                       push) through deliverNotice, a few at a time
//
// The cursor (the last subject fanned out) moves in the same transaction
// as the page's rows, so a fan-out job that runs twice writes nothing
// twice; a send job that runs twice finds the page's sent deliveries
// final. Progress (done of total) is in portal_broadcasts, read by
// `gosid portal notify --wait` and by the metrics of every replica.

// broadcastPage is how many subscribers one fan-out transaction covers.
const broadcastPage = 250

// broadcastSenders is how many of a page's messages are sent at once.
const broadcastSenders = 4

// Broadcast is news to send.
type Broadcast struct {
	Category    notify.Category
	Title, Body string
}

// BroadcastError names the flag or field that is wrong.
type BroadcastError struct{ Field, Problem string }

func (e *BroadcastError) Error() string { return e.Field + ": " + e.Problem }

// Validate checks a broadcast before it is sent to anyone.
func (b Broadcast) Validate() error {
	switch {
	case !notify.ValidCategory(b.Category):
		return &BroadcastError{"category", fmt.Sprintf("one of %v", notify.Categories)}
	case strings.TrimSpace(b.Title) == "" || utf8.RuneCountInString(b.Title) > 200 || strings.ContainsAny(b.Title, "\r\n"):
		return &BroadcastError{"title", "one line of 1 to 200 characters"}
	case strings.TrimSpace(b.Body) == "" || len(b.Body) > 20000 || !utf8.ValidString(b.Body):
		return &BroadcastError{"body", "UTF-8 text of 1 to 20,000 bytes"}
	}
	return nil
}

type broadcastArgs struct {
	ID string `json:"id"`
}

func (broadcastArgs) Kind() string { return "portal.broadcast" }

type broadcastSendArgs struct {
	ID   string `json:"id"`
	From string `json:"from"` // subjects after From, up to To
	To   string `json:"to"`
}

func (broadcastSendArgs) Kind() string { return "portal.broadcast.send" }

// RegisterBroadcastKinds declares the broadcast jobs on a queue that only
// enqueues them (the command), so that River accepts their kind.
func RegisterBroadcastKinds(q *jobs.Queue) error {
	never := errors.New("broadcasts run on the servers")
	if err := jobs.Register(q, jobs.Worker[broadcastArgs]{Work: func(context.Context, jobs.Job[broadcastArgs]) error { return never }}); err != nil {
		return err
	}
	return jobs.Register(q, jobs.Worker[broadcastSendArgs]{Work: func(context.Context, jobs.Job[broadcastSendArgs]) error { return never }})
}

func (h *Handler) registerBroadcasts(q *jobs.Queue) error {
	if err := jobs.Register(q, jobs.Worker[broadcastArgs]{Work: func(ctx context.Context, j jobs.Job[broadcastArgs]) error {
		return h.fanOut(ctx, j.Args.ID)
	}, Backoff: webhookBackoff, MaxAttempts: 20, Timeout: time.Minute}); err != nil {
		return err
	}
	return jobs.Register(q, jobs.Worker[broadcastSendArgs]{Work: func(ctx context.Context, j jobs.Job[broadcastSendArgs]) error {
		return h.sendPage(ctx, j.Args)
	}, Backoff: webhookBackoff, MaxAttempts: 20, Timeout: 2 * time.Minute})
}

// StartBroadcast records a broadcast to the category's subscribers of now
// and enqueues its fan-out, in one transaction; it returns its id and how
// many subscribers it will reach.
func StartBroadcast(ctx context.Context, db *sqldb.DB, q *jobs.Queue, b Broadcast, now time.Time) (string, int64, error) {
	if err := b.Validate(); err != nil {
		return "", 0, err
	}
	raw := make([]byte, 8)
	_, _ = rand.Read(raw)
	id := hex.EncodeToString(raw)
	var total int64
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_subscriptions WHERE category = $1`, string(b.Category)).Scan(&total); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO portal_broadcasts (id, category, title, body, status, total, created_at)
			VALUES ($1, $2, $3, $4, 'sending', $5, $6)`, id, string(b.Category), b.Title, b.Body, total, sqldb.Micros(now)); err != nil {
			return err
		}
		_, err := q.Enqueue(ctx, tx, broadcastArgs{ID: id}, &jobs.Options{Bulk: true})
		return err
	})
	return id, total, err
}

// BroadcastProgress is a broadcast's state.
type BroadcastProgress struct {
	Status      string // sending, done
	Total, Done int64
	Started     time.Time
	Finished    time.Time
}

// Progress reads a broadcast's state.
func Progress(ctx context.Context, db sqldb.Querier, id string) (BroadcastProgress, error) {
	var p BroadcastProgress
	var started int64
	var finished *int64
	err := db.QueryRow(ctx, `SELECT status, total, done, created_at, finished_at FROM portal_broadcasts WHERE id = $1`, id).
		Scan(&p.Status, &p.Total, &p.Done, &started, &finished)
	p.Started = sqldb.Time(started)
	if finished != nil {
		p.Finished = sqldb.Time(*finished)
	}
	return p, err
}

// fanOut writes the inbox notices and delivery rows of the next pages of
// subscribers, a transaction a page, for as long as its job may run, then
// enqueues itself for the rest.
func (h *Handler) fanOut(ctx context.Context, id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		start := time.Now()
		more, err := h.fanOutPage(ctx, id)
		if err != nil || !more {
			return err
		}
		// Leave the database as long again to everyone else: on SQLite a
		// page's transaction holds the one writer, and a citizen's notice
		// waiting behind back-to-back pages would wait for the broadcast.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Since(start)):
		}
	}
	return h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := h.jobs.Enqueue(ctx, tx, broadcastArgs{ID: id}, &jobs.Options{Bulk: true})
		return err
	})
}

// fanOutPage does one page; more is false when none is left.
func (h *Handler) fanOutPage(ctx context.Context, id string) (more bool, err error) {
	err = h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var category, cursor, status string
		if err := tx.QueryRow(ctx, `SELECT category, cursor, status FROM portal_broadcasts WHERE id = $1`, id).Scan(&category, &cursor, &status); err != nil {
			return err
		}
		if status != "sending" {
			return nil
		}
		last, err := sqldb.Strings(ctx, tx, `SELECT subject FROM portal_subscriptions WHERE category = $1 AND subject > $2
			ORDER BY subject LIMIT $3`, category, cursor, broadcastPage)
		if err != nil || len(last) == 0 {
			if err == nil {
				// Fanned out: done once the send jobs have counted every
				// page (an empty category is done at once).
				_, err = tx.Exec(ctx, `UPDATE portal_broadcasts SET status = 'fanned' WHERE id = $1 AND status = 'sending'`, id)
				if err == nil {
					err = finishBroadcast(ctx, tx, id, h.now())
				}
			}
			return err
		}
		to := last[len(last)-1]
		now := sqldb.Micros(h.now())
		if _, err := tx.Exec(ctx, `INSERT INTO portal_notices (id, subject, kind, ref, status, params, created_at, event)
			SELECT $1 || '.' || subject, subject, 'news', $1, 'news', '{}', $2, 'news' FROM portal_subscriptions
			WHERE category = $3 AND subject > $4 AND subject <= $5`, id, now, category, cursor, to); err != nil {
			return err
		}
		for _, c := range notify.Sent {
			status := "'pending'"
			if !notify.Offered(notify.News, c) {
				status = "'off'"
			}
			if _, err := tx.Exec(ctx, `INSERT INTO portal_deliveries (notice_id, channel, subject, status, updated_at)
				SELECT $1 || '.' || s.subject, $2, s.subject,
					CASE WHEN COALESCE(p.enabled, TRUE) THEN `+status+` ELSE 'off' END, $3
				FROM portal_subscriptions s LEFT JOIN portal_notify_prefs p ON p.subject = s.subject AND p.event = 'news' AND p.channel = $2
				WHERE s.category = $4 AND s.subject > $5 AND s.subject <= $6`, id, string(c), now, category, cursor, to); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, `UPDATE portal_broadcasts SET cursor = $3 WHERE id = $1 AND cursor = $2`, id, cursor, to)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("broadcast %s: the cursor moved under us", id)
		}
		if _, err := h.jobs.Enqueue(ctx, tx, broadcastSendArgs{ID: id, From: cursor, To: to}, &jobs.Options{Bulk: true}); err != nil {
			return err
		}
		more = true
		return nil
	})
	return more, err
}

// sendPage sends one page's pending news, broadcastSenders at a time, then
// counts the page done. Its writes are batched — one statement marks the
// page's deliveries "sending", one per outcome records them — so that a
// million messages do not cost two write transactions each; the same
// rules as deliverNotice's hold (the dedupe key, the lease, quiet hours
// for push: the page's job snoozes until they end and sends what waits).
func (h *Handler) sendPage(ctx context.Context, a broadcastSendArgs) error {
	now := h.now()
	lease := sqldb.Micros(now.Add(-notify.SendingLease))
	var items []pageItem
	err := h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.notice_id, d.channel, d.attempts FROM portal_deliveries d JOIN portal_notices n ON n.id = d.notice_id
			WHERE n.ref = $1 AND n.kind = 'news' AND n.subject > $2 AND n.subject <= $3
			AND (d.status IN ('pending', 'deferred') OR d.status = 'sending' AND d.updated_at < $4)`, a.ID, a.From, a.To, lease)
		if err != nil {
			return err
		}
		if items, err = sqldb.Collect(rows, func(r sqldb.Scanner) (pageItem, error) {
			var it pageItem
			return it, r.Scan(&it.notice, &it.channel, &it.attempt)
		}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE portal_deliveries SET status = 'sending', attempts = attempts + 1, until = NULL, updated_at = $5
			WHERE notice_id IN (SELECT id FROM portal_notices WHERE ref = $1 AND kind = 'news' AND subject > $2 AND subject <= $3)
			AND (status IN ('pending', 'deferred') OR status = 'sending' AND updated_at < $4)`, a.ID, a.From, a.To, lease, sqldb.Micros(now))
		return err
	})
	if err != nil {
		return err
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range broadcastSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				items[i].status, items[i].until, items[i].err = h.sendNews(ctx, items[i].notice, notify.Channel(items[i].channel), items[i].attempt+1)
			}
		}()
	}
	for i := range items {
		work <- i
	}
	close(work)
	wg.Wait()
	var failed error
	var later time.Time
	type outcome struct {
		status, channel string
		until           time.Time
	}
	byOutcome := map[outcome][]pageItem{}
	for _, it := range items {
		if it.err != nil {
			failed = errors.Join(failed, it.err)
		}
		if it.status == notify.Deferred && (later.IsZero() || it.until.After(later)) {
			later = it.until
		}
		o := outcome{it.status, it.channel, it.until}
		byOutcome[o] = append(byOutcome[o], it)
	}
	for o, its := range byOutcome {
		if err := h.finishMany(ctx, its, o.status); err != nil {
			return err
		}
	}
	if failed != nil {
		return failed // the job runs again: what was sent stays sent
	}
	err = h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// Counted once: the page's own row of progress.
		res, err := tx.Exec(ctx, `INSERT INTO portal_broadcast_pages (broadcast_id, page_to) VALUES ($1, $2) ON CONFLICT (broadcast_id, page_to) DO NOTHING`, a.ID, a.To)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE portal_broadcasts SET done = done + (SELECT COUNT(*) FROM portal_subscriptions
			WHERE category = portal_broadcasts.category AND subject > $2 AND subject <= $3) WHERE id = $1`, a.ID, a.From, a.To); err != nil {
			return err
		}
		return finishBroadcast(ctx, tx, a.ID, h.now())
	})
	if err == nil && !later.IsZero() {
		return jobs.Snooze(later.Sub(h.now()))
	}
	return err
}

// pageItem is one delivery of a page and its outcome.
type pageItem struct {
	notice, channel string
	attempt         int
	status          string
	until           time.Time
	err             error
}

// sendNews sends one news delivery already marked "sending" and says what
// became of it: a status to record, and an error when it is to be retried.
func (h *Handler) sendNews(ctx context.Context, id string, c notify.Channel, attempt int) (string, time.Time, error) {
	n, err := scanNotice(h.db.QueryRow(ctx, `SELECT `+noticeColumns+noticeFrom+` WHERE n.id = $1`, id))
	if err != nil {
		return notify.Pending, time.Time{}, err
	}
	if h.cfg.QuietHours && notify.Waits(c) {
		tz, _, err := h.notify.ZoneOf(ctx, h.db, n.Subject)
		if err != nil {
			return notify.Pending, time.Time{}, err
		}
		if until, quiet := notify.Quiet(h.now(), notify.Zone(tz)); quiet {
			return notify.Deferred, until, nil
		}
	}
	send, err := h.prepare(ctx, n, c)
	if err != nil {
		return notify.Pending, time.Time{}, err
	}
	if send == nil {
		return notify.NoContact, time.Time{}, nil
	}
	switch err := send(ctx, id+":"+string(c)); {
	case err == nil:
		return notify.SentOK, time.Time{}, nil
	case errors.Is(err, errNoSubscriber):
		return notify.NoContact, time.Time{}, nil
	case permanent(err) || attempt >= policies[c].attempts:
		h.log.WarnContext(ctx, "news not delivered", "notice", id, "channel", string(c), "attempts", attempt, "err", err)
		return notify.Failed, time.Time{}, nil
	default:
		return notify.Pending, time.Time{}, err
	}
}

// finishMany records one outcome (and one until) for many deliveries of
// one channel, a few hundred a statement.
func (h *Handler) finishMany(ctx context.Context, its []pageItem, status string) error {
	const chunk = 400
	now := sqldb.Micros(h.now())
	for start := 0; start < len(its); start += chunk {
		part := its[start:min(start+chunk, len(its))]
		var sent, until any
		if status == notify.SentOK {
			sent = now
		}
		if !part[0].until.IsZero() {
			until = sqldb.Micros(part[0].until)
		}
		args := []any{status, now, sent, until, part[0].channel}
		ids := make([]string, len(part))
		for i, it := range part {
			ids[i] = fmt.Sprintf("$%d", len(args)+1)
			args = append(args, it.notice)
		}
		if _, err := h.db.Exec(ctx, `UPDATE portal_deliveries SET status = $1, updated_at = $2, sent_at = $3, until = $4
			WHERE channel = $5 AND notice_id IN (`+strings.Join(ids, ", ")+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// finishBroadcast marks a fanned-out broadcast done once every page is.
func finishBroadcast(ctx context.Context, tx *sqldb.Tx, id string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE portal_broadcasts SET status = 'done', finished_at = $2
		WHERE id = $1 AND status = 'fanned' AND done >= total`, id, sqldb.Micros(now))
	return err
}

// NotifyCollector exports, on every replica, the state of broadcasts from
// the database (the same numbers whichever replica is scraped):
// gosid_portal_broadcast_subscribers{id,category,status} and
// gosid_portal_broadcast_done{…}, for the broadcasts of the last week.
func NotifyCollector(db *sqldb.DB) prometheus.Collector { return &notifyCollector{db: db} }

type notifyCollector struct{ db *sqldb.DB }

var (
	broadcastTotalDesc = prometheus.NewDesc("gosid_portal_broadcast_subscribers", "Subscribers a broadcast is sent to.", []string{"id", "category", "status"}, nil)
	broadcastDoneDesc  = prometheus.NewDesc("gosid_portal_broadcast_done", "Subscribers a broadcast has been sent to.", []string{"id", "category", "status"}, nil)
)

func (c *notifyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- broadcastTotalDesc
	ch <- broadcastDoneDesc
}

func (c *notifyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.db.Query(ctx, `SELECT id, category, status, total, done FROM portal_broadcasts WHERE created_at > $1`,
		sqldb.Micros(time.Now().Add(-7*24*time.Hour)))
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, cat, status string
		var total, done int64
		if rows.Scan(&id, &cat, &status, &total, &done) == nil {
			ch <- prometheus.MustNewConstMetric(broadcastTotalDesc, prometheus.GaugeValue, float64(total), id, cat, status)
			ch <- prometheus.MustNewConstMetric(broadcastDoneDesc, prometheus.GaugeValue, float64(done), id, cat, status)
		}
	}
}
