package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/sqldb"
)

// Kinds of actor.
const (
	ActorCitizen  = "citizen"  // the account's owner
	ActorOperator = "operator" // a service-centre operator
	ActorBank     = "bank"     // a bank verifying the identity
	ActorStaff    = "staff"    // an agency's officer or support (ID: "org/account")
	ActorAdmin    = "admin"    // an administrator at the command line
	ActorSystem   = "system"   // the application itself (expiry, lock-out)
)

// Actions.
const (
	ActionProfileUpdated     = "profile.updated"
	ActionDocumentsUpdated   = "documents.updated"
	ActionDocumentsPending   = "documents.pending" // a verified value changed, waiting for verification
	ActionContactChanged     = "contact.changed"   // Detail["field"]: "phone" or "email"
	ActionPasswordChanged    = "password.changed"
	ActionPasswordRecovered  = "password.recovered"
	ActionMFAEnabled         = "mfa.enabled"
	ActionMFADisabled        = "mfa.disabled"
	ActionBackupCodesRenewed = "backup_codes.renewed"
	ActionPasskeyAdded       = "passkey.added"
	ActionPasskeyRemoved     = "passkey.removed"
	ActionPasskeyRenamed     = "passkey.renamed"
	ActionCertificateLinked  = "certificate.linked"
	ActionCertificateRemoved = "certificate.removed"
	ActionSettingsChanged    = "settings.changed"
	ActionSessionEnded       = "session.ended"
	ActionGrantGiven         = "grant.given"
	ActionGrantRevoked       = "grant.revoked"
	ActionLevelChanged       = "level.changed"
	ActionSNILSVerified      = "snils.verified"      // Detail["method"]: the evidence, e.g. qualified_esignature
	ActionSNILSClaimDropped  = "snils.claim_dropped" // its holder proved it on another account
	ActionDeletionRequested  = "deletion.requested"
	ActionDeletionCancelled  = "deletion.cancelled"
	ActionAccountErased      = "account.erased"
	ActionAccountLocked      = "account.locked"   // password sign-in locked out
	ActionAccountUnlocked    = "account.unlocked" // lock-out lifted
	ActionAccountBlocked     = "account.blocked"  // by an operator
	ActionAccountUnblocked   = "account.unblocked"
	ActionExportDownloaded   = "export.downloaded"
	ActionBankMismatch       = "bank.mismatch" // a bank's data differ from the account's; Detail["bank"], ["fields"]
	ActionBankLinked         = "bank.linked"   // Detail["bank"]
	ActionBankUnlinked       = "bank.unlinked" // Detail["bank"]
	// A bank confirmed or registered the citizen at the partner API
	// (actor: the bank); the citizen disputed such a confirmation.
	ActionPartnerConfirmed  = "partner.confirmed" // Detail: confirmation, method, client
	ActionPartnerRegistered = "partner.registered"
	ActionPartnerDisputed   = "partner.disputed"
	// A staff role was granted or revoked (idp/staff). Detail: role, org.
	ActionStaffGranted = "staff.granted"
	ActionStaffRevoked = "staff.revoked"
	// An operator issued a temporary access code after checking the
	// passport (actor: the operator and office); the citizen used it to
	// set a new password and phone (verification/access).
	ActionAccessCodeIssued = "access_code.issued"
	ActionAccessCodeUsed   = "access_code.used"
	// The in-person desk (verification/desk). The citizen got or cancelled
	// a confirmation code; staff (actor: operator, "org/account") saw the
	// data unmasked, confirmed, refused (Detail: reason), corrected a
	// passport field (Detail: field) or started a registry check.
	ActionDeskCodeIssued    = "desk.code_issued"
	ActionDeskCodeCancelled = "desk.code_cancelled"
	ActionDeskViewed        = "desk.viewed"
	ActionDeskConfirmed     = "desk.confirmed"
	ActionDeskRefused       = "desk.refused"
	ActionDeskCorrected     = "desk.corrected"
	ActionDeskCheckStarted  = "desk.check_started"
)

// ActionContactChangeUndone: the previous contact's owner used the
// «Это был не я» link. Detail: field, value (the previous contact, masked),
// restored ("yes", or "no" when another account has verified it since),
// password ("suspended" until recovery).
const ActionContactChangeUndone = "contact.change_undone"

// ActionAccountCreated: the account was opened. Actor: the citizen
// registering, an administrator, or a bank opening it for its customer.
// Detail: via ("registration", "admin", "bank").
const ActionAccountCreated = "account.created"

// A confirmation code by registered letter (verification/letter): the
// citizen ordered a letter, it was sent (actor: the administrator who
// recorded the tracking number), the code confirmed the identity, three
// wrong codes spent it, or staff cancelled it before dispatch. Detail:
// letter (its id), tracking.
const (
	ActionLetterOrdered   = "letter.ordered"
	ActionLetterSent      = "letter.sent"
	ActionLetterConfirmed = "letter.confirmed"
	ActionLetterSpent     = "letter.spent"
	ActionLetterCancelled = "letter.cancelled"
)

// Limits. Longer identifiers, IPs and detail values are cut, not refused:
// a request must not be able to make an append fail.
const (
	maxDetailKeys  = 32
	maxDetailValue = 256
	maxID          = 128
	maxIP          = 64
	maxName        = 64

	hashEncodingV1 byte = 0x01
)

// ErrInvalid: the entry cannot be appended (no action, unknown actor kind,
// malformed detail key). It is a programming error, never the citizen's.
var ErrInvalid = errors.New("audit: invalid entry")

// Actor is who made a change.
type Actor struct {
	Kind string // ActorCitizen, ActorOperator…
	ID   string // the account, operator, bank or admin id; "" where none
}

// Entry is one change. Detail holds field names and masked values only,
// never a secret (see the package doc).
type Entry struct {
	Chain     int // see ChainOf
	Seq       int64
	At        time.Time
	AccountID string // "" for changes of no particular account
	Actor     Actor
	Action    string
	Detail    map[string]string
	IP        string
	PrevHash  []byte
	Hash      []byte
}

// LogValue keeps the details, which may hold masked personal data, out of
// logs.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("seq", e.Seq), slog.String("action", e.Action), slog.String("actor", e.Actor.Kind))
}

// MAC is the keyed hash the chain is made of; *keys.Manager implements it.
// It must return the same bytes for the same input across replicas and
// restarts.
type MAC interface {
	BlindIndex(domain, value string) []byte
}

// Log appends to and reads the activity log.
type Log struct {
	db  *sqldb.DB
	mac MAC
	now func() time.Time

	// heads are the heads this process last moved, by chain: a guess for
	// the next append's compare-and-swap on PostgreSQL that saves reading
	// the head when it is right. It is never trusted: the swap checks seq
	// and hash, and a wrong guess (another replica appended, or the
	// transaction rolled back) costs a read and a retry.
	mu    sync.Mutex
	heads map[int]head
}

// New returns the log on db. now is the clock for entries without a time.
func New(db *sqldb.DB, mac MAC, now func() time.Time) *Log {
	return &Log{db: db, mac: mac, now: now, heads: map[int]head{}}
}

// Chains is how many chains new entries are spread over. An account's
// entries all go to one chain, chosen by a hash of its id (ChainOf), so
// that audited writes of different accounts seldom wait for each other.
// Verify does not depend on it: it checks every chain it finds, so the
// number may change in a later release without touching stored entries.
const Chains = 16

// ChainOf is the chain of an account's entries: FNV-1a of the id modulo
// Chains, and chain 0 for entries of no account (which also holds the
// single chain of releases before chains, unchanged).
func ChainOf(accountID string) int {
	if accountID == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(accountID))
	return int(h.Sum32() % Chains)
}

// zeroHash is chain 0's start: entry 1's prev_hash and the head of an
// empty chain 0.
var zeroHash = make([]byte, 32)

// start is a chain's first prev_hash and the head of the empty chain:
// zero for chain 0, as before chains, and a MAC of the chain's number for
// the others, so that a whole chain renumbered by hand no longer verifies.
func (l *Log) start(chain int) []byte {
	if chain == 0 {
		return zeroHash
	}
	return l.mac.BlindIndex("audit.chain", strconv.Itoa(chain))
}

// headID is the audit_head row of a chain: chain 0's is row 1, the single
// head of releases before chains, which their replicas still lock during a
// rolling upgrade.
func headID(chain int) int { return chain + 1 }

// Append adds e to the log in q's transaction, so that it commits with the
// caller's change or not at all; call it last in the transaction (it locks
// the head of e's chain until the transaction ends). At defaults to now.
// It returns the entry as stored, with Chain, Seq and the hashes. A
// transaction that writes entries of several accounts writes them with
// one AppendAll, which locks their chains in a fixed order.
func (l *Log) Append(ctx context.Context, q sqldb.Runner, e Entry) (Entry, error) {
	out, err := l.AppendAll(ctx, q, []Entry{e})
	if err != nil {
		return Entry{}, err
	}
	return out[0], nil
}

// AppendAll adds entries to the log in q's transaction, in their order
// within each chain, and returns them as stored, in the order given. It
// locks the heads of their chains in ascending order, so that two
// transactions appending to the same chains cannot deadlock; call it once,
// last in the transaction. An invalid entry appends none.
func (l *Log) AppendAll(ctx context.Context, q sqldb.Runner, entries []Entry) ([]Entry, error) {
	out := make([]Entry, len(entries))
	details := make([]string, len(entries))
	var chains []int
	for i, e := range entries {
		if err := normalise(&e); err != nil {
			return nil, err
		}
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return nil, err
		}
		if e.At.IsZero() {
			e.At = l.now()
		}
		e.At = sqldb.Time(sqldb.Micros(e.At))
		e.Chain = ChainOf(e.AccountID)
		out[i], details[i] = e, detail
		if !slices.Contains(chains, e.Chain) {
			chains = append(chains, e.Chain)
		}
	}
	slices.Sort(chains)
	err := q.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, c := range chains {
			var es []pending
			for i := range out {
				if out[i].Chain == c {
					es = append(es, pending{&out[i], details[i]})
				}
			}
			if err := l.appendChain(ctx, tx, c, es); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pending is an entry on its way into its chain, with its stored detail.
type pending struct {
	e      *Entry
	detail string
}

// maxMoves bounds how often appendChain finds the head moved before it
// gives up. Each time, another transaction appended to the chain and
// committed, so the log as a whole moves on.
const maxMoves = 1000

// appendChain appends es, all of one chain, in their order.
//
// On PostgreSQL the head is not locked before the entries are made: it is
// read as committed, the entries are linked to it, and one statement moves
// the head from that seq to the last entry's, inserting the first entry
// only if the head was still there (compare-and-swap, insertFirst). That
// statement takes the head's row lock, held until the transaction ends,
// so the lock is held from then on only: one round trip and the commit,
// which is what limits appends to one chain. A head that moved meanwhile
// (the statement waited for the other appender's commit and then found
// another seq) matches nothing, inserts nothing and leaves the
// transaction usable: read again and retry. The remaining entries follow
// under the lock. Chains are taken in ascending order, so their locks are
// too.
//
// On SQLite the transaction holds the database's write lock from its
// start (BEGIN IMMEDIATE): nothing moves the head meanwhile.
func (l *Log) appendChain(ctx context.Context, tx *sqldb.Tx, chain int, es []pending) error {
	pg := tx.Dialect() == sqldb.Postgres
	for moves := 0; ; moves++ {
		h, ok := l.guess(chain)
		if !pg || moves > 0 || !ok {
			var err error
			if h, err = l.head(ctx, tx, chain); err != nil {
				return err
			}
		}
		from := h
		for _, p := range es {
			e := p.e
			e.Seq, e.PrevHash = h.seq+1, h.hash
			e.Hash = l.sum(e.PrevHash, e.Seq, sqldb.Micros(e.At), e.AccountID, e.Actor.Kind, e.Actor.ID, e.Action, p.detail, e.IP)
			h = head{e.Seq, e.Hash}
		}
		rest := es
		if pg {
			res, err := tx.Exec(ctx, insertFirst, append(entryArgs(es[0]), headID(chain), from.seq, from.hash, h.seq, h.hash)...)
			if err != nil {
				return fmt.Errorf("audit: append entry %d of chain %d: %w", es[0].e.Seq, chain, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("audit: append entry %d of chain %d: %w", es[0].e.Seq, chain, err)
			} else if n == 0 {
				if moves == maxMoves {
					return fmt.Errorf("audit: chain %d moved on %d times during one append: %w", chain, moves, sqldb.ErrConflict)
				}
				continue
			}
			rest = es[1:]
			l.guessed(chain, h)
		}
		// The rest in multi-row statements: a batch of verifications
		// appends hundreds of entries at once.
		for chunk := range slices.Chunk(rest, 500) {
			var b strings.Builder
			b.WriteString(insertEntries)
			args := make([]any, 0, 11*len(chunk))
			for i, p := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				var in string
				in, args = sqldb.In(args, entryArgs(p))
				b.WriteString("(" + in + ")")
			}
			if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("audit: append entries %d… of chain %d: %w", chunk[0].e.Seq, chain, err)
			}
		}
		if !pg {
			if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = $3`, h.seq, h.hash, headID(chain)); err != nil {
				return fmt.Errorf("audit: move head of chain %d: %w", chain, err)
			}
		}
		return nil
	}
}

func entryArgs(p pending) []any {
	e := p.e
	return []any{e.Chain, e.Seq, sqldb.Micros(e.At), e.AccountID, e.Actor.Kind, e.Actor.ID, e.Action, p.detail, e.IP, e.PrevHash, e.Hash}
}

const insertEntries = `INSERT INTO audit_log (chain, seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash) VALUES `

// insertFirst (PostgreSQL) moves head $12 from seq $13 and hash $14 to
// seq $15 and hash $16, and inserts the entry ($1…$11) only if it did.
const insertFirst = `WITH moved AS (
		UPDATE audit_head SET seq = $15, hash = $16 WHERE id = $12 AND seq = $13 AND hash = $14 RETURNING id
	)
	INSERT INTO audit_log (chain, seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash)
	SELECT $1::integer, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::bytea, $11::bytea FROM moved`

// head is a chain's last entry: its seq and hash.
type head struct {
	seq  int64
	hash []byte
}

// guess returns the head of chain this process last moved, if any.
func (l *Log) guess(chain int) (head, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.heads[chain]
	return h, ok
}

// guessed remembers h as the head of chain.
func (l *Log) guessed(chain int, h head) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heads[chain] = h
}

// head returns the chain's head as committed, creating it when missing.
func (l *Log) head(ctx context.Context, tx *sqldb.Tx, chain int) (head, error) {
	const query = `SELECT seq, hash FROM audit_head WHERE id = $1`
	var h head
	err := tx.QueryRow(ctx, query, headID(chain)).Scan(&h.seq, &h.hash)
	if errors.Is(err, sqldb.ErrNotFound) {
		// The chain's first append ever. Of two racing, one inserts and
		// the other waits for it and does nothing.
		if _, err := tx.Exec(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (id) DO NOTHING`,
			headID(chain), l.start(chain)); err != nil {
			return head{}, fmt.Errorf("audit: create head of chain %d: %w", chain, err)
		}
		err = tx.QueryRow(ctx, query, headID(chain)).Scan(&h.seq, &h.hash)
	}
	if err != nil {
		return head{}, fmt.Errorf("audit: read head of chain %d: %w", chain, err)
	}
	return h, nil
}

// sum computes an entry's hash from its stored form; see the package doc
// for the encoding.
func (l *Log) sum(prev []byte, seq, at int64, accountID, actorKind, actorID, action, detail, ip string) []byte {
	n := 1 + 4*9 + len(prev) + 16 + len(accountID) + len(actorKind) + len(actorID) + len(action) + len(detail) + len(ip)
	m := make([]byte, 0, n)
	m = append(m, hashEncodingV1)
	m = field(m, prev)
	m = field(m, binary.BigEndian.AppendUint64(nil, uint64(seq)))
	m = field(m, binary.BigEndian.AppendUint64(nil, uint64(at)))
	for _, s := range []string{accountID, actorKind, actorID, action, detail, ip} {
		m = binary.BigEndian.AppendUint32(m, uint32(len(s)))
		m = append(m, s...)
	}
	return l.mac.BlindIndex("audit", string(m))
}

func field(m, x []byte) []byte {
	m = binary.BigEndian.AppendUint32(m, uint32(len(x)))
	return append(m, x...)
}

// normalise checks what only a programming error gets wrong and trims what
// a request may make too long (IP, identifiers, detail values).
func normalise(e *Entry) error {
	if !isName(e.Action) {
		return fmt.Errorf("%w: action %q", ErrInvalid, e.Action)
	}
	switch e.Actor.Kind {
	case ActorCitizen, ActorOperator, ActorStaff, ActorBank, ActorAdmin, ActorSystem:
	default:
		return fmt.Errorf("%w: actor kind %q", ErrInvalid, e.Actor.Kind)
	}
	if len(e.Detail) > maxDetailKeys {
		return fmt.Errorf("%w: %d detail keys, at most %d", ErrInvalid, len(e.Detail), maxDetailKeys)
	}
	for k := range e.Detail {
		if !isName(k) {
			return fmt.Errorf("%w: detail key %q", ErrInvalid, k)
		}
	}
	e.AccountID = clean(e.AccountID, maxID)
	e.Actor.ID = clean(e.Actor.ID, maxID)
	e.IP = clean(e.IP, maxIP)
	if len(e.Detail) > 0 {
		d := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			d[k] = clean(v, maxDetailValue)
		}
		e.Detail = d
	}
	return nil
}

// isName reports whether s is a non-empty lower-case identifier such as
// "contact.changed" or "field".
func isName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// clean makes s valid UTF-8 without control characters (PostgreSQL text
// refuses NUL; a CSV cell should not break lines) of at most max bytes,
// cut at a character boundary.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// encodeDetail is the stored form: "" for no detail, else JSON with the
// keys sorted (encoding/json sorts map keys), so equal details are equal
// text.
func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("audit: encode detail: %w", err)
	}
	return string(b), nil
}

// decodeDetail reads the stored form back. Text that is not a JSON object
// of strings can only come from editing the table; it is kept whole under
// "raw" so that the entry still shows, and Verify reports it.
func decodeDetail(s string) map[string]string {
	if s == "" {
		return nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return map[string]string{"raw": s}
	}
	return d
}

const columns = `chain, seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash`

// row is an entry as stored.
type row struct {
	chain                                             int
	seq, at                                           int64
	accountID, actorKind, actorID, action, detail, ip string
	prevHash, hash                                    []byte
}

func (r *row) scan(rows interface{ Scan(...any) error }) error {
	return rows.Scan(&r.chain, &r.seq, &r.at, &r.accountID, &r.actorKind, &r.actorID, &r.action, &r.detail, &r.ip, &r.prevHash, &r.hash)
}

func (r *row) entry() Entry {
	return Entry{Seq: r.seq, At: sqldb.Time(r.at), AccountID: r.accountID, Actor: Actor{Kind: r.actorKind, ID: r.actorID},
		Action: r.action, Detail: decodeDetail(r.detail), IP: r.ip, PrevHash: r.prevHash, Hash: r.hash, Chain: r.chain}
}

// List returns the account's entries at or after since, newest first, at
// most limit of them (limit <= 0: all). The order is by time: an account's
// entries from before chains are in chain 0 and its later ones may be in
// another chain, numbered from 1 again.
func (l *Log) List(ctx context.Context, accountID string, since time.Time, limit int) ([]Entry, error) {
	query := `SELECT ` + columns + ` FROM audit_log WHERE account_id = $1 AND at >= $2 ORDER BY at DESC, chain DESC, seq DESC`
	args := []any{accountID, sqldb.Micros(since)}
	if limit > 0 {
		query += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := l.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var r row
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("audit: list: %w", sqldb.Classify(err))
		}
		out = append(out, r.entry())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", sqldb.Classify(err))
	}
	return out, nil
}
