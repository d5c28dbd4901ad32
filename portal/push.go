package portal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/auth"
)

// Web push: the citizen's browsers subscribe on the settings page (the
// service worker /sw.js shows what arrives); a notice's push job encrypts
// it for each subscription (RFC 8291) and posts it to the browser's push
// service with the portal's VAPID signature (RFC 8292). A subscription
// the push service reports gone (404/410) is deleted.

// maxPushes is how many browsers one citizen may subscribe: the oldest
// goes when one more subscribes.
const maxPushes = 10

// loadPush makes the VAPID key from the portal's sealed secret "vapid" (the
// first replica to start makes it, every other reads it).
func loadPush(ctx context.Context, cfg Config, now time.Time) (*webpush.Client, error) {
	raw, err := auth.LoadSecret(ctx, cfg.DB, cfg.Sealer, "vapid", now)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, err
	}
	subject := "mailto:noreply@gosid.invalid"
	if strings.HasPrefix(cfg.PortalURL, "https://") {
		subject = cfg.PortalURL
	}
	return &webpush.Client{VAPID: webpush.VAPID{Key: key, Subject: subject}, HTTP: cfg.PushHTTP, Now: cfg.Now}, nil
}

// pushKey is the VAPID public key browsers subscribe with; empty when push
// is not configured.
func (h *Handler) pushKey() string {
	if h.push == nil {
		return ""
	}
	return h.push.VAPID.PublicKey()
}

// pushCount counts the citizen's subscribed browsers.
func (h *Handler) pushCount(ctx context.Context, subject string) (int, error) {
	var n int
	err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_push_subscriptions WHERE subject = $1`, subject).Scan(&n)
	return n, err
}

func (h *Handler) endpointHash(endpoint string) []byte {
	m := hmac.New(sha256.New, h.cfg.IndexKey)
	m.Write([]byte("push endpoint|" + endpoint))
	return m.Sum(nil)
}

func pushAAD(id string) []byte { return []byte("portal_push_subscriptions|" + id) }

// mountPush adds subscribing and unsubscribing this browser (portal.js
// posts the browser's PushSubscription as JSON).
func (h *Handler) mountPush(mux *http.ServeMux, signedIn func(http.HandlerFunc) http.HandlerFunc) {
	if h.push == nil {
		return
	}
	mux.HandleFunc("POST /settings/notifications/push", signedIn(h.subscribePush))
	mux.HandleFunc("POST /settings/notifications/push/delete", signedIn(h.unsubscribePush))
	mux.Handle("GET /sw.js", serviceWorker(h.static))
}

// serviceWorker serves /sw.js from the root, so that its scope is the
// whole portal, never cached stale.
func serviceWorker(static http.FileSystem) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := static.Open("sw.js")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "sw.js", time.Time{}, f)
	})
}

// pushProblem answers portal.js with what is wrong, naming the field.
func pushProblem(w http.ResponseWriter, status int, field, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detail, "errors": []map[string]string{{"field": field, "detail": detail}}})
}

func (h *Handler) subscribePush(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	l := h.render.NewPage(r, "").L
	s, err := webpush.ParseSubscription([]byte(r.PostFormValue("subscription")))
	if err != nil {
		pushProblem(w, http.StatusUnprocessableEntity, "subscription", l.T("push.bad", err.Error()))
		return
	}
	if err := h.savePush(ctx, sub, s, r.UserAgent()); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// savePush keeps a browser's subscription, sealed, found by a keyed hash
// of its endpoint; the citizen's oldest beyond maxPushes goes.
func (h *Handler) savePush(ctx context.Context, subject string, s webpush.Subscription, ua string) error {
	plain, err := s.MarshalJSON()
	if err != nil {
		return err
	}
	id := newFileID()
	sealed, err := h.cfg.Sealer.Seal(plain, pushAAD(id))
	if err != nil {
		return err
	}
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// A browser subscribes once: signing in as someone else in it
		// moves its subscription to them.
		if _, err := tx.Exec(ctx, `DELETE FROM portal_push_subscriptions WHERE endpoint_hash = $1`, h.endpointHash(s.Endpoint)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO portal_push_subscriptions (id, subject, endpoint_hash, data_enc, user_agent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, subject, h.endpointHash(s.Endpoint), sealed, ua, sqldb.Micros(h.now())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM portal_push_subscriptions WHERE subject = $1 AND id NOT IN (
			SELECT id FROM portal_push_subscriptions WHERE subject = $1 ORDER BY created_at DESC, id LIMIT $2)`, subject, maxPushes)
		return err
	})
}

func (h *Handler) unsubscribePush(w http.ResponseWriter, r *http.Request) {
	endpoint := r.PostFormValue("endpoint")
	if endpoint == "" {
		pushProblem(w, http.StatusUnprocessableEntity, "endpoint", h.render.NewPage(r, "").L.T("push.no_endpoint"))
		return
	}
	if _, err := h.db.Exec(r.Context(), `DELETE FROM portal_push_subscriptions WHERE endpoint_hash = $1 AND subject = $2`,
		h.endpointHash(endpoint), session(r).Subject); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pushTopic is a notice's Topic (≤ 32 base64url characters, RFC 8030): a
// retry replaces, not repeats, a message still waiting at the push
// service.
func pushTopic(notice string) string {
	sum := sha256.Sum256([]byte("push topic|" + notice))
	return hex.EncodeToString(sum[:16])
}

// pushPayload is what the service worker shows.
type pushPayload struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
	Tag   string `json:"tag"`
}

type pushTarget struct {
	id  string
	sub webpush.Subscription
}

// pushSender prepares a notice's web push to the citizen's browsers; nil
// when none is subscribed or push is not configured.
func (h *Handler) pushSender(ctx context.Context, n notice, l webui.Localizer, text string) (sender, error) {
	if h.push == nil {
		return nil, nil
	}
	rows, err := h.db.Query(ctx, `SELECT id, data_enc FROM portal_push_subscriptions WHERE subject = $1 ORDER BY created_at`, n.Subject)
	if err != nil {
		return nil, err
	}
	type row struct {
		id     string
		sealed []byte
	}
	found, err := sqldb.Collect(rows, func(r sqldb.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.sealed)
	})
	if err != nil || len(found) == 0 {
		return nil, err
	}
	var targets []pushTarget
	for _, f := range found {
		plain, err := h.cfg.Sealer.Open(ctx, f.sealed, pushAAD(f.id))
		if err != nil {
			return nil, err
		}
		s, err := webpush.ParseSubscription(plain)
		if err != nil {
			continue // unreadable: it will be replaced when the browser subscribes again
		}
		targets = append(targets, pushTarget{f.id, s})
	}
	title := l.T("notice.mail_subject." + n.Kind)
	if n.Kind == noticeNews {
		title = n.Params["title"]
	}
	base := strings.TrimSuffix(h.cfg.PortalURL, "/")
	tag := pushTopic(n.ID)
	payload, err := json.Marshal(pushPayload{Title: title, Body: text, URL: base + noticeLink(n), Tag: tag})
	if err != nil {
		return nil, err
	}
	o := webpush.Options{TTL: 24 * time.Hour, Urgency: webpush.UrgencyNormal, Topic: tag}
	if n.Urgent {
		o.Urgency = webpush.UrgencyHigh
	}
	return func(ctx context.Context, _ string) error {
		delivered, gone := 0, 0
		var retry error
		for _, t := range targets {
			err := h.push.Send(ctx, t.sub, payload, o)
			switch {
			case err == nil:
				delivered++
			case errors.Is(err, webpush.ErrGone):
				gone++
				if _, err := h.db.Exec(ctx, `DELETE FROM portal_push_subscriptions WHERE id = $1`, t.id); err != nil {
					return err
				}
			default:
				retry = errors.Join(retry, err)
			}
		}
		switch {
		case delivered > 0:
			return nil // the others' failures do not make the delivered repeat
		case gone == len(targets):
			return errNoSubscriber
		}
		return retry
	}, nil
}
