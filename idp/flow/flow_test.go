package flow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// registration is what a registration flow carries between steps.
type registration struct {
	Phone      string `json:"phone"`
	CodeSent   bool   `json:"code_sent"`
	FamilyName string `json:"family_name,omitempty"`
}

const phone = "+79161234567"

type clock = sqldbtest.Clock

func newClock() *clock { return sqldbtest.NewClock(time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)) }

var master = func() *keys.MasterKey {
	raw := make([]byte, keys.MasterKeySize)
	rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		panic(err)
	}
	return mk
}()

// newStore opens a keys.Manager on db (as each replica does) and a Store
// sealing with it.
func newStore(t testing.TB, db *sqldb.DB, c *clock) *flow.Store {
	t.Helper()
	m, err := keys.Open(context.Background(), db, master, keys.Options{Now: c.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("keys.Open: %v", err)
	}
	return flow.NewStore(db, m, c.Now)
}

// replicas runs fn on both dialects with two handles on one database.
func replicas(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		p := sqldbtest.SQLitePath(t)
		fn(t, open(t, sqldb.Config{SQLitePath: p}), open(t, sqldb.Config{SQLitePath: p}))
	})
	t.Run("postgres", func(t *testing.T) {
		u := sqldbtest.PostgresURL(t)
		fn(t, open(t, sqldb.Config{URL: u}), open(t, sqldb.Config{URL: u}))
	})
}

func open(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func TestRoundTrip(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(t, db, c)
		token, err := s.Start(ctx, "registration", registration{Phone: phone}, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var got registration
		v, err := s.Load(ctx, "registration", token, &got)
		if err != nil || got.Phone != phone || v != 1 {
			t.Fatalf("Load = %+v, v%d, %v", got, v, err)
		}
		got.CodeSent = true
		v2, err := s.Save(ctx, "registration", token, v, got)
		if err != nil || v2 != 2 {
			t.Fatalf("Save = v%d, %v", v2, err)
		}
		var again registration
		if v, err := s.Load(ctx, "registration", token, &again); err != nil || v != 2 || !again.CodeSent {
			t.Fatalf("reload = %+v, v%d, %v", again, v, err)
		}
		// Only the hash of the token is stored.
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM flows WHERE token_hash = $1`, hash(token)).Scan(&n); err != nil || n != 1 {
			t.Fatalf("row by hash: %d, %v", n, err)
		}
	})
}

func TestNotFound(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newStore(t, db, newClock())
		token, err := s.Start(ctx, "registration", registration{Phone: phone}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var r registration
		if _, err := s.Load(ctx, "recovery", token, &r); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("other kind: %v, want ErrNotFound", err)
		}
		if _, err := s.Save(ctx, "recovery", token, 1, r); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Save of other kind: %v", err)
		}
		if err := s.Delete(ctx, "recovery", token); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Delete of other kind: %v", err)
		}
		for _, tok := range []string{"", "x", strings.Repeat("A", 43)} {
			if _, err := s.Load(ctx, "registration", tok, &r); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("Load(%q): %v", tok, err)
			}
		}
		if _, err := s.Start(ctx, "bad|kind", r, time.Hour); err == nil {
			t.Fatal("kind with | accepted")
		}
	})
}

func TestExpiry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(t, db, c)
		token, err := s.Start(ctx, "recovery", registration{Phone: phone}, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var r registration
		c.Advance(9 * time.Minute)
		v, err := s.Load(ctx, "recovery", token, &r)
		if err != nil {
			t.Fatal(err)
		}
		// Saving does not extend the time to live.
		if _, err := s.Save(ctx, "recovery", token, v, r); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		if _, err := s.Load(ctx, "recovery", token, &r); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("Load after ttl: %v, want ErrExpired", err)
		}
		if _, err := s.Save(ctx, "recovery", token, v+1, r); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("Save after ttl: %v, want ErrExpired", err)
		}
		live, _ := s.Start(ctx, "recovery", r, time.Hour)
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1", n, err)
		}
		if _, err := s.Load(ctx, "recovery", token, &r); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("after Sweep: %v", err)
		}
		if _, err := s.Load(ctx, "recovery", live, &r); err != nil {
			t.Fatalf("live flow swept: %v", err)
		}
		// A finish that comes too late does not act.
		late, _ := s.Start(ctx, "recovery", r, time.Minute)
		c.Advance(time.Minute)
		if err := s.Delete(ctx, "recovery", late); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("Delete after ttl: %v, want ErrExpired", err)
		}
	})
}

func TestSaveRaceBetweenReplicas(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		stores := []*flow.Store{newStore(t, a, c), newStore(t, b, c)}
		token, err := stores[0].Start(ctx, "registration", registration{Phone: phone}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var r registration
		v, err := stores[1].Load(ctx, "registration", token, &r)
		if err != nil {
			t.Fatal(err)
		}
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, err := stores[i%2].Save(ctx, "registration", token, v, registration{Phone: phone, FamilyName: string(rune('A' + i))})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, sqldb.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("Save: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 7 {
			t.Fatalf("%d wins, %d conflicts; want 1 and 7", wins.Load(), conflicts.Load())
		}
		if v2, err := stores[0].Load(ctx, "registration", token, &r); err != nil || v2 != v+1 || r.FamilyName == "" {
			t.Fatalf("after race: v%d %+v %v", v2, r, err)
		}
	})
}

func TestDeleteExactlyOnce(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		stores := []*flow.Store{newStore(t, a, c), newStore(t, b, c)}
		for _, take := range []bool{false, true} {
			token, err := stores[0].Start(ctx, "recovery", registration{Phone: phone}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var ok, gone atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					var err error
					if take {
						var r registration
						err = stores[i%2].Take(ctx, "recovery", token, &r)
						if err == nil && r.Phone != phone {
							t.Errorf("Take returned %+v", r)
						}
					} else {
						err = stores[i%2].Delete(ctx, "recovery", token)
					}
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, sqldb.ErrNotFound):
						gone.Add(1)
					default:
						t.Errorf("take=%v: %v", take, err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || gone.Load() != 7 {
				t.Fatalf("take=%v: %d succeeded, %d not found; want 1 and 7", take, ok.Load(), gone.Load())
			}
		}
	})
}

func TestSealedAtRest(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newStore(t, db, newClock())
		token, err := s.Start(ctx, "registration", registration{Phone: phone, FamilyName: "Иванова"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.Start(ctx, "registration", registration{Phone: "+70000000000"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var blob []byte
		if err := db.QueryRow(ctx, `SELECT data FROM flows WHERE token_hash = $1`, hash(token)).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		for _, clear := range []string{phone, "9161234567", "Иванова"} {
			if bytes.Contains(blob, []byte(clear)) {
				t.Fatalf("data column holds %q in clear", clear)
			}
		}

		// A blob moved to another flow does not open there.
		if _, err := db.Exec(ctx, `UPDATE flows SET data = $1 WHERE token_hash = $2`, blob, hash(other)); err != nil {
			t.Fatal(err)
		}
		var r registration
		if _, err := s.Load(ctx, "registration", other, &r); err == nil || errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("moved blob: %v, want an open failure", err)
		}

		// A flipped byte does not open.
		tampered := bytes.Clone(blob)
		tampered[len(tampered)-5] ^= 1
		if _, err := db.Exec(ctx, `UPDATE flows SET data = $1 WHERE token_hash = $2`, tampered, hash(token)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx, "registration", token, &r); err == nil || !errors.Is(err, keys.ErrCorrupt) {
			t.Fatalf("tampered data: %v, want keys.ErrCorrupt", err)
		}
	})
}

func TestCookies(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		s := newStore(t, db, c)
		w := httptest.NewRecorder()
		if err := s.Begin(w, httptest.NewRequest("POST", "/register", nil), "registration", registration{Phone: phone}, 20*time.Minute); err != nil {
			t.Fatal(err)
		}
		header := w.Header().Get("Set-Cookie")
		if strings.Contains(header, "Secure") {
			t.Errorf("Set-Cookie %q: Secure on a store for plain HTTP (SecureCookies sets it)", header)
		}
		for _, want := range []string{"gosid_flow_registration=", "Path=/", "Max-Age=1200", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(header, want) {
				t.Errorf("Set-Cookie %q lacks %q", header, want)
			}
		}
		first := w.Result().Cookies()[0]
		r := httptest.NewRequest("POST", "/register/code", nil)
		r.AddCookie(first)
		var got registration
		token, v, err := s.FromRequest(r, "registration", &got)
		if err != nil || token != first.Value || v != 1 || got.Phone != phone {
			t.Fatalf("FromRequest = %q v%d %+v %v", token, v, got, err)
		}
		if _, _, err := s.FromRequest(r, "recovery", &got); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("no recovery cookie: %v", err)
		}

		// Beginning again replaces the previous flow.
		w = httptest.NewRecorder()
		if err := s.Begin(w, r, "registration", registration{Phone: "+79990000000"}, 20*time.Minute); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(w.Header().Get("Set-Cookie"), "Secure") {
			t.Error("Secure set with secure=false")
		}
		if _, err := s.Load(context.Background(), "registration", first.Value, &got); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("previous flow after Begin: %v", err)
		}

		w = httptest.NewRecorder()
		s.Clear(w, "registration")
		if out := w.Result().Cookies(); len(out) != 1 || out[0].Name != "gosid_flow_registration" || out[0].MaxAge >= 0 {
			t.Fatalf("Clear set %+v", out)
		}
	})
}

// TestSecureCookies: a store made for HTTPS names every flow cookie
// __Host-gosid_flow_<kind> and marks it Secure,
// reads only that name back, and expires that name.
func TestSecureCookies(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, newClock()).SecureCookies(true)
		w := httptest.NewRecorder()
		if err := s.Begin(w, httptest.NewRequest("POST", "/register", nil), "registration", registration{Phone: phone}, 20*time.Minute); err != nil {
			t.Fatal(err)
		}
		out := w.Result().Cookies()
		if len(out) != 1 || out[0].Name != "__Host-gosid_flow_registration" || !out[0].Secure || out[0].Path != "/" || out[0].Domain != "" {
			t.Fatalf("Set-Cookie %q, want __Host-gosid_flow_registration; Path=/; Secure", w.Header().Get("Set-Cookie"))
		}
		var got registration
		r := httptest.NewRequest("POST", "/register/code", nil)
		r.AddCookie(out[0])
		if token, _, err := s.FromRequest(r, "registration", &got); err != nil || token != out[0].Value || got.Phone != phone {
			t.Fatalf("FromRequest = %q %+v %v", token, got, err)
		}
		// The same token under the plain name, as a sibling subdomain
		// could plant it, is not read.
		r = httptest.NewRequest("POST", "/register/code", nil)
		r.AddCookie(&http.Cookie{Name: "gosid_flow_registration", Value: out[0].Value})
		if _, _, err := s.FromRequest(r, "registration", &got); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("plain-named cookie read: %v", err)
		}
		w = httptest.NewRecorder()
		s.Clear(w, "registration")
		if out := w.Result().Cookies(); len(out) != 1 || out[0].Name != "__Host-gosid_flow_registration" || !out[0].Secure || out[0].MaxAge >= 0 {
			t.Fatalf("Clear set %q", w.Header().Get("Set-Cookie"))
		}
	})
}
