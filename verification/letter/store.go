package letter

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
)

// Status is where a letter stands.
type Status string

// A letter's statuses.
const (
	// Ordered: the citizen asked for it; no code exists yet.
	Ordered Status = "ordered"
	// Exported: its code is made and printed; waiting for the post office.
	Exported Status = "exported"
	// Sent: dispatched with a tracking number; the code works until
	// ExpiresAt, for MaxTries tries.
	Sent Status = "sent"
	// Confirmed: the right code confirmed the identity.
	Confirmed Status = "confirmed"
	// Spent: MaxTries wrong codes.
	Spent Status = "spent"
	// Expired: the code's time ran out.
	Expired Status = "expired"
	// Cancelled: staff withdrew it before dispatch (a lost or spoilt
	// printout); the account may order again at once.
	Cancelled Status = "cancelled"
)

// Open reports whether the letter is still on its way (ordered, exported
// or sent).
func (s Status) Open() bool { return s == Ordered || s == Exported || s == Sent }

const (
	// Interval is the least time between two letters of one account.
	Interval = 30 * 24 * time.Hour
	// Validity is how long a code works after the letter is sent.
	Validity = 30 * 24 * time.Hour
	// MaxTries is the codes a citizen may enter for one letter.
	MaxTries = 3
)

var (
	// ErrTooSoon: the account ordered a letter less than Interval ago.
	ErrTooSoon = errors.New("letter: a letter was ordered less than 30 days ago")
	// ErrOnItsWay: the account has a letter on its way.
	ErrOnItsWay = errors.New("letter: a letter is on its way")
	// ErrNoCode: the account has no sent letter whose code may be entered.
	ErrNoCode = errors.New("letter: no code to enter")
	// ErrExpired: the code's time ran out.
	ErrExpired = errors.New("letter: the code has expired")
	// ErrSpent: the code's tries are used up.
	ErrSpent = errors.New("letter: the code's tries are used up")
)

// Recipient is whom the letter goes to: the account's name at the order,
// and the address the citizen gave. Sealed at rest.
type Recipient struct {
	Family  string  `json:"family"`
	Given   string  `json:"given"`
	Middle  string  `json:"middle,omitempty"`
	Address Address `json:"address"`
}

// LogValue keeps the name and address out of logs.
func (r Recipient) LogValue() slog.Value { return slog.StringValue("[recipient]") }

// Name is «Иванов Иван Иванович».
func (r Recipient) Name() string {
	return strings.TrimSpace(strings.Join(strings.Fields(r.Family+" "+r.Given+" "+r.Middle), " "))
}

// Letter is one letter, without its recipient.
type Letter struct {
	ID, AccountID string
	Status        Status
	Tries         int
	Tracking      string
	OrderedAt     time.Time
	// Zero until it happened.
	ExportedAt, SentAt, ExpiresAt, ClosedAt time.Time
}

// TriesLeft is the codes that may still be entered.
func (l *Letter) TriesLeft() int { return max(0, MaxTries-l.Tries) }

// NextOrder is when the account may order its next letter.
func (l *Letter) NextOrder() time.Time { return l.OrderedAt.Add(Interval) }

// Sealer seals and opens the recipients (keys.Manager).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// ActivityLog appends activity-log entries in the caller's transaction
// (audit.Log).
type ActivityLog interface {
	AppendAll(ctx context.Context, q sqldb.Runner, entries []audit.Entry) ([]audit.Entry, error)
}

// Store keeps the letters (tables letters and letter_orders).
type Store struct {
	db   *sqldb.DB
	seal Sealer
	hash Hasher
	log  ActivityLog
	now  func() time.Time
}

// NewStore returns the letters of db.
func NewStore(db *sqldb.DB, seal Sealer, hash Hasher, log ActivityLog, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, seal: seal, hash: hash, log: log, now: now}
}

var idRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func validID(s string) bool { return idRe.MatchString(s) }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func recipientAAD(id string) []byte { return []byte("letter.recipient|" + id) }

const columns = `id, account_id, status, tries, tracking, ordered_at, exported_at, sent_at, expires_at, closed_at`

func scanLetter(sc sqldb.Scanner) (*Letter, error) {
	var l Letter
	var status string
	var ordered int64
	var exported, sent, expires, closed sql.NullInt64
	if err := sc.Scan(&l.ID, &l.AccountID, &status, &l.Tries, &l.Tracking, &ordered, &exported, &sent, &expires, &closed); err != nil {
		return nil, err
	}
	l.Status, l.OrderedAt = Status(status), sqldb.Time(ordered)
	at := func(n sql.NullInt64) time.Time {
		if !n.Valid {
			return time.Time{}
		}
		return sqldb.Time(n.Int64)
	}
	l.ExportedAt, l.SentAt, l.ExpiresAt, l.ClosedAt = at(exported), at(sent), at(expires), at(closed)
	return &l, nil
}

// Order records a letter to rc for the account, and its activity-log
// entry, in one transaction: refused with ErrTooSoon within Interval of
// the account's previous order and ErrOnItsWay while a letter is on its
// way. The database decides both (a conditional upsert of the account's
// letter_orders row, a unique index of open letters), so racing requests
// on any replica make one letter.
func (s *Store) Order(ctx context.Context, accountID string, rc Recipient, ip string) (*Letter, error) {
	now := s.now()
	l := &Letter{ID: newID(), AccountID: accountID, Status: Ordered, OrderedAt: now}
	plain, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal.Seal(plain, recipientAAD(l.ID))
	if err != nil {
		return nil, fmt.Errorf("seal recipient: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := expireDue(ctx, tx, accountID, now); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO letter_orders (account_id, ordered_at) VALUES ($1, $2)
			ON CONFLICT (account_id) DO UPDATE SET ordered_at = excluded.ordered_at
			WHERE letter_orders.ordered_at <= $3`, accountID, sqldb.Micros(now), sqldb.Micros(now.Add(-Interval)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrTooSoon
		}
		_, err = tx.Exec(ctx, `INSERT INTO letters (id, account_id, status, recipient_enc, ordered_at) VALUES ($1, $2, $3, $4, $5)`,
			l.ID, accountID, string(Ordered), sealed, sqldb.Micros(now))
		if errors.Is(err, sqldb.ErrConflict) {
			return ErrOnItsWay
		}
		if err != nil {
			return err
		}
		_, err = s.log.AppendAll(ctx, tx, []audit.Entry{{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
			Action: audit.ActionLetterOrdered, IP: ip, Detail: map[string]string{"letter": l.ID}}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// expireDue closes the account's sent letters whose code ran out.
func expireDue(ctx context.Context, q sqldb.Querier, accountID string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE letters SET status = 'expired', closed_at = $2
		WHERE account_id = $1 AND status = 'sent' AND expires_at <= $2`, accountID, sqldb.Micros(now))
	return err
}

// Latest is the account's newest letter (sqldb.ErrNotFound: none), a sent
// one whose time ran out shown as expired.
func (s *Store) Latest(ctx context.Context, accountID string) (*Letter, error) {
	l, err := scanLetter(s.db.QueryRow(ctx, `SELECT `+columns+` FROM letters WHERE account_id = $1
		ORDER BY ordered_at DESC, id DESC LIMIT 1`, accountID))
	if err != nil {
		return nil, err
	}
	if l.Status == Sent && !s.now().Before(l.ExpiresAt) {
		l.Status = Expired
	}
	return l, nil
}

// List lists letters, newest first, of one status ("": all).
func (s *Store) List(ctx context.Context, status Status) ([]*Letter, error) {
	q, args := `SELECT `+columns+` FROM letters ORDER BY ordered_at DESC, id`, []any{}
	if status != "" {
		q, args = `SELECT `+columns+` FROM letters WHERE status = $1 ORDER BY ordered_at DESC, id`, []any{string(status)}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, scanLetter)
}

// ToExport is an ordered letter with its recipient, for printing.
type ToExport struct {
	Letter
	Recipient Recipient
}

// Ordered lists the letters waiting to be exported, oldest first, with
// their recipients opened.
func (s *Store) Ordered(ctx context.Context) ([]ToExport, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+`, recipient_enc FROM letters WHERE status = 'ordered' ORDER BY ordered_at, id`)
	if err != nil {
		return nil, err
	}
	out, err := sqldb.Collect(rows, func(sc sqldb.Scanner) (ToExport, error) {
		var t ToExport
		var sealed []byte
		l, err := scanLetter(scanTail{sc, &sealed})
		if err != nil {
			return t, err
		}
		t.Letter = *l
		plain, err := s.seal.Open(ctx, sealed, recipientAAD(l.ID))
		if err != nil {
			return t, fmt.Errorf("open recipient of letter %s: %w", l.ID, err)
		}
		return t, json.Unmarshal(plain, &t.Recipient)
	})
	return out, err
}

// scanTail scans one more column after a letter's.
type scanTail struct {
	sc   sqldb.Scanner
	tail any
}

func (s scanTail) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.tail)...) }

// Exported records that the letters' codes were printed: each letter's
// code hashed and the letter exported, in one transaction, or nothing
// (sqldb.ErrConflict when one of them is no longer ordered: another
// export took it).
func (s *Store) Exported(ctx context.Context, codes map[string]string) error {
	now := sqldb.Micros(s.now())
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for id, code := range codes {
			res, err := tx.Exec(ctx, `UPDATE letters SET status = 'exported', code_hash = $2, exported_at = $3 WHERE id = $1 AND status = 'ordered'`,
				id, codeHash(s.hash, id, code), now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != 1 {
				return fmt.Errorf("%w: letter %s is no longer waiting for export", sqldb.ErrConflict, id)
			}
		}
		return nil
	})
}

// SentError lists the dispatches that cannot be recorded.
type SentError struct{ Lines []LineError }

func (e *SentError) Error() string {
	msgs := make([]string, len(e.Lines))
	for i, l := range e.Lines {
		msgs[i] = l.Error()
	}
	return "letter: " + strings.Join(msgs, "; ")
}

// Sent records dispatches, all in one transaction or none: each letter
// must be exported (or sent already with the same tracking number, which
// changes nothing, so a file may be applied twice). The code works for
// Validity from now, the dispatch. Returns how many letters changed.
func (s *Store) Sent(ctx context.Context, ds []Dispatch, actor audit.Actor) (int, error) {
	now := s.now()
	changed := 0
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		changed = 0
		var bad []LineError
		var entries []audit.Entry
		for _, d := range ds {
			l, err := scanLetter(tx.QueryRow(ctx, `SELECT `+columns+` FROM letters WHERE id = $1`, d.LetterID))
			switch {
			case errors.Is(err, sqldb.ErrNotFound):
				bad = append(bad, LineError{d.Line, "no such letter"})
				continue
			case err != nil:
				return err
			case l.Status == Sent && l.Tracking == d.Tracking:
				continue
			case l.Status != Exported:
				bad = append(bad, LineError{d.Line, fmt.Sprintf("the letter is %s, not exported", l.Status)})
				continue
			}
			res, err := tx.Exec(ctx, `UPDATE letters SET status = 'sent', tracking = $2, sent_at = $3, expires_at = $4 WHERE id = $1 AND status = 'exported'`,
				d.LetterID, d.Tracking, sqldb.Micros(now), sqldb.Micros(now.Add(Validity)))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != 1 {
				return fmt.Errorf("%w: letter %s changed meanwhile", sqldb.ErrConflict, d.LetterID)
			}
			changed++
			entries = append(entries, audit.Entry{AccountID: l.AccountID, Actor: actor, Action: audit.ActionLetterSent,
				Detail: map[string]string{"letter": l.ID, "tracking": d.Tracking}})
		}
		if len(bad) > 0 {
			return &SentError{Lines: bad}
		}
		if len(entries) == 0 {
			return nil
		}
		_, err := s.log.AppendAll(ctx, tx, entries)
		return err
	})
	return changed, err
}

// Try is one code entered against the account's sent letter.
type Try struct {
	Letter *Letter
	// Right: the code matched (the letter is not yet confirmed: Confirm
	// does that with the evidence).
	Right bool
}

// Attempt takes one of the tries of the account's sent letter and compares
// code. The try is taken (committed) before the comparison, so parallel
// guesses never get more than MaxTries between them. A wrong code with no
// tries left spends the letter (with its activity-log entry). ErrNoCode:
// no sent letter; ErrExpired, ErrSpent: the code no longer works.
func (s *Store) Attempt(ctx context.Context, accountID, code, ip string) (*Try, error) {
	now := s.now()
	if err := expireDue(ctx, s.db, accountID, now); err != nil {
		return nil, err
	}
	var l *Letter
	var stored []byte
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		l, err = scanLetter(tx.QueryRow(ctx, `UPDATE letters SET tries = tries + 1
			WHERE account_id = $1 AND status = 'sent' AND tries < $2 AND expires_at > $3 RETURNING `+columns, accountID, MaxTries, sqldb.Micros(now)))
		if errors.Is(err, sqldb.ErrNotFound) {
			return s.whyNot(ctx, tx, accountID)
		}
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT code_hash FROM letters WHERE id = $1`, l.ID).Scan(&stored)
	})
	if err != nil {
		return nil, err
	}
	if sameCode(s.hash, l.ID, code, stored) {
		return &Try{Letter: l, Right: true}, nil
	}
	if l.Tries >= MaxTries {
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE letters SET status = 'spent', closed_at = $2 WHERE id = $1 AND status = 'sent'`, l.ID, sqldb.Micros(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // confirmed meanwhile by a right code: nothing to spend
			}
			_, err = s.log.AppendAll(ctx, tx, []audit.Entry{{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
				Action: audit.ActionLetterSpent, IP: ip, Detail: map[string]string{"letter": l.ID}}})
			return err
		})
		if err != nil {
			return nil, err
		}
		l.Status = Spent
	}
	return &Try{Letter: l}, nil
}

// GiveBack returns the try a right code took when its confirmation could
// not be written (the database failed between the two): the code is
// right, and the citizen must not lose the letter's last try to an
// outage and wait 30 days for another.
func (s *Store) GiveBack(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE letters SET tries = tries - 1 WHERE id = $1 AND status = 'sent' AND tries > 0`, id)
	return err
}

// whyNot explains why no try could be taken.
func (s *Store) whyNot(ctx context.Context, q sqldb.Querier, accountID string) error {
	l, err := scanLetter(q.QueryRow(ctx, `SELECT `+columns+` FROM letters WHERE account_id = $1 ORDER BY ordered_at DESC, id DESC LIMIT 1`, accountID))
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return ErrNoCode
	case err != nil:
		return err
	case l.Status == Expired || l.Status == Sent && !s.now().Before(l.ExpiresAt):
		return ErrExpired
	case l.Status == Spent || l.Status == Sent:
		return ErrSpent
	}
	return ErrNoCode
}

// Cancel withdraws a letter not yet sent (ordered or exported: its
// printout lost or spoilt) and lifts the account's 30-day limit, so the
// citizen may order again at once, with the activity-log entry, in one
// transaction. sqldb.ErrNotFound: no such letter; ErrOnItsWay: the letter
// is sent already (its code works until it expires) or closed.
func (s *Store) Cancel(ctx context.Context, id string, actor audit.Actor) error {
	now := s.now()
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		l, err := scanLetter(tx.QueryRow(ctx, `UPDATE letters SET status = 'cancelled', closed_at = $2
			WHERE id = $1 AND status IN ('ordered', 'exported') RETURNING `+columns, id, sqldb.Micros(now)))
		if errors.Is(err, sqldb.ErrNotFound) {
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM letters WHERE id = $1`, id).Scan(&status); err != nil {
				return err
			}
			return fmt.Errorf("%w: the letter is %s", ErrOnItsWay, status)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM letter_orders WHERE account_id = $1`, l.AccountID); err != nil {
			return err
		}
		_, err = s.log.AppendAll(ctx, tx, []audit.Entry{{AccountID: l.AccountID, Actor: actor, Action: audit.ActionLetterCancelled,
			Detail: map[string]string{"letter": l.ID}}})
		return err
	})
}

// MarkConfirmed closes the sent letter as confirmed, with its
// activity-log entry, in tx (assurance.Verification.Apply).
func (s *Store) MarkConfirmed(ctx context.Context, tx *sqldb.Tx, l *Letter, ip string) error {
	res, err := tx.Exec(ctx, `UPDATE letters SET status = 'confirmed', closed_at = $2 WHERE id = $1 AND status = 'sent'`, l.ID, sqldb.Micros(s.now()))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: letter %s is no longer sent", sqldb.ErrConflict, l.ID)
	}
	_, err = s.log.AppendAll(ctx, tx, []audit.Entry{{AccountID: l.AccountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: l.AccountID},
		Action: audit.ActionLetterConfirmed, IP: ip, Detail: map[string]string{"letter": l.ID, "tracking": l.Tracking}}})
	return err
}

// Recipient opens a letter's recipient.
func (s *Store) Recipient(ctx context.Context, id string) (*Recipient, error) {
	var sealed []byte
	if err := s.db.QueryRow(ctx, `SELECT recipient_enc FROM letters WHERE id = $1`, id).Scan(&sealed); err != nil {
		return nil, err
	}
	plain, err := s.seal.Open(ctx, sealed, recipientAAD(id))
	if err != nil {
		return nil, err
	}
	var rc Recipient
	return &rc, json.Unmarshal(plain, &rc)
}
