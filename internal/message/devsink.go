package message

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// DevKeep is how many messages the dev sink keeps; older ones are deleted
// by every devTrimEvery-th Send, after it stores its own (List never
// returns more than DevKeep).
const DevKeep = 500

// devTrimEvery: the trim runs when the new message's id is a multiple of
// it. Trimming on every Send made concurrent senders delete the same old
// rows and wait for each other's locks (4.6 ms a message at 8 senders).
const devTrimEvery = 64

// DevSink is the embedded default's sender: instead of delivering a message
// it stores the rendered text in the dev_messages table, where the dev page
// shows it whichever replica sent it, and logs it. It is the only sender
// that ever shows a code; the caller must enable it only in dev mode on
// loopback.
type DevSink struct {
	db  *sqldb.DB
	log *slog.Logger
	now func() time.Time
}

var _ Sender = (*DevSink)(nil)

// DevMessage is one stored message.
type DevMessage struct {
	ID        int64     `json:"id"`
	Channel   Channel   `json:"channel"`
	To        string    `json:"to"`
	Kind      string    `json:"kind"`
	Subject   string    `json:"subject,omitempty"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// NewDevSink returns a dev sink storing into db.
func NewDevSink(db *sqldb.DB, log *slog.Logger) *DevSink {
	return &DevSink{db: db, log: log, now: time.Now}
}

// Send stores m (every devTrimEvery-th deleting all but the newest
// DevKeep messages) and logs it at Info, text included.
func (s *DevSink) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("dev sink: %w", err)
	}
	now := sqldb.Micros(s.now())
	var id int64
	err := s.db.QueryRow(ctx, `INSERT INTO dev_messages (channel, recipient, kind, subject, body_text, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, string(m.Channel), m.To, m.Kind, m.Subject, m.Text, now).Scan(&id)
	if err == nil && id%devTrimEvery == 0 {
		// The scalar subquery is NULL while fewer than DevKeep+1 rows
		// exist, and "id <= NULL" deletes nothing. Between trims, and on
		// PostgreSQL where senders racing on other replicas do not see
		// each other's uncommitted rows, a few more than DevKeep remain;
		// List never returns more than DevKeep. A trim that fails is
		// done by the next; the message is stored all the same.
		if _, terr := s.db.Exec(ctx, `DELETE FROM dev_messages WHERE id <= (
			SELECT id FROM dev_messages ORDER BY id DESC LIMIT 1 OFFSET $1)`, DevKeep); terr != nil {
			s.log.WarnContext(ctx, "dev sink: trim old messages", "err", terr)
		}
	}
	if err != nil {
		return fmt.Errorf("dev sink: store message: %w", err)
	}
	s.log.InfoContext(ctx, "dev message (not delivered; shown at /dev/messages)",
		"channel", string(m.Channel), "to", m.To, "kind", m.Kind, "subject", m.Subject, "text", m.Text)
	return nil
}

// List returns the newest messages first, at most limit (at most DevKeep;
// limit <= 0 means DevKeep).
func (s *DevSink) List(ctx context.Context, limit int) ([]DevMessage, error) {
	return s.list(ctx, "", limit)
}

func (s *DevSink) list(ctx context.Context, to string, limit int) ([]DevMessage, error) {
	if limit <= 0 || limit > DevKeep {
		limit = DevKeep
	}
	const cols = `SELECT id, channel, recipient, kind, subject, body_text, created_at FROM dev_messages`
	q, args := cols+` ORDER BY id DESC LIMIT $1`, []any{limit}
	if to != "" {
		q, args = cols+` WHERE recipient = $1 ORDER BY id DESC LIMIT $2`, []any{to, limit}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dev sink: list messages: %w", err)
	}
	defer rows.Close()
	var out []DevMessage
	for rows.Next() {
		m, err := scanDevMessage(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("dev sink: list messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dev sink: list messages: %w", sqldb.Classify(err))
	}
	return out, nil
}

// Latest returns the newest message to recipient of the given kind (any
// kind when kind is ""), or an error wrapping sqldb.ErrNotFound. End-to-end
// tests read one-time codes through it.
func (s *DevSink) Latest(ctx context.Context, recipient, kind string) (DevMessage, error) {
	m, err := scanDevMessage(s.db.QueryRow(ctx, `SELECT id, channel, recipient, kind, subject, body_text, created_at
		FROM dev_messages WHERE recipient = $1 AND (kind = $2 OR $3 = '')
		ORDER BY id DESC LIMIT 1`, recipient, kind, kind).Scan)
	if err != nil {
		return DevMessage{}, fmt.Errorf("dev sink: latest message: %w", err)
	}
	return m, nil
}

func scanDevMessage(scan func(dest ...any) error) (DevMessage, error) {
	var m DevMessage
	var created int64
	if err := scan(&m.ID, &m.Channel, &m.To, &m.Kind, &m.Subject, &m.Text, &created); err != nil {
		return DevMessage{}, sqldb.Classify(err)
	}
	m.CreatedAt = sqldb.Time(created)
	return m, nil
}

// Handler serves the dev page. Its routes are
//
//	GET /dev/messages       HTML list of the newest messages, refreshed every
//	                        5 s; ?to= filters by recipient, ?lang=en|ru
//	GET /dev/messages.json  the same as JSON (an array of DevMessage);
//	                        ?to= filters by recipient, ?limit= (default 100)
//
// registered on its own ServeMux with exactly these patterns, so the caller
// can mount it on its mux under the same patterns:
//
//	h := sink.Handler()
//	mux.Handle("GET /dev/messages", h)
//	mux.Handle("GET /dev/messages.json", h)
//
// The pages show codes: mount them only in dev mode on loopback.
func (s *DevSink) Handler() http.Handler {
	h := &devHandler{sink: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/messages", h.showMessages)
	mux.HandleFunc("GET /dev/messages.json", h.listMessages)
	return mux
}

type devHandler struct{ sink *DevSink }

//go:embed templates/dev/messages.html
var devPageFS embed.FS

// devPage is the development sink's page, parsed at start-up.
var devPage = htmltemplate.Must(htmltemplate.New("messages.html").ParseFS(devPageFS, "templates/dev/messages.html"))

// devPageText is the dev page's wording in one language.
type devPageText struct {
	Title, Note, Recipient, Filter, Time, Channel, Kind, Text, Empty string
	OtherLang, OtherLangName                                         string
}

var devPageTexts = map[string]devPageText{
	"ru": {
		Title:     "Отправленные сообщения",
		Note:      "Режим разработки: SMS и письма не доставляются, а показываются здесь. Страница обновляется каждые 5 секунд.",
		Recipient: "Получатель", Filter: "Показать", Time: "Время (UTC)", Channel: "Канал", Kind: "Вид", Text: "Текст",
		Empty:     "Сообщений пока нет.",
		OtherLang: "en", OtherLangName: "English",
	},
	"en": {
		Title:     "Sent messages",
		Note:      "Development mode: text messages and e-mails are not delivered but shown here. The page refreshes every 5 seconds.",
		Recipient: "Recipient", Filter: "Show", Time: "Time (UTC)", Channel: "Channel", Kind: "Kind", Text: "Text",
		Empty:     "No messages yet.",
		OtherLang: "ru", OtherLangName: "Русский",
	},
}

type devPageView struct {
	Lang     string
	T        devPageText
	To       string
	Messages []DevMessage
}

func devHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (h *devHandler) showMessages(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		lang = r.Header.Get("Accept-Language")
	}
	lang = normLang(lang)
	to := strings.TrimSpace(r.URL.Query().Get("to"))
	msgs, err := h.sink.list(r.Context(), to, 100)
	if err != nil {
		h.sink.log.ErrorContext(r.Context(), "dev messages page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	err = devPage.Execute(&buf, devPageView{Lang: lang, T: devPageTexts[lang], To: to, Messages: msgs})
	if err != nil {
		h.sink.log.ErrorContext(r.Context(), "dev messages page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	devHeaders(w)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (h *devHandler) listMessages(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, "limit must be a positive integer", http.StatusBadRequest)
			return
		}
		limit = n
	}
	msgs, err := h.sink.list(r.Context(), strings.TrimSpace(r.URL.Query().Get("to")), limit)
	if err != nil {
		h.sink.log.ErrorContext(r.Context(), "dev messages list", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if msgs == nil {
		msgs = []DevMessage{}
	}
	body, err := json.Marshal(msgs)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	devHeaders(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}
