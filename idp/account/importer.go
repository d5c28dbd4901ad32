package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
)

// Records is where Import takes its records from; *ImportReader is one.
// Next returns io.EOF after the last record.
type Records interface {
	Next() (ImportRecord, error)
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Batch is how many records go into one transaction; 0 means
	// DefaultImportBatch.
	Batch int
	// DryRun validates and checks every record against the database as
	// an import would, and writes nothing. Plain passwords are checked
	// against the policy but not hashed.
	DryRun bool
	// ContactsVerified: the source system verified the contacts, and they
	// are stored as verified (they then sign in and are unique). Otherwise
	// they are stored unverified, and the citizen confirms them with a
	// code.
	ContactsVerified bool
	// Problem is told of each problem of each failed record, in the
	// file's order within a batch. May be nil.
	Problem func(ImportProblem)
	// Progress, when set, is told the totals after each batch.
	Progress func(ImportReport)

	// failBatch, set by tests, fails the transaction of every batch of
	// more than one record, to show that the records are then written one
	// by one.
	failBatch bool
}

// DefaultImportBatch is the records per transaction when the options name
// none: large enough that the round trips of a transaction are few per
// account, small enough that a failed batch retried record by record costs
// little.
const DefaultImportBatch = 1000

// ImportReport counts the records of an import.
type ImportReport struct {
	Read     int `json:"read"`
	Imported int `json:"imported"` // in a dry run: would be imported
	Skipped  int `json:"skipped"`  // imported before (a re-run)
	Failed   int `json:"failed"`
}

// ImportVia is the "via" of an imported account's «Учётная запись
// создана» entry.
const ImportVia = "import"

// Import loads accounts from rs, a batch at a time, and returns the
// counts. A record that fails validation, or whose phone, e-mail or
// external id is already in the file or in the database, is reported to
// opts.Problem (line, field, message) and the others go on; the error is
// nil then, and only a failure of reading or of the database itself stops
// the import (the batches committed before stay).
//
// Validation is registration's (Applicant.Check: names, contacts, birth
// date, SNILS, the password policy for plain passwords), plus a strict
// parse of password_hash (password.ParsePHC), INN and passport. Nothing
// raises a level: an imported account is simplified at most, and its
// SNILS, INN and passport are claims exactly as if the citizen had typed
// them (a SNILS claim never conflicts and finds nobody).
//
// Each batch is one transaction: multi-row INSERTs of the accounts and
// their contacts, and one audit.Log.AppendAll of an
// «Учётная запись создана» entry per account (actor: the system, via
// "import"). A batch whose transaction fails (another writer took a
// contact meanwhile) is retried record by record, so that the good
// records land and the bad one is reported.
//
// Re-runs are idempotent. A record is skipped, not refused, when an
// account with its external_id exists, or — for a record without one —
// when every contact it has belongs to one and the same account, which
// has no external_id and the same family and given name (what the same
// record imported before looks like). A phone or e-mail of any other
// account, verified or not, is a duplicate.
func (a *Admin) Import(ctx context.Context, rs Records, opts ImportOptions) (ImportReport, error) {
	if opts.Batch <= 0 {
		opts.Batch = DefaultImportBatch
	}
	im := &importer{a: a, opts: opts, seen: map[seenKey]int{}, seenExt: map[string]int{}}
	var batch []*importItem
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := im.flush(ctx, batch)
		batch = batch[:0]
		if err == nil && opts.Progress != nil {
			opts.Progress(im.report)
		}
		return err
	}
	for {
		rec, err := rs.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return im.report, fmt.Errorf("read import: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return im.report, err
		}
		im.report.Read++
		if it := im.check(rec); it != nil {
			batch = append(batch, it)
		}
		if len(batch) >= opts.Batch {
			if err := flush(); err != nil {
				return im.report, err
			}
		}
	}
	return im.report, flush()
}

// importer is one run of Import.
type importer struct {
	a      *Admin
	opts   ImportOptions
	report ImportReport
	// seen: the contacts of the file's records so far, by kind and blind
	// index (the first 16 bytes: a million records cost tens of megabytes,
	// not the values themselves), with their line; seenExt the same for
	// external ids.
	seen    map[seenKey]int
	seenExt map[string]int
}

type seenKey struct {
	kind byte
	idx  [16]byte
}

// importItem is a valid record on its way into the database.
type importItem struct {
	line     int
	ext      string
	n        New
	password string // plain, to hash; "" when the record gave a hash
	id       string
	// idx are the blind indexes of the contacts, by kind.
	idx map[string][]byte
}

// fail reports the problems of a record and counts it failed.
func (im *importer) fail(ps ...ImportProblem) {
	im.report.Failed++
	if im.opts.Problem != nil {
		for _, p := range ps {
			im.opts.Problem(p)
		}
	}
}

// check validates rec and returns it ready for the database, or nil
// after reporting its problems.
func (im *importer) check(rec ImportRecord) *importItem {
	ps, n := checkRecord(rec, im.a.Policy, im.a.Now())
	it := &importItem{line: rec.Line, ext: strings.TrimSpace(rec.ExternalID), n: n, idx: map[string][]byte{}}
	if len(ps) == 0 && it.ext != "" {
		if first, ok := im.seenExt[it.ext]; ok {
			ps = append(ps, problem(rec.Line, "external_id", "Этот external_id уже встречается в строке "+strconv.Itoa(first),
				"This external_id already appears on line "+strconv.Itoa(first)))
		}
	}
	if len(ps) == 0 {
		for _, c := range []struct{ kind, value string }{{Phone, n.Phone.Value}, {Email, n.Email.Value}} {
			if c.value == "" {
				continue
			}
			idx := im.a.Accounts.crypto.BlindIndex(c.kind, indexValue(c.kind, c.value))
			it.idx[c.kind] = idx
			k := seenKey{kind: c.kind[0]}
			copy(k.idx[:], idx)
			if first, ok := im.seen[k]; ok {
				ru, en := contactWords(c.kind)
				ps = append(ps, problem(rec.Line, c.kind, ru+" уже встречается в строке "+strconv.Itoa(first), en+" already appears on line "+strconv.Itoa(first)))
			}
		}
	}
	if len(ps) > 0 {
		im.fail(ps...)
		return nil
	}
	// Only a valid record claims its contacts and id within the file: a
	// later good record is not refused for a broken one's values.
	for kind, idx := range it.idx {
		k := seenKey{kind: kind[0]}
		copy(k.idx[:], idx)
		im.seen[k] = rec.Line
	}
	if it.ext != "" {
		im.seenExt[it.ext] = rec.Line
	}
	if rec.PasswordHash == "" {
		it.password = rec.Password
	}
	it.id = NewID()
	return it
}

// contactWords name a contact kind in problems: «Телефон», "The phone".
func contactWords(kind string) (ru, en string) {
	if kind == Phone {
		return "Телефон", "The phone"
	}
	return "Адрес электронной почты", "The e-mail address"
}

// maxExternalID bounds an external id: keys of other systems are short.
const maxExternalID = 200

// checkRecord validates a record as registration validates an applicant
// (Applicant.Check), with password_hash in place of a password when the
// record gives one, and the documents a citizen may add later. It returns
// every problem, or the account to create (its hash set when the record
// gave one).
func checkRecord(rec ImportRecord, policy password.Policy, now time.Time) ([]ImportProblem, New) {
	ps := rec.Problems
	if len(ps) > 0 {
		return ps, New{}
	}
	add := func(errs validate.Errors) {
		for _, fe := range errs {
			ps = append(ps, problem(rec.Line, fe.Field, fe.RU, fe.EN))
		}
	}
	ap := Applicant{Phone: rec.Phone, Email: rec.Email, FamilyName: rec.FamilyName, GivenName: rec.GivenName,
		MiddleName: rec.MiddleName, BirthDate: rec.BirthDate, SNILS: rec.SNILS, Password: rec.Password}
	n, errs := ap.Check(policy, now)
	hash := strings.TrimSpace(rec.PasswordHash)
	switch {
	case hash != "" && rec.Password != "":
		ps = append(ps, problem(rec.Line, "password", "Укажите либо пароль, либо хэш пароля (password_hash), но не оба",
			"Give either a password or a password_hash, not both"))
	case hash != "":
		// The hash replaces the password: the policy cannot judge it.
		errs = dropField(errs, "password")
		if _, err := password.ParsePHC(hash); err != nil {
			ps = append(ps, problem(rec.Line, "password_hash", "Хэш пароля не в формате argon2id PHC ($argon2id$v=19$m=…,t=…,p=…$соль$ключ)",
				"Not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$key)"))
		} else {
			n.PasswordHash = hash
		}
	case rec.Password == "":
		errs = dropField(errs, "password")
		ps = append(ps, problem(rec.Line, "password", "Укажите пароль или хэш пароля (password_hash)", "Give a password or a password_hash"))
	}
	add(errs)
	if ext := strings.TrimSpace(rec.ExternalID); len(ext) > maxExternalID || strings.IndexFunc(ext, unicode.IsControl) >= 0 {
		ps = append(ps, problem(rec.Line, "external_id", fmt.Sprintf("external_id: не длиннее %d байт, без управляющих символов", maxExternalID),
			fmt.Sprintf("external_id: at most %d bytes, no control characters", maxExternalID)))
	}
	var more validate.Errors
	var err error
	if strings.TrimSpace(rec.Gender) != "" {
		n.Gender, err = validate.Gender(rec.Gender)
		more.Add(err)
	}
	if strings.TrimSpace(rec.INN) != "" {
		n.INN, err = validate.PersonINN(rec.INN)
		more.Add(err)
	}
	if p, errs := checkPassport(rec, n.BirthDate, now); len(errs) > 0 {
		more = append(more, errs...)
	} else {
		n.Passport = p
	}
	add(more)
	return ps, n
}

// checkPassport validates the passport fields, nil when none is given.
// Series and number are required with any other field.
func checkPassport(rec ImportRecord, birth, now time.Time) (*Passport, validate.Errors) {
	if strings.TrimSpace(rec.PassportSeries+rec.PassportNumber+rec.PassportIssueDate+rec.PassportIssuer+rec.Division) == "" {
		return nil, nil
	}
	var p Passport
	var errs validate.Errors
	var err error
	p.Series, err = validate.PassportSeries(rec.PassportSeries)
	errs.Add(err)
	p.Number, err = validate.PassportNumber(rec.PassportNumber)
	errs.Add(err)
	if strings.TrimSpace(rec.PassportIssueDate) != "" {
		p.IssueDate, err = validate.PassportIssueDate(rec.PassportIssueDate, birth, now, false)
		errs.Add(err)
	}
	if strings.TrimSpace(rec.PassportIssuer) != "" {
		p.Issuer, err = validate.PassportIssuer(rec.PassportIssuer)
		errs.Add(err)
	}
	if strings.TrimSpace(rec.Division) != "" {
		p.DivisionCode, err = validate.DivisionCode(rec.Division)
		errs.Add(err)
	}
	return &p, errs
}

func dropField(errs validate.Errors, field string) validate.Errors {
	out := errs[:0]
	for _, e := range errs {
		if e.Field != field {
			out = append(out, e)
		}
	}
	return out
}

// flush writes a batch: passwords hashed first (outside the transaction,
// in parallel), then one transaction; when it fails, each record alone.
func (im *importer) flush(ctx context.Context, batch []*importItem) error {
	if !im.opts.DryRun {
		if err := im.hash(ctx, batch); err != nil {
			return err
		}
	}
	rows, err := im.prepare(batch)
	if err != nil {
		return err
	}
	out, err := im.write(ctx, rows)
	if err == nil {
		im.tally(out)
		return nil
	}
	if len(rows) == 1 {
		return im.single(rows[0], err)
	}
	for _, r := range rows {
		out, err := im.write(ctx, []*importRow{r})
		if err != nil {
			if err := im.single(r, err); err != nil {
				return err
			}
			continue
		}
		im.tally(out)
	}
	return nil
}

// single reports a record whose own transaction failed: a conflict (a
// writer took its phone, e-mail or external id after the look-up) fails
// the record; anything else stops the import.
func (im *importer) single(r *importRow, err error) error {
	if errors.Is(err, sqldb.ErrConflict) || errors.Is(err, ErrTaken) {
		im.fail(problem(r.item.line, "", "Телефон, адрес почты или external_id занят другой учётной записью, созданной во время загрузки",
			"The phone, e-mail or external_id was taken by an account created during the import"))
		return nil
	}
	return err
}

func (im *importer) tally(out batchOutcome) {
	im.report.Imported += out.imported
	im.report.Skipped += out.skipped
	for _, ps := range out.failed {
		im.fail(ps)
	}
}

// hash hashes the plain passwords of the batch on every core (the hasher
// bounds the concurrency itself).
func (im *importer) hash(ctx context.Context, batch []*importItem) error {
	var todo []*importItem
	for _, it := range batch {
		if it.password != "" {
			todo = append(todo, it)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
		next    = make(chan *importItem)
		workers = min(runtime.GOMAXPROCS(0), len(todo))
	)
	for range workers {
		wg.Go(func() {
			for it := range next {
				h, err := im.a.Hash(ctx, it.password)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
				it.n.PasswordHash, it.password = h, ""
			}
		})
	}
	for _, it := range todo {
		next <- it
	}
	close(next)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("hash passwords: %w", first)
	}
	return nil
}

// importRow is an item with its sealed columns, made once: a batch
// retried record by record writes the same bytes.
type importRow struct {
	item                                  *importItem
	snilsEnc, snilsClaim, innEnc, passEnc []byte
	contacts                              []importContact
}

type importContact struct {
	kind     string
	enc, idx []byte
}

func (im *importer) prepare(batch []*importItem) ([]*importRow, error) {
	st := im.a.Accounts
	rows := make([]*importRow, len(batch))
	for i, it := range batch {
		r := &importRow{item: it}
		var err error
		if it.n.SNILS != "" {
			if r.snilsEnc, err = st.crypto.Seal([]byte(it.n.SNILS), aad("snils", it.id)); err != nil {
				return nil, err
			}
			r.snilsClaim = st.crypto.BlindIndex(SNILS, it.n.SNILS)
		}
		if it.n.INN != "" {
			if r.innEnc, err = st.crypto.Seal([]byte(it.n.INN), aad("inn", it.id)); err != nil {
				return nil, err
			}
		}
		if r.passEnc, err = st.sealPassport(it.n.Passport, it.id); err != nil {
			return nil, err
		}
		for _, c := range []struct{ kind, value string }{{Phone, it.n.Phone.Value}, {Email, it.n.Email.Value}} {
			if c.value == "" {
				continue
			}
			enc, err := st.crypto.Seal([]byte(c.value), aad("contacts."+c.kind, it.id))
			if err != nil {
				return nil, err
			}
			r.contacts = append(r.contacts, importContact{c.kind, enc, it.idx[c.kind]})
		}
		rows[i] = r
	}
	return rows, nil
}

// batchOutcome is what one transaction did.
type batchOutcome struct {
	imported, skipped int
	failed            []ImportProblem
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// errInjected is the failure of ImportOptions.failBatch.
var errInjected = errors.New("injected batch failure")

// write looks the rows up and inserts those not skipped or refused, in one
// transaction.
func (im *importer) write(ctx context.Context, rows []*importRow) (batchOutcome, error) {
	var out batchOutcome
	now := im.a.Now().UTC()
	err := im.a.Accounts.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = batchOutcome{}
		existing, err := lookUp(ctx, tx, rows)
		if err != nil {
			return err
		}
		var insert []*importRow
		for _, r := range rows {
			switch skip, ps := existing.judge(r); {
			case len(ps) > 0:
				out.failed = append(out.failed, ps...)
			case skip:
				out.skipped++
			default:
				insert = append(insert, r)
			}
		}
		out.imported = len(insert)
		if len(insert) == 0 {
			return nil
		}
		if err := im.insert(ctx, tx, insert, now); err != nil {
			return err
		}
		if im.opts.failBatch && len(rows) > 1 {
			return errInjected
		}
		if im.opts.DryRun {
			return errDryRun
		}
		entries := make([]audit.Entry, len(insert))
		for i, r := range insert {
			entries[i] = audit.Entry{AccountID: r.item.id, At: now, Actor: audit.Actor{Kind: audit.ActorSystem},
				Action: audit.ActionAccountCreated, Detail: map[string]string{"via": ImportVia}}
		}
		_, err = im.a.Activity.Log().AppendAll(ctx, tx, entries)
		return err
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return out, err
}

// insert writes the accounts and their contacts with multi-row INSERTs.
func (im *importer) insert(ctx context.Context, tx *sqldb.Tx, rows []*importRow, now time.Time) error {
	micros := sqldb.Micros(now)
	var verified any
	if im.opts.ContactsVerified {
		verified = micros
	}
	accounts := make([][]any, len(rows))
	var contacts [][]any
	for i, r := range rows {
		n := r.item.n
		accounts[i] = []any{r.item.id, StatusActive, assurance.Simplified, n.Name.Family, n.Name.Given, n.Name.Middle,
			nullDate(n.BirthDate), nullString(n.Gender), r.snilsEnc, r.snilsClaim, r.innEnc, r.passEnc,
			nullString(n.PasswordHash), nullMicrosIf(n.PasswordHash != "", now), micros, micros, nullString(r.item.ext)}
		for _, c := range r.contacts {
			contacts = append(contacts, []any{r.item.id, c.kind, c.enc, c.idx, verified, micros})
		}
	}
	if err := insertRows(ctx, tx, `INSERT INTO accounts (id, status, level, family_name, given_name, middle_name, birth_date, gender,
		snils_enc, snils_claim_index, inn_enc, passport_enc, password_hash, password_changed_at, created_at, updated_at, external_id) VALUES `, accounts); err != nil {
		return fmt.Errorf("import accounts: %w", err)
	}
	if err := insertRows(ctx, tx, `INSERT INTO contacts (account_id, kind, value_enc, value_index, verified_at, created_at) VALUES `, contacts); err != nil {
		return fmt.Errorf("import contacts: %w", err)
	}
	return nil
}

// maxParams bounds the parameters of one statement, well below
// PostgreSQL's 65535 and SQLite's 32766. SQLite's is far lower: it looks
// a "$N" parameter up by name in a list, once when preparing and once when
// binding, so a statement's cost grows with the square of its parameters
// (8000 made SQLite five times slower than 400).
func maxParams(d sqldb.Dialect) int {
	if d == sqldb.SQLite {
		return 400
	}
	return 8000
}

// insertRows runs head followed by as many rows of values per statement as
// maxParams allows.
func insertRows(ctx context.Context, tx *sqldb.Tx, head string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	per := max(1, maxParams(tx.Dialect())/len(rows[0]))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for i, row := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				args = append(args, v)
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// existing is what the database already holds of a batch's keys.
type existing struct {
	// byExt: accounts by external id.
	byExt map[string]bool
	// contacts: the accounts holding each blind index (a value may be on
	// several accounts while unverified).
	contacts map[string][]holder
}

type holder struct {
	kind, accountID string
	ext             string
	family, given   string
}

// judge decides a row: skipped (imported before), refused (problems) or
// to insert (neither).
func (e existing) judge(r *importRow) (skip bool, ps []ImportProblem) {
	it := r.item
	if it.ext != "" && e.byExt[it.ext] {
		return true, nil
	}
	// The same record imported before: every contact held by one and the
	// same account, alone, which came without an external id and has the
	// record's name.
	if it.ext == "" {
		var same *holder
		for _, c := range r.contacts {
			hs := e.holders(c)
			if len(hs) != 1 || (same != nil && hs[0].accountID != same.accountID) {
				same = nil
				break
			}
			same = &hs[0]
		}
		if same != nil && same.ext == "" && validate.SameName(same.family, it.n.Name.Family) && validate.SameName(same.given, it.n.Name.Given) {
			return true, nil
		}
	}
	for _, c := range r.contacts {
		if len(e.holders(c)) > 0 {
			ru, en := contactWords(c.kind)
			ps = append(ps, problem(it.line, c.kind, ru+" уже принадлежит другой учётной записи", en+" already belongs to another account"))
		}
	}
	return false, ps
}

func (e existing) holders(c importContact) []holder {
	var out []holder
	for _, h := range e.contacts[string(c.idx)] {
		if h.kind == c.kind {
			out = append(out, h)
		}
	}
	return out
}

// lookUp reads the accounts holding a batch's external ids and contacts,
// in the batch's transaction.
func lookUp(ctx context.Context, tx *sqldb.Tx, rows []*importRow) (existing, error) {
	e := existing{byExt: map[string]bool{}, contacts: map[string][]holder{}}
	var exts, idxs []any
	for _, r := range rows {
		if r.item.ext != "" {
			exts = append(exts, r.item.ext)
		}
		for _, c := range r.contacts {
			idxs = append(idxs, c.idx)
		}
	}
	per := maxParams(tx.Dialect())
	err := inChunks(exts, per, func(in string, args []any) error {
		found, err := sqldb.Strings(ctx, tx, `SELECT external_id FROM accounts WHERE external_id IN (`+in+`)`, args...)
		for _, ext := range found {
			e.byExt[ext] = true
		}
		return err
	})
	if err != nil {
		return e, err
	}
	err = inChunks(idxs, per, func(in string, args []any) error {
		rs, err := tx.Query(ctx, `SELECT c.value_index, c.kind, c.account_id, a.external_id, a.family_name, a.given_name
			FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.value_index IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var idx []byte
			var h holder
			var ext *string
			if err := rs.Scan(&idx, &h.kind, &h.accountID, &ext, &h.family, &h.given); err != nil {
				return sqldb.Classify(err)
			}
			if ext != nil {
				h.ext = *ext
			}
			e.contacts[string(idx)] = append(e.contacts[string(idx)], h)
		}
		return sqldb.Classify(rs.Err())
	})
	return e, err
}

// inChunks calls fn with "$1, $2, …" and the arguments, at most per at a
// time.
func inChunks(args []any, per int, fn func(in string, args []any) error) error {
	for start := 0; start < len(args); start += per {
		chunk := args[start:min(start+per, len(args))]
		var in strings.Builder
		for i := range chunk {
			if i > 0 {
				in.WriteString(", ")
			}
			in.WriteByte('$')
			in.WriteString(strconv.Itoa(i + 1))
		}
		if err := fn(in.String(), chunk); err != nil {
			return err
		}
	}
	return nil
}
