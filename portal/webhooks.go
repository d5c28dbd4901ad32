package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/applications"
)

// Webhooks: an agency's system sets an endpoint through its API (PUT
// /agency/v1/webhook) and gets a secret once; from then on every new
// application of the agency and every action of a citizen on one
// (a reply, a withdrawal) is POSTed to it as JSON, signed:
//
//	Gosid-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))
//
// The receiver recomputes the HMAC, compares in constant time, refuses a
// t more than five minutes from its clock (a replayed delivery) and drops
// an id it has seen (a delivery may come twice). Each delivery is a job
// enqueued in the transaction of the change, retried with back-off for
// about a day, and logged for the agency (GET /agency/v1/webhook/deliveries).

// The events.
const (
	eventReceived = "application.received"
	eventUpdated  = "application.updated"
)

// webhookArgs is the delivery job's argument: the delivery's id.
type webhookArgs struct {
	Delivery string `json:"delivery"`
}

func (webhookArgs) Kind() string { return "portal.webhook" }

// webhookBackoff is the wait after failed attempt n: 30 s doubling to
// about 8 hours; 12 attempts span a day.
func webhookBackoff(n int) time.Duration { return time.Duration(1<<min(n, 10)) * 30 * time.Second }

const webhookAttempts = 12

var webhookHTTP = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (h *Handler) registerWebhooks(q *jobs.Queue) error {
	return jobs.Register(q, jobs.Worker[webhookArgs]{Work: func(ctx context.Context, j jobs.Job[webhookArgs]) error {
		return h.deliver(ctx, j.Args.Delivery)
	}, Backoff: webhookBackoff, MaxAttempts: webhookAttempts, Timeout: 30 * time.Second})
}

// webhookChange enqueues, in the change's transaction, the delivery of a
// citizen's action to an agency that set a webhook.
func (h *Handler) webhookChange(ctx context.Context, tx *sqldb.Tx, c applications.Change) error {
	if c.Actor.Kind != applications.Citizen {
		return nil // the agency's own and its officers' changes it knows
	}
	var u string
	err := tx.QueryRow(ctx, `SELECT webhook_url FROM portal_agencies WHERE code = $1`, c.Agency).Scan(&u)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	event := eventUpdated
	if c.Status == applications.Received {
		event = eventReceived
	}
	id := newFileID()
	if _, err := tx.Exec(ctx, `INSERT INTO portal_webhook_deliveries (id, agency, event, application_id, status, version, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, c.Agency, event, c.ID, c.Status, c.Version, sqldb.Micros(h.now())); err != nil {
		return err
	}
	_, err = h.jobs.Enqueue(ctx, tx, webhookArgs{Delivery: id}, nil)
	return err
}

// webhookEvent enqueues, in tx, the delivery of an event that is not an
// application's (a charge paid or refunded) to agency, if it set a webhook;
// payload is the event's object as the body carries it.
func (h *Handler) webhookEvent(ctx context.Context, tx *sqldb.Tx, agency, event string, payload any) error {
	var u string
	err := tx.QueryRow(ctx, `SELECT webhook_url FROM portal_agencies WHERE code = $1`, agency).Scan(&u)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	id := newFileID()
	if _, err := tx.Exec(ctx, `INSERT INTO portal_webhook_deliveries (id, agency, event, application_id, status, version, payload, created_at)
		VALUES ($1, $2, $3, '', '', 0, $4, $5)`, id, agency, event, string(b), sqldb.Micros(h.now())); err != nil {
		return err
	}
	_, err = h.jobs.Enqueue(ctx, tx, webhookArgs{Delivery: id}, nil)
	return err
}

func agencyAAD(code string) []byte { return []byte("portal_agencies|" + code) }

// Sign is the Gosid-Signature header of body sent at t with secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// deliver is the job: one attempt to POST a delivery.
func (h *Handler) deliver(ctx context.Context, id string) error {
	var agency, event, appID, status, payload, u string
	var version, created int64
	var sealed []byte
	var delivered *int64
	err := h.db.QueryRow(ctx, `SELECT d.agency, d.event, d.application_id, d.status, d.version, d.payload, d.created_at, d.delivered_at, a.webhook_url, a.secret_enc
		FROM portal_webhook_deliveries d JOIN portal_agencies a ON a.code = d.agency WHERE d.id = $1`, id).
		Scan(&agency, &event, &appID, &status, &version, &payload, &created, &delivered, &u, &sealed)
	if errors.Is(err, sqldb.ErrNotFound) || err == nil && delivered != nil {
		return nil // delivered, or the agency removed its webhook
	}
	if err != nil {
		return err
	}
	secret, err := h.cfg.Sealer.Open(ctx, sealed, agencyAAD(agency))
	if err != nil {
		return err
	}
	msg := map[string]any{"id": id, "event": event, "created_at": sqldb.Time(created).UTC()}
	if object, _, ok := strings.Cut(event, "."); ok && payload != "" {
		msg[object] = json.RawMessage(payload) // a charge's event: its object as it was then
	} else {
		number := ""
		if a, err := h.apps.Get(ctx, appID); err == nil {
			number = a.Number
		}
		msg["application"] = map[string]any{"id": appID, "number": number, "status": status, "version": version,
			"href": h.cfg.PortalURL + agencyPrefix + "/applications/" + appID}
	}
	body, _ := json.Marshal(msg)
	now := h.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Gosid-Event-Id", id)
	req.Header.Set("Gosid-Signature", Sign(secret, now, body))
	var code int
	var failure string
	resp, err := webhookHTTP.Do(req)
	if err != nil {
		failure = "unreachable"
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			failure = "timeout"
		}
	} else {
		code = resp.StatusCode
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if code/100 != 2 {
			failure = "HTTP " + strconv.Itoa(code)
		}
	}
	var codeArg any
	if code != 0 {
		codeArg = code
	}
	var deliveredAt any
	if failure == "" {
		deliveredAt = sqldb.Micros(now)
	}
	if _, err := h.db.Exec(context.WithoutCancel(ctx), `UPDATE portal_webhook_deliveries SET attempts = attempts + 1, last_attempt = $2,
		last_status = $3, last_error = $4, delivered_at = $5 WHERE id = $1`, id, sqldb.Micros(now), codeArg, failure, deliveredAt); err != nil {
		return err
	}
	if failure != "" {
		return fmt.Errorf("webhook of %s: %s", agency, failure)
	}
	return nil
}

// webhookURLOK: https, or http to a loopback host (development).
func webhookURLOK(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || len(raw) > 500 {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback())
}

// apiSetWebhook sets the agency's webhook and answers its new secret,
// shown only this once (PUT /agency/v1/webhook {url}); {url: null}
// removes it.
func (h *Handler) apiSetWebhook(w http.ResponseWriter, r *http.Request, c agencyCall) {
	var body struct {
		Agency string  `json:"agency"`
		URL    *string `json:"url"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "the body is not the JSON object the API describes")
		return
	}
	agency, ok := h.callAgency(w, c, body.Agency)
	if !ok {
		return
	}
	ctx := r.Context()
	if body.URL == nil {
		if _, err := h.db.Exec(ctx, `DELETE FROM portal_agencies WHERE code = $1`, agency); err != nil {
			h.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !webhookURLOK(*body.URL) {
		h.agencyProblem(w, "invalid_request", http.StatusUnprocessableEntity, "", httpx.FieldProblem{Name: "url",
			Detail: "адрес https:// (http:// только для localhost)", DetailEN: "an https:// URL (http:// only for localhost)"})
		return
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sealed, err := h.cfg.Sealer.Seal([]byte(secret), agencyAAD(agency))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if _, err := h.db.Exec(ctx, `INSERT INTO portal_agencies (code, webhook_url, secret_enc, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (code) DO UPDATE SET webhook_url = $2, secret_enc = $3, updated_at = $4`, agency, *body.URL, sealed, sqldb.Micros(h.now())); err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"agency": agency, "url": *body.URL, "secret": secret})
}

// callAgency is the agency a call acts for: the one named, which the
// token must hold, or the token's only one.
func (h *Handler) callAgency(w http.ResponseWriter, c agencyCall, named string) (string, bool) {
	if named == "" && len(c.agencies) == 1 {
		return c.agencies[0], true
	}
	for _, a := range c.agencies {
		if a == named {
			return a, true
		}
	}
	h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "agency",
		Detail: "одно из ведомств токена: " + strings.Join(c.agencies, ", "), DetailEN: "one of the token's agencies: " + strings.Join(c.agencies, ", ")})
	return "", false
}

type apiDelivery struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	ApplicationID string     `json:"application_id"`
	CreatedAt     time.Time  `json:"created_at"`
	Attempts      int        `json:"attempts"`
	LastAttempt   *time.Time `json:"last_attempt"`
	LastStatus    *int       `json:"last_status"`
	LastError     string     `json:"last_error"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// apiDeliveries is the agency's delivery log, newest first (GET
// /agency/v1/webhook/deliveries).
func (h *Handler) apiDeliveries(w http.ResponseWriter, r *http.Request, c agencyCall) {
	agency, ok := h.callAgency(w, c, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	rows, err := h.db.Query(r.Context(), `SELECT id, event, application_id, created_at, attempts, last_attempt, last_status, last_error, delivered_at
		FROM portal_webhook_deliveries WHERE agency = $1 ORDER BY created_at DESC, id LIMIT 100`, agency)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	defer rows.Close()
	out := struct {
		Items []apiDelivery `json:"items"`
	}{Items: []apiDelivery{}}
	for rows.Next() {
		var d apiDelivery
		var created int64
		var last, delivered *int64
		if err := rows.Scan(&d.ID, &d.Event, &d.ApplicationID, &created, &d.Attempts, &last, &d.LastStatus, &d.LastError, &delivered); err != nil {
			h.apiFail(w, r, err)
			return
		}
		d.CreatedAt = sqldb.Time(created).UTC()
		if last != nil {
			t := sqldb.Time(*last).UTC()
			d.LastAttempt = &t
		}
		if delivered != nil {
			t := sqldb.Time(*delivered).UTC()
			d.DeliveredAt = &t
		}
		out.Items = append(out.Items, d)
	}
	if err := rows.Err(); err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
