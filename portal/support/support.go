package support

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/sqldb"
)

// Status is a request's status.
type Status string

const (
	New           Status = "new"
	InProgress    Status = "in_progress"
	AwaitingReply Status = "awaiting_reply"
	Resolved      Status = "resolved"
	Closed        Status = "closed"
)

// Statuses lists every status in the order of a life.
func Statuses() []Status { return []Status{New, InProgress, AwaitingReply, Resolved, Closed} }

// Open reports whether the request still waits for someone.
func (s Status) Open() bool { return s == New || s == InProgress || s == AwaitingReply }

// Topics are the request's topics, as the form lists them.
var Topics = []string{"registration", "identity", "applications", "payments", "appointments", "technical", "other"}

// MaxBody is the longest message, in characters.
const MaxBody = 5000

// MaxFiles is how many files one message may carry.
const MaxFiles = 5

// ReopenWindow is how long after its resolution the citizen may reopen a
// request; after it the sweep closes it.
const ReopenWindow = 14 * 24 * time.Hour

// AuthorKind says who wrote a message.
type AuthorKind string

const (
	Citizen AuthorKind = "citizen"
	Staff   AuthorKind = "staff"
	System  AuthorKind = "system"
)

var (
	ErrNotFound   = errors.New("support: no such request")
	ErrTransition = errors.New("support: not allowed from the current status")
	ErrConflict   = errors.New("support: changed meanwhile")
	ErrInvalid    = errors.New("support: invalid request")
)

// Sealer encrypts texts at rest; aad binds them to their row.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Request is one support request.
type Request struct {
	ID, Number, Subject string
	Topic               string
	// Ref is the number of the application the request is about, or "".
	Ref        string
	Contact    Contact
	Status     Status
	Version    int64
	Assignee   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time // zero unless resolved or closed
}

// CanReopen reports whether the citizen may reopen the request at now.
func (r *Request) CanReopen(now time.Time) bool {
	return r.Status == Resolved && now.Before(r.ResolvedAt.Add(ReopenWindow))
}

// Message is one message of a request's conversation.
type Message struct {
	Seq    int64
	At     time.Time
	Author AuthorKind
	// AuthorID is the citizen's or the staff member's subject, "" for
	// the system.
	AuthorID string
	Body     string
	Files    []File
}

// File is a message's file; its bytes are in internal/blob under BlobKey.
type File struct {
	ID, Name, ContentType string
	Size                  int64
	BlobKey               string
	Seq                   int64
}

// Draft is what a citizen's new request holds. Files' bytes are already
// stored (ID, Name, ContentType, Size, BlobKey set).
type Draft struct {
	Subject, Topic, Ref string
	Contact             Contact
	Body                string
	Files               []File
}

// Event names what OnChange is told of.
type Event string

const (
	Created  Event = "created"
	Answered Event = "answered"
	Resolve  Event = "resolved"
	Close    Event = "closed"
)

// Change is a change as the transaction that makes it sees it.
type Change struct {
	ID, Number, Subject string
	Event               Event
	Status              Status
	Version             int64
}

// Store keeps support requests in the portal's database.
type Store struct {
	db     *sqldb.DB
	sealer Sealer
	now    func() time.Time
	// OnChange, when set, runs inside the transaction of a creation, a
	// staff answer, a resolution and a closure: what it writes (the
	// citizen's notice) exists only if the change commits.
	OnChange func(ctx context.Context, tx *sqldb.Tx, c Change) error
}

// NewStore returns a store; now nil is time.Now.
func NewStore(db *sqldb.DB, sealer Sealer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, sealer: sealer, now: now}
}

// NewID returns a random id (for files stored before their request).
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestAAD(id string) []byte { return []byte("portal_support_requests|" + id) }

func messageAAD(id string, seq int64) []byte {
	return []byte("portal_support_messages|" + id + "|" + strconv.FormatInt(seq, 10))
}

// checkBody refuses an empty or too long message, or too many files.
func checkBody(body string, files []File, required bool) error {
	n := utf8.RuneCountInString(body)
	switch {
	case !utf8.ValidString(body):
		return fmt.Errorf("%w: text is not UTF-8", ErrInvalid)
	case required && n == 0:
		return fmt.Errorf("%w: empty text", ErrInvalid)
	case n > MaxBody:
		return fmt.Errorf("%w: text longer than %d characters", ErrInvalid, MaxBody)
	case len(files) > MaxFiles:
		return fmt.Errorf("%w: more than %d files", ErrInvalid, MaxFiles)
	}
	return nil
}

// numberTries bounds the draws of a free number (ten digits: a clash is
// one in millions while there are thousands of requests a day).
const numberTries = 5

func newNumber() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	return strconv.FormatInt(n.Int64()+1_000_000_000, 10)
}

// Create registers a citizen's request with its first message and files,
// in one transaction, and gives it its number.
func (s *Store) Create(ctx context.Context, d Draft) (*Request, error) {
	if !slices.Contains(Topics, d.Topic) {
		return nil, fmt.Errorf("%w: unknown topic", ErrInvalid)
	}
	if d.Subject == "" || d.Contact.Value == "" {
		return nil, fmt.Errorf("%w: no citizen or contact", ErrInvalid)
	}
	if err := checkBody(d.Body, d.Files, true); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Request{ID: NewID(), Subject: d.Subject, Topic: d.Topic, Ref: d.Ref, Contact: d.Contact, Status: New, Version: 1,
		CreatedAt: now, UpdatedAt: now}
	plain, err := json.Marshal(d.Contact)
	if err != nil {
		return nil, err
	}
	contact, err := s.sealer.Seal(plain, requestAAD(r.ID))
	if err != nil {
		return nil, err
	}
	for range numberTries {
		r.Number = newNumber()
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO portal_support_requests (id, number, subject, topic, ref, contact_enc, status, version, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)`, r.ID, r.Number, r.Subject, r.Topic, r.Ref, contact, New, sqldb.Micros(now)); err != nil {
				return err
			}
			if err := s.addMessage(ctx, tx, r.ID, 1, now, Citizen, d.Subject, d.Body, d.Files); err != nil {
				return err
			}
			return s.changed(ctx, tx, r, Created)
		})
		if errors.Is(err, sqldb.ErrConflict) {
			continue // the number was taken: draw another
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, errors.New("support: no free number found")
}

// addMessage writes message seq of request id with its files in tx.
func (s *Store) addMessage(ctx context.Context, tx *sqldb.Tx, id string, seq int64, at time.Time, kind AuthorKind, author, body string, files []File) error {
	sealed, err := s.sealer.Seal([]byte(body), messageAAD(id, seq))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO portal_support_messages (request_id, seq, at, author_kind, author, body_enc) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, seq, sqldb.Micros(at), kind, author, sealed); err != nil {
		return err
	}
	for _, f := range files {
		if _, err := tx.Exec(ctx, `INSERT INTO portal_support_files (id, request_id, seq, name, content_type, size, blob_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, f.ID, id, seq, f.Name, f.ContentType, f.Size, f.BlobKey, sqldb.Micros(at)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) changed(ctx context.Context, tx *sqldb.Tx, r *Request, e Event) error {
	if s.OnChange == nil {
		return nil
	}
	return s.OnChange(ctx, tx, Change{ID: r.ID, Number: r.Number, Subject: r.Subject, Event: e, Status: r.Status, Version: r.Version})
}

const columns = `id, number, subject, topic, ref, contact_enc, status, version, assignee, created_at, updated_at, resolved_at`

func (s *Store) scan(ctx context.Context, row sqldb.Scanner) (*Request, error) {
	var r Request
	var sealed []byte
	var created, updated int64
	var resolved *int64
	if err := row.Scan(&r.ID, &r.Number, &r.Subject, &r.Topic, &r.Ref, &sealed, &r.Status, &r.Version, &r.Assignee,
		&created, &updated, &resolved); err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	if resolved != nil {
		r.ResolvedAt = sqldb.Time(*resolved)
	}
	plain, err := s.sealer.Open(ctx, sealed, requestAAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("support: open request %s: %w", r.ID, err)
	}
	if err := json.Unmarshal(plain, &r.Contact); err != nil {
		return nil, err
	}
	return &r, nil
}

// Get returns a request by id, for support staff.
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM portal_support_requests WHERE id = $1`, id))
}

// Mine returns the citizen's request: another citizen's, or none, is
// ErrNotFound alike.
func (s *Store) Mine(ctx context.Context, subject, id string) (*Request, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM portal_support_requests WHERE id = $1 AND subject = $2`, id, subject))
}

// List returns the citizen's requests, the most recently changed first,
// at most limit.
func (s *Store) List(ctx context.Context, subject string, limit int) ([]*Request, error) {
	return s.list(ctx, `SELECT `+columns+` FROM portal_support_requests WHERE subject = $1 ORDER BY updated_at DESC, id LIMIT $2`, subject, limit)
}

// Filter selects the console's queue.
type Filter struct {
	// Statuses: none means the open ones (new, in progress, awaiting).
	Statuses []Status
	Topic    string
	// Assignee, when set, keeps the requests taken by that staff member;
	// Unassigned keeps those nobody took.
	Assignee   string
	Unassigned bool
	Limit      int
}

// Queue returns the requests that f selects, oldest first.
func (s *Store) Queue(ctx context.Context, f Filter) ([]*Request, error) {
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []Status{New, InProgress, AwaitingReply}
	}
	q := `SELECT ` + columns + ` FROM portal_support_requests WHERE status IN (`
	var args []any
	for i, st := range statuses {
		if i > 0 {
			q += ", "
		}
		args = append(args, st)
		q += fmt.Sprintf("$%d", len(args))
	}
	q += ")"
	if f.Topic != "" {
		args = append(args, f.Topic)
		q += fmt.Sprintf(" AND topic = $%d", len(args))
	}
	if f.Assignee != "" {
		args = append(args, f.Assignee)
		q += fmt.Sprintf(" AND assignee = $%d", len(args))
	}
	if f.Unassigned {
		q += " AND assignee = ''"
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY created_at, id LIMIT $%d", len(args))
	return s.list(ctx, q, args...)
}

func (s *Store) list(ctx context.Context, q string, args ...any) ([]*Request, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Request
	for rows.Next() {
		r, err := s.scan(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Thread returns a request's messages in order, each with its files.
func (s *Store) Thread(ctx context.Context, id string) ([]Message, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, at, author_kind, author, body_enc FROM portal_support_messages WHERE request_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		var sealed []byte
		if err := rows.Scan(&m.Seq, &at, &m.Author, &m.AuthorID, &sealed); err != nil {
			rows.Close()
			return nil, err
		}
		m.At = sqldb.Time(at)
		plain, err := s.sealer.Open(ctx, sealed, messageAAD(id, m.Seq))
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("support: open message %d of %s: %w", m.Seq, id, err)
		}
		m.Body = string(plain)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, err := s.Files(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for i := range out {
			if out[i].Seq == f.Seq {
				out[i].Files = append(out[i].Files, f)
			}
		}
	}
	return out, nil
}

// Files returns every file of a request, in the order they came.
func (s *Store) Files(ctx context.Context, id string) ([]File, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, content_type, size, blob_key, seq FROM portal_support_files WHERE request_id = $1 ORDER BY seq, created_at, id`, id)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, func(row sqldb.Scanner) (File, error) {
		var f File
		err := row.Scan(&f.ID, &f.Name, &f.ContentType, &f.Size, &f.BlobKey, &f.Seq)
		return f, err
	})
}

// File returns one file of a request.
func (s *Store) File(ctx context.Context, id, fileID string) (*File, error) {
	var f File
	err := s.db.QueryRow(ctx, `SELECT id, name, content_type, size, blob_key, seq FROM portal_support_files WHERE id = $1 AND request_id = $2`,
		fileID, id).Scan(&f.ID, &f.Name, &f.ContentType, &f.Size, &f.BlobKey, &f.Seq)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, ErrNotFound
	}
	return &f, err
}

// move is every transition: the compare-and-swap of the request at
// version from one of the statuses in from to to, with a message when
// body is not empty (or files come), and OnChange told of event (when not
// "") — all in one transaction. subject, when not empty, limits it to the
// citizen's request; assignee, when not empty, becomes the request's.
type move struct {
	id, subject string
	version     int64
	from        []Status
	to          Status
	assignee    string
	author      AuthorKind
	authorID    string
	body        string
	files       []File
	event       Event
}

func (s *Store) move(ctx context.Context, m move) (*Request, error) {
	return s.moveAt(ctx, s.now(), m)
}

func (s *Store) moveAt(ctx context.Context, now time.Time, m move) (*Request, error) {
	var r *Request
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		q := `UPDATE portal_support_requests SET status = $3, version = version + 1, updated_at = $4,
			assignee = CASE WHEN $5 = '' THEN assignee ELSE $5 END,
			resolved_at = CASE WHEN $3 = 'resolved' THEN $4 WHEN $3 = 'closed' THEN resolved_at ELSE NULL END
			WHERE id = $1 AND version = $2 AND status IN (`
		args := []any{m.id, m.version, m.to, sqldb.Micros(now), m.assignee}
		for i, st := range m.from {
			if i > 0 {
				q += ", "
			}
			args = append(args, st)
			q += fmt.Sprintf("$%d", len(args))
		}
		q += ")"
		if m.subject != "" {
			args = append(args, m.subject)
			q += fmt.Sprintf(" AND subject = $%d", len(args))
		}
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return s.why(ctx, tx, m)
		}
		if r, err = s.scan(ctx, tx.QueryRow(ctx, `SELECT `+columns+` FROM portal_support_requests WHERE id = $1`, m.id)); err != nil {
			return err
		}
		if m.body != "" || len(m.files) > 0 {
			var seq int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM portal_support_messages WHERE request_id = $1`, m.id).Scan(&seq); err != nil {
				return err
			}
			if err := s.addMessage(ctx, tx, m.id, seq, now, m.author, m.authorID, m.body, m.files); err != nil {
				return err
			}
		}
		if m.event == "" {
			return nil
		}
		return s.changed(ctx, tx, r, m.event)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// why explains a compare-and-swap that changed nothing.
func (s *Store) why(ctx context.Context, tx *sqldb.Tx, m move) error {
	q, args := `SELECT status, version FROM portal_support_requests WHERE id = $1`, []any{m.id}
	if m.subject != "" {
		q += ` AND subject = $2`
		args = append(args, m.subject)
	}
	var st Status
	var v int64
	err := tx.QueryRow(ctx, q, args...).Scan(&st, &v)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return err
	case v != m.version:
		return ErrConflict
	case !slices.Contains(m.from, st):
		return fmt.Errorf("%w: it is %s", ErrTransition, st)
	}
	return ErrConflict
}

// Take makes staff the request's assignee and puts it in progress; of two
// staff taking it at once, one wins and the other gets ErrConflict.
func (s *Store) Take(ctx context.Context, id string, version int64, staff string) (*Request, error) {
	return s.move(ctx, move{id: id, version: version, from: []Status{New}, to: InProgress, assignee: staff, author: Staff, authorID: staff})
}

// Answer adds staff's answer to a request in progress (or still waiting
// for the citizen); await puts it to «Ожидает ответа». The citizen is
// told.
func (s *Store) Answer(ctx context.Context, id string, version int64, staff, body string, files []File, await bool) (*Request, error) {
	if err := checkBody(body, files, true); err != nil {
		return nil, err
	}
	to := InProgress
	if await {
		to = AwaitingReply
	}
	return s.move(ctx, move{id: id, version: version, from: []Status{InProgress, AwaitingReply}, to: to, assignee: staff,
		author: Staff, authorID: staff, body: body, files: files, event: Answered})
}

// Resolve resolves a request, with staff's closing words when body is not
// empty. The citizen is told and may reopen it for ReopenWindow.
func (s *Store) Resolve(ctx context.Context, id string, version int64, staff, body string, files []File) (*Request, error) {
	if err := checkBody(body, files, false); err != nil {
		return nil, err
	}
	return s.move(ctx, move{id: id, version: version, from: []Status{InProgress, AwaitingReply}, to: Resolved, assignee: staff,
		author: Staff, authorID: staff, body: body, files: files, event: Resolve})
}

// Reply adds the citizen's message to an open request; one that waited
// for the citizen goes back in progress (a new one stays new).
func (s *Store) Reply(ctx context.Context, subject, id string, version int64, body string, files []File) (*Request, error) {
	if err := checkBody(body, files, true); err != nil {
		return nil, err
	}
	r, err := s.Mine(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	to := r.Status
	switch r.Status {
	case AwaitingReply:
		to = InProgress
	case New, InProgress:
	default:
		return nil, fmt.Errorf("%w: it is %s", ErrTransition, r.Status)
	}
	return s.move(ctx, move{id: id, subject: subject, version: version, from: []Status{r.Status}, to: to,
		author: Citizen, authorID: subject, body: body, files: files})
}

// Reopen puts a request resolved less than ReopenWindow ago back in
// progress with the citizen's message (why it is not solved).
func (s *Store) Reopen(ctx context.Context, subject, id string, version int64, body string, files []File) (*Request, error) {
	if err := checkBody(body, files, true); err != nil {
		return nil, err
	}
	r, err := s.Mine(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if r.Status == Resolved && !r.CanReopen(now) {
		return nil, fmt.Errorf("%w: resolved more than %s ago", ErrTransition, ReopenWindow)
	}
	return s.moveAt(ctx, now, move{id: id, subject: subject, version: version, from: []Status{Resolved}, to: InProgress,
		author: Citizen, authorID: subject, body: body, files: files})
}

// closedNote is the system's line in a closed request's conversation.
const closedNote = "closed"

// CloseExpired closes the requests resolved before now minus
// ReopenWindow, each in its own transaction with the citizen's notice,
// and says how many it closed. Run by any replica at any time: a request
// that another replica (or the citizen reopening it) changed meanwhile
// is skipped by the compare-and-swap.
func (s *Store) CloseExpired(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT id, version FROM portal_support_requests WHERE status = $1 AND resolved_at <= $2 ORDER BY resolved_at LIMIT 500`,
		Resolved, sqldb.Micros(now.Add(-ReopenWindow)))
	if err != nil {
		return 0, err
	}
	type due struct {
		id string
		v  int64
	}
	list, err := sqldb.Collect(rows, func(row sqldb.Scanner) (due, error) {
		var d due
		err := row.Scan(&d.id, &d.v)
		return d, err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range list {
		_, err := s.moveAt(ctx, now, move{id: d.id, version: d.v, from: []Status{Resolved}, to: Closed, author: System, body: closedNote, event: Close})
		switch {
		case errors.Is(err, ErrConflict), errors.Is(err, ErrTransition):
			continue
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}

// ClosedNote reports whether a system message is the closure's line (the
// page renders it in the reader's language).
func ClosedNote(m Message) bool { return m.Author == System && m.Body == closedNote }
