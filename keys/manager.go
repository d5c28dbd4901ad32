package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Defaults of Options.
const (
	DefaultRotationPeriod   = 90 * 24 * time.Hour
	DefaultMaxTokenLifetime = time.Hour
	DefaultRefreshInterval  = 15 * time.Second
)

// ErrNoSigningKey is returned by Signer when no key of the algorithm signs
// at this moment, which only happens when clocks disagree badly.
var ErrNoSigningKey = errors.New("no signing key")

// Options configure a Manager. Zero values take the defaults.
type Options struct {
	// RotationPeriod is how old the newest key of an algorithm may grow
	// before a successor is added (--key-rotation-period). Default 90 days.
	RotationPeriod time.Duration
	// MaxTokenLifetime is the longest lifetime of anything signed. It is
	// both the publish lead (a new key is in the JWKS this long before it
	// signs, so relying parties' cached key sets know it) and the retire
	// tail (a key stays in the JWKS this long after it stops signing).
	// Default 1 hour. All replicas must use the same value.
	MaxTokenLifetime time.Duration
	// RefreshInterval is how often Run reloads the keys from the database
	// and runs the scheduled work. Default 15 seconds.
	RefreshInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives key events; default slog.Default().
	Logger *slog.Logger
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	// Emergency makes the new keys sign at once and withdraws every earlier
	// key from the JWKS at once, erasing their private parts: for a
	// compromised key. Tokens signed by the withdrawn keys stop verifying.
	Emergency bool
}

// SigningKey is the key that signs for one algorithm now. Private is the
// concrete *ecdsa.PrivateKey or *rsa.PrivateKey. Printing or logging a
// SigningKey shows only its kid and algorithm.
type SigningKey struct {
	ID      string
	Alg     string
	Private crypto.Signer
}

// String returns a redacted description.
func (k SigningKey) String() string { return "SigningKey(" + k.Alg + " " + k.ID + ")" }

// GoString is String, so that %#v cannot print key material.
func (k SigningKey) GoString() string { return k.String() }

// LogValue implements slog.LogValuer without the private key.
func (k SigningKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("alg", k.Alg))
}

// PublicKey is one key of the JWKS. Key is *ecdsa.PublicKey or
// *rsa.PublicKey.
type PublicKey struct {
	ID  string
	Alg string
	Key crypto.PublicKey
}

// Manager holds Gosid's signing keys for one replica. It is safe for
// concurrent use; Signer, PublicKeys and JSON read an immutable snapshot
// without locks or database access.
type Manager struct {
	db     *sqldb.DB
	master *MasterKey
	opts   Options
	log    *slog.Logger

	// reloadMu serialises reloads and key additions; it guards dataKeys
	// and current.
	reloadMu sync.Mutex
	dataKeys map[string]*dataKey
	current  *dataKey // encrypts new keys: the highest seq

	// viewMu serialises replacing the snapshot, so that a rebuild at a
	// time boundary never replaces newer rows with older ones.
	viewMu sync.Mutex
	view   atomic.Pointer[view]

	// fields is the immutable snapshot of the data keys that Seal, Open
	// and BlindIndex read without taking reloadMu (which is held across
	// database round trips).
	fields atomic.Pointer[fieldKeys]
}

// String describes the Manager without any key material.
func (m *Manager) String() string { return "keys.Manager(master " + m.master.ID() + ")" }

// GoString is String.
func (m *Manager) GoString() string { return m.String() }

// LogValue implements slog.LogValuer without any key material.
func (m *Manager) LogValue() slog.Value {
	return slog.GroupValue(slog.String("master_key_id", m.master.ID()))
}

// view is an immutable snapshot of the keys, valid for times in
// [at, until).
type view struct {
	at, until time.Time // until zero: valid until the rows change
	rows      []keyRow
	mat       map[string]*material
	signers   map[string]SigningKey
	public    []PublicKey
	jwks      []byte
}

func (v *view) stale(now time.Time) bool {
	return now.Before(v.at) || (!v.until.IsZero() && !now.Before(v.until))
}

// Open loads the key material of the database, creating what is missing:
// the first data key and the first key of each algorithm. A database whose
// data keys are wrapped by another master key yields ErrWrongMasterKey
// before anything is written. Several replicas may Open on an empty
// database at once: one of them creates each key and the others use it.
func Open(ctx context.Context, db *sqldb.DB, master *MasterKey, opts Options) (*Manager, error) {
	if opts.RotationPeriod == 0 {
		opts.RotationPeriod = DefaultRotationPeriod
	}
	if opts.MaxTokenLifetime == 0 {
		opts.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch {
	case opts.MaxTokenLifetime < 0 || opts.RefreshInterval < 0:
		return nil, errors.New("keys: durations must be positive")
	case opts.MaxTokenLifetime <= opts.RefreshInterval:
		// A key added by one replica must reach every replica's JWKS
		// before it signs anywhere.
		return nil, fmt.Errorf("keys: the maximum token lifetime (%s) must exceed the key refresh interval (%s)", opts.MaxTokenLifetime, opts.RefreshInterval)
	case opts.RotationPeriod <= 2*opts.MaxTokenLifetime:
		return nil, fmt.Errorf("keys: the key rotation period (%s) must exceed twice the maximum token lifetime (%s)", opts.RotationPeriod, opts.MaxTokenLifetime)
	}
	m := &Manager{
		db:       db,
		master:   master,
		opts:     opts,
		log:      opts.Logger.With(slog.String("component", "keys")),
		dataKeys: map[string]*dataKey{},
	}
	m.reloadMu.Lock()
	err := m.ensureDataKey(ctx)
	m.reloadMu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := m.ensureFirstKeys(ctx); err != nil {
		return nil, err
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Run reloads the keys every RefreshInterval (so that keys added or
// withdrawn by another replica or by `gosid keys rotate` are served within
// that interval), adds successors when the rotation period has passed, and
// erases the private parts of keys that can no longer sign. It returns when
// ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.RefreshInterval)
	defer t.Stop()
	for {
		if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("refreshing signing keys failed; still serving the keys loaded before", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh does one round of Run's work: reload, scheduled rotation,
// erasure of retired private parts.
func (m *Manager) Refresh(ctx context.Context) error {
	if err := m.reload(ctx); err != nil {
		return err
	}
	now := m.opts.Now()
	v := m.view.Load()
	changed := false
	for _, alg := range algorithms {
		newest := newestRow(v.rows, alg)
		switch {
		case newest == nil:
			// The chain was emptied under us; start it again.
			if err := m.ensureFirstKeys(ctx); err != nil {
				return err
			}
			changed = true
		case now.Sub(newest.created) >= m.opts.RotationPeriod:
			seq, won, err := m.rotateAlg(ctx, alg, false, newest.seq)
			if err != nil {
				return fmt.Errorf("scheduled rotation of %s: %w", alg, err)
			}
			if won {
				m.log.Info("scheduled key rotation", slog.String("alg", alg), slog.Int("seq", seq),
					slog.Duration("key_age", now.Sub(newest.created)))
			}
			changed = true
		}
	}
	if changed {
		if err := m.reload(ctx); err != nil {
			return err
		}
		v = m.view.Load()
	}
	infos, _ := schedule(v.rows, m.opts.MaxTokenLifetime, now)
	for _, info := range infos {
		if info.State != StateRetired && info.State != StateWithdrawn {
			continue
		}
		if r := rowByKID(v.rows, info.KID); r == nil || r.privateEnc == nil {
			continue
		}
		erased, err := erasePrivate(ctx, m.db, info.KID)
		if err != nil {
			return fmt.Errorf("erase private part of key %s: %w", info.KID, err)
		}
		if erased {
			m.log.Info("erased the private part of a retired signing key", slog.String("kid", info.KID), slog.String("alg", info.Alg))
		}
	}
	return nil
}

// Signer returns the key that signs for alg ("ES256" or "RS256") now.
func (m *Manager) Signer(alg string) (SigningKey, error) {
	v := m.snapshot()
	if k, ok := v.signers[alg]; ok {
		return k, nil
	}
	if !slices.Contains(algorithms, alg) {
		return SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	return SigningKey{}, fmt.Errorf("%w for %s at %s", ErrNoSigningKey, alg, m.opts.Now().UTC().Format(time.RFC3339))
}

// PublicKeys returns the keys of the JWKS, sorted by algorithm and age.
func (m *Manager) PublicKeys() []PublicKey {
	return slices.Clone(m.snapshot().public)
}

// JSON returns the JWKS document, {"keys":[…]}, with public members, kid,
// alg and use only. The bytes are shared: callers must not modify them.
func (m *Manager) JSON() []byte {
	return m.snapshot().jwks
}

// snapshot returns the current view, rebuilding it in memory when the clock
// has crossed a state change.
func (m *Manager) snapshot() *view {
	v := m.view.Load()
	now := m.opts.Now()
	if !v.stale(now) {
		return v
	}
	m.viewMu.Lock()
	defer m.viewMu.Unlock()
	v = m.view.Load()
	if v.stale(now) {
		v = m.buildView(v.rows, v.mat, now)
		m.view.Store(v)
	}
	return v
}

// buildView computes the snapshot of rows at now from already loaded
// material.
func (m *Manager) buildView(rows []keyRow, mat map[string]*material, now time.Time) *view {
	infos, next := schedule(rows, m.opts.MaxTokenLifetime, now)
	v := &view{at: now, until: next, rows: rows, mat: mat, signers: map[string]SigningKey{}}
	var jwks []publicJWK
	for _, info := range infos {
		km := mat[info.KID]
		if km == nil || !info.State.Published() {
			continue
		}
		v.public = append(v.public, PublicKey{ID: info.KID, Alg: info.Alg, Key: km.public})
		jwks = append(jwks, km.jwk)
		if info.State == StateActive && km.private != nil {
			v.signers[info.Alg] = SigningKey{ID: info.KID, Alg: info.Alg, Private: km.private}
		}
	}
	v.jwks = jwksJSON(jwks)
	return v
}

// reload reads the rows and decrypts the private parts of keys not seen
// before that may still sign.
func (m *Manager) reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	rows, err := selectKeys(ctx, m.db)
	if err != nil {
		return err
	}
	now := m.opts.Now()
	var known map[string]*material
	if old := m.view.Load(); old != nil {
		known = old.mat
	}
	infos, _ := schedule(rows, m.opts.MaxTokenLifetime, now)
	mat := make(map[string]*material, len(infos))
	for _, info := range infos {
		if !info.State.Published() {
			continue
		}
		r := rowByKID(rows, info.KID)
		km := known[info.KID]
		if km == nil {
			if km, err = parsePublic(r.kid, r.alg, r.publicDER); err != nil {
				return err
			}
		}
		mayStillSign := info.State == StatePublished || info.State == StateActive
		switch {
		case mayStillSign && km.private == nil:
			if r.privateEnc == nil {
				return fmt.Errorf("key %s: %w: its private part is missing although it is %s", r.kid, ErrCorrupt, info.State)
			}
			dk, err := m.dataKey(ctx, r.dataKeyID)
			if err != nil {
				return err
			}
			priv, err := openPrivate(km, r.kid, r.privateEnc, dk)
			if err != nil {
				return err
			}
			km = &material{jwk: km.jwk, public: km.public, private: priv}
			if known[info.KID] == nil {
				m.log.Info("loaded signing key", slog.String("kid", r.kid), slog.String("alg", r.alg),
					slog.Int("seq", r.seq), slog.String("state", string(info.State)), slog.Time("signs_from", r.signsFrom))
			}
		case !mayStillSign && km.private != nil:
			km = &material{jwk: km.jwk, public: km.public} // let the private key go
		}
		mat[info.KID] = km
	}
	m.viewMu.Lock()
	m.view.Store(m.buildView(rows, mat, now))
	m.viewMu.Unlock()
	return nil
}

// dataKey returns the unwrapped data key id, loading data keys created
// since the last look. reloadMu must be held.
func (m *Manager) dataKey(ctx context.Context, id string) (*dataKey, error) {
	if dk := m.dataKeys[id]; dk != nil {
		return dk, nil
	}
	if err := m.loadDataKeys(ctx); err != nil {
		return nil, err
	}
	if dk := m.dataKeys[id]; dk != nil {
		return dk, nil
	}
	return nil, fmt.Errorf("data key %s: %w", id, sqldb.ErrNotFound)
}

// loadDataKeys unwraps the data keys not yet held. Every one must be
// wrapped by our master key: that check runs before Open writes anything.
// reloadMu must be held.
func (m *Manager) loadDataKeys(ctx context.Context) error {
	rows, err := selectDataKeys(ctx, m.db)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if dk := m.dataKeys[r.id]; dk != nil {
			if m.current == nil || dk.seq > m.current.seq {
				m.current = dk
			}
			continue
		}
		if r.masterKeyID != m.master.ID() {
			return wrongMasterKey(r.masterKeyID, m.master.ID())
		}
		raw, err := m.master.unwrap(r.wrapped, r.id)
		if err != nil {
			return fmt.Errorf("unwrap data key %s: %w", r.id, err)
		}
		dk, err := newDataKey(r.id, r.seq, raw)
		clear(raw)
		if err != nil {
			return fmt.Errorf("data key %s: %w: %w", r.id, ErrCorrupt, err)
		}
		m.dataKeys[r.id] = dk
		if m.current == nil || dk.seq > m.current.seq {
			m.current = dk
		}
	}
	m.publishDataKeys()
	return nil
}

// ensureDataKey loads the data keys and creates the first one if there is
// none. Replicas racing to create it insert seq 1; the unique constraint
// lets one win and the others load the winner's. reloadMu must be held.
func (m *Manager) ensureDataKey(ctx context.Context) error {
	for range 3 {
		if err := m.loadDataKeys(ctx); err != nil {
			return err
		}
		if m.current != nil {
			return nil
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		id := "dk_" + randomID(12)
		wrapped, err := m.master.wrap(raw, id)
		if err != nil {
			clear(raw)
			return err
		}
		dk, err := newDataKey(id, 1, raw)
		clear(raw)
		if err != nil {
			return err
		}
		err = insertDataKey(ctx, m.db, dataKeyRow{id: id, seq: 1, masterKeyID: m.master.ID(), wrapped: wrapped}, m.opts.Now())
		switch {
		case err == nil:
			m.dataKeys[id], m.current = dk, dk
			m.publishDataKeys()
			m.log.Info("created the first data key", slog.String("data_key_id", id), slog.String("master_key_id", m.master.ID()))
			return nil
		case errors.Is(err, sqldb.ErrConflict):
			continue // another replica created it; load theirs
		default:
			return fmt.Errorf("create data key: %w", err)
		}
	}
	return errors.New("create data key: lost the race repeatedly")
}

func (m *Manager) currentDataKey() *dataKey {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	return m.current
}

// ensureFirstKeys adds seq 1 of each algorithm that has no key; the first
// key signs at once, since nobody can have cached a key set without it.
func (m *Manager) ensureFirstKeys(ctx context.Context) error {
	for _, alg := range algorithms {
		n, err := maxSeq(ctx, m.db, alg)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, _, err := m.rotateAlg(ctx, alg, false, 0); err != nil {
			return fmt.Errorf("create the first %s key: %w", alg, err)
		}
	}
	return nil
}

// rotateAlg adds the successor of key number expected of alg, generating it
// outside the transaction. When another replica has added that successor
// first, the unique (alg, seq) refuses ours and won is false: someone else
// rotated, which is as good. An emergency rotation always adds a key, after
// the highest existing one, and withdraws all keys before it.
func (m *Manager) rotateAlg(ctx context.Context, alg string, emergency bool, expected int) (seq int, won bool, err error) {
	if expected < 0 {
		if expected, err = maxSeq(ctx, m.db, alg); err != nil {
			return 0, false, err
		}
	}
	dk := m.currentDataKey()
	sk, err := sealNewKey(alg, dk)
	if err != nil {
		return 0, false, err
	}
	now := m.opts.Now()
	if !emergency {
		signsFrom := now.Add(m.opts.MaxTokenLifetime)
		if expected == 0 {
			signsFrom = now
		}
		seq = expected + 1
		err = m.db.InTx(ctx, func(tx *sqldb.Tx) error {
			return insertKey(ctx, tx, sk, seq, now, signsFrom)
		})
		if errors.Is(err, sqldb.ErrConflict) {
			m.log.Debug("another replica added the key first", slog.String("alg", alg), slog.Int("seq", seq))
			return seq, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("add %s key %d: %w", alg, seq, err)
		}
		m.log.Info("added signing key", slog.String("kid", sk.kid), slog.String("alg", alg), slog.Int("seq", seq),
			slog.Time("signs_from", signsFrom))
		return seq, true, nil
	}
	for range 10 {
		err = m.db.InTx(ctx, func(tx *sqldb.Tx) error {
			n, err := maxSeq(ctx, tx, alg)
			if err != nil {
				return err
			}
			seq = n + 1
			if err := insertKey(ctx, tx, sk, seq, now, now); err != nil {
				return err
			}
			return withdrawBefore(ctx, tx, alg, seq, now)
		})
		if !errors.Is(err, sqldb.ErrConflict) {
			break
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("emergency rotation of %s: %w", alg, err)
	}
	m.log.Warn("emergency key rotation: earlier keys withdrawn", slog.String("kid", sk.kid), slog.String("alg", alg), slog.Int("seq", seq))
	return seq, true, nil
}

// Rotate adds a successor key for every algorithm and returns the new keys.
// A normal rotation publishes the new keys now; they sign after
// MaxTokenLifetime. When another replica rotates at the same moment, only
// one successor is added and Rotate returns it. See RotateOptions for an
// emergency rotation.
func (m *Manager) Rotate(ctx context.Context, opts RotateOptions) ([]KeyInfo, error) {
	type added struct {
		alg string
		seq int
	}
	var news []added
	for _, alg := range algorithms {
		seq, _, err := m.rotateAlg(ctx, alg, opts.Emergency, -1)
		if err != nil {
			return nil, err
		}
		news = append(news, added{alg, seq})
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	infos, _ := schedule(m.view.Load().rows, m.opts.MaxTokenLifetime, m.opts.Now())
	var out []KeyInfo
	for _, n := range news {
		for _, info := range infos {
			if info.Alg == n.alg && info.Seq == n.seq {
				out = append(out, info)
			}
		}
	}
	return out, nil
}

// List returns every signing key ever made, as the database holds them
// now, sorted by algorithm and seq.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := selectKeys(ctx, m.db)
	if err != nil {
		return nil, err
	}
	infos, _ := schedule(rows, m.opts.MaxTokenLifetime, m.opts.Now())
	return infos, nil
}

// RotateMaster re-wraps every data key under newKey, in one transaction,
// each with a compare-and-swap on the old master key's id, and returns how
// many it re-wrapped. Data keys already under newKey are left alone, so a
// second run is a no-op. A data key under neither key yields
// ErrWrongMasterKey and nothing changes. Running replicas hold the
// unwrapped data keys and keep serving; restart them with the new master
// key file. The `rotate-master` flow: GenerateMasterKeyFile to a new path,
// RotateMaster, then move the new file over the old one (keeping a backup)
// and restart the replicas; any replica (re)started with the old file after
// RotateMaster fails with ErrWrongMasterKey.
func RotateMaster(ctx context.Context, db *sqldb.DB, oldKey, newKey *MasterKey) (n int, err error) {
	if oldKey.ID() == newKey.ID() {
		return 0, errors.New("the new master key is the same as the old one")
	}
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		n = 0
		rows, err := selectDataKeys(ctx, tx)
		if err != nil {
			return err
		}
		type rewrap struct {
			id      string
			wrapped []byte
		}
		var todo []rewrap
		// Check everything before writing anything.
		for _, r := range rows {
			switch r.masterKeyID {
			case newKey.ID():
				raw, err := newKey.unwrap(r.wrapped, r.id)
				if err != nil {
					return fmt.Errorf("data key %s: %w", r.id, err)
				}
				clear(raw)
			case oldKey.ID():
				raw, err := oldKey.unwrap(r.wrapped, r.id)
				if err != nil {
					return fmt.Errorf("data key %s: %w", r.id, err)
				}
				w, err := newKey.wrap(raw, r.id)
				clear(raw)
				if err != nil {
					return err
				}
				todo = append(todo, rewrap{r.id, w})
			default:
				return wrongMasterKey(r.masterKeyID, oldKey.ID())
			}
		}
		for _, r := range todo {
			ok, err := rewrapDataKey(ctx, tx, r.id, oldKey.ID(), newKey.ID(), r.wrapped)
			if err != nil {
				return fmt.Errorf("re-wrap data key %s: %w", r.id, err)
			}
			if !ok {
				return fmt.Errorf("re-wrap data key %s: %w: it changed meanwhile", r.id, sqldb.ErrConflict)
			}
		}
		n = len(todo)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func newestRow(rows []keyRow, alg string) *keyRow {
	var newest *keyRow
	for i := range rows {
		if rows[i].alg == alg && (newest == nil || rows[i].seq > newest.seq) {
			newest = &rows[i]
		}
	}
	return newest
}

func rowByKID(rows []keyRow, kid string) *keyRow {
	for i := range rows {
		if rows[i].kid == kid {
			return &rows[i]
		}
	}
	return nil
}
