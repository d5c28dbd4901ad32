package backupcode

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var pepper = bytes.Repeat([]byte{0x5a}, 32)

func newStore(t testing.TB, db *sqldb.DB) *Store {
	c := sqldbtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	return NewStore(db, pepper, c.Now)
}

func newAccount(t testing.TB, db *sqldb.DB) string {
	t.Helper()
	id := account.NewID()
	_, err := db.Exec(context.Background(), `INSERT INTO accounts (id, family_name, given_name, created_at, updated_at)
		VALUES ($1, 'Иванов', 'Иван', 1, 1)`, id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func remaining(t *testing.T, s *Store, id string, want int) {
	t.Helper()
	n, err := s.Remaining(context.Background(), id)
	if err != nil || n != want {
		t.Fatalf("Remaining = %d, %v; want %d", n, err, want)
	}
}

var shown = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

func TestGenerateUse(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		id := newAccount(t, db)
		remaining(t, s, id, 0)
		if err := s.Use(ctx, id, "abcde-fghjk"); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrUsed) {
			t.Fatalf("Use without codes = %v", err)
		}

		codes, err := s.Generate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != Count {
			t.Fatalf("%d codes, want %d", len(codes), Count)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !shown.MatchString(c) || seen[c] {
				t.Fatalf("code %q malformed or repeated", c)
			}
			seen[c] = true
		}
		remaining(t, s, id, Count)

		// Nothing in the table resembles a code.
		rows, err := db.Query(ctx, `SELECT code_hash FROM backup_codes WHERE account_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			for _, c := range codes {
				if bytes.Contains(h, []byte(strings.ReplaceAll(c, "-", ""))) {
					t.Fatal("a code is stored in clear")
				}
			}
		}
		rows.Close()

		if err := s.Use(ctx, id, codes[0]); err != nil {
			t.Fatalf("Use: %v", err)
		}
		remaining(t, s, id, Count-1)
		if err := s.Use(ctx, id, codes[0]); !errors.Is(err, ErrUsed) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("second Use of one code = %v, want ErrUsed (an ErrInvalid)", err)
		}
		// Typed sloppily: upper case, spaces, no hyphen, o for 0, l for 1.
		sloppy := strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))
		sloppy = strings.NewReplacer("0", "O", "1", "l").Replace(sloppy)
		if err := s.Use(ctx, id, " "+sloppy+"\t"); err != nil {
			t.Fatalf("Use(%q): %v", sloppy, err)
		}
		remaining(t, s, id, Count-2)
		for _, bad := range []string{"", "abcde", "abcde-fghjk", "abcde-fghjku", codes[2] + "x", "ab!de-fghjk"} {
			if err := s.Use(ctx, id, bad); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Use(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		remaining(t, s, id, Count-2)

		// Another account's code does not work here.
		other := newAccount(t, db)
		otherCodes, err := s.Generate(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Use(ctx, id, otherCodes[0]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("another account's code = %v, want ErrInvalid", err)
		}

		// Regenerating replaces every earlier code, used or not.
		fresh, err := s.Generate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		remaining(t, s, id, Count)
		if err := s.Use(ctx, id, codes[3]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an old code after regeneration = %v, want ErrInvalid", err)
		}
		if err := s.Use(ctx, id, fresh[9]); err != nil {
			t.Fatalf("a new code: %v", err)
		}

		if err := s.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		remaining(t, s, id, 0)
		if err := s.Use(ctx, id, fresh[0]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Use after Remove = %v", err)
		}
		if err := s.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		remaining(t, s, other, Count)
	})
}

func TestPepperMatters(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		id := newAccount(t, db)
		codes, err := newStore(t, db).Generate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		other := NewStore(db, bytes.Repeat([]byte{1}, 32), nil)
		if err := other.Use(ctx, id, codes[0]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Use with another pepper = %v, want ErrInvalid", err)
		}
	})
}

func TestUnknownAccount(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		_, err := newStore(t, db).Generate(context.Background(), account.NewID())
		if !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Generate for an unknown account = %v, want sqldb.ErrNotFound", err)
		}
	})
}

func TestShortPepperPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewStore accepted a 16-byte pepper")
		}
	}()
	NewStore(nil, make([]byte, 16), nil)
}

// TestConcurrentUse races uses of each code through two handles on one
// database, as two replicas would: exactly one use of each code succeeds.
func TestConcurrentUse(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			var cfg sqldb.Config
			if dialect == sqldb.Postgres {
				cfg.URL = sqldbtest.PostgresURL(t)
			} else {
				cfg.SQLitePath = sqldbtest.SQLitePath(t)
			}
			var stores [2]*Store
			var db *sqldb.DB
			for i := range stores {
				h, err := sqldb.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { h.Close() })
				db = h
				stores[i] = newStore(t, h)
			}
			id := newAccount(t, db)
			codes, err := stores[0].Generate(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			const racers = 8
			for _, code := range codes {
				var wg sync.WaitGroup
				errs := make(chan error, racers)
				gate := make(chan struct{})
				for i := range racers {
					wg.Go(func() {
						<-gate
						errs <- stores[i%2].Use(ctx, id, code)
					})
				}
				close(gate)
				wg.Wait()
				close(errs)
				ok := 0
				for err := range errs {
					switch {
					case err == nil:
						ok++
					case !errors.Is(err, ErrInvalid):
						t.Fatal(err)
					}
				}
				if ok != 1 {
					t.Fatalf("%d of %d racing uses of one code succeeded, want exactly 1", ok, racers)
				}
			}
			remaining(t, stores[1], id, 0)
		})
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"abcde-fghjk":           "abcdefghjk",
		"ABCDE-FGHJK":           "abcdefghjk",
		" abcde fghjk ":         "abcdefghjk",
		"ab-cd-ef-gh-jk":        "abcdefghjk",
		"abcde\u2013fghjk":      "abcdefghjk", // en dash
		"abcde\u00a0fghjk":      "abcdefghjk", // no-break space
		"oOiIlL01zz":            "00111101zz",
		"0123456789":            "0123456789",
		"vwxyz-vwxyz":           "vwxyzvwxyz",
		"abcde-fghj":            "",
		"abcde-fghjkm":          "",
		"abcde-fghju":           "",
		"abcde_fghjk":           "",
		"абвгд-еёжзи":           "",
		"":                      "",
		strings.Repeat("-", 99): "",
	} {
		got, ok := Normalize(in)
		if ok != (want != "") || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for range 100 {
		c := newCode()
		if got, ok := Normalize(c[:5] + "-" + c[5:]); !ok || got != c {
			t.Fatalf("Normalize of a generated code %q = %q, %v", c, got, ok)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"abcde-fghjk", "ABCDE FGHJK", "oOiIlL01zz", "abcde\u2013fghjk", "", "абв", "\xff\xfe", "u0000-00000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := Normalize(in)
		if !ok {
			if out != "" {
				t.Fatalf("Normalize(%q) refused but returned %q", in, out)
			}
			return
		}
		if len(out) != Length {
			t.Fatalf("Normalize(%q) = %q: length %d", in, out, len(out))
		}
		for i := range len(out) {
			if !strings.ContainsRune(alphabet, rune(out[i])) {
				t.Fatalf("Normalize(%q) = %q: %q outside the alphabet", in, out, out[i])
			}
		}
		// Idempotent, and indifferent to case and display form.
		for _, again := range []string{out, strings.ToUpper(out), out[:5] + "-" + out[5:], " " + out[:5] + " " + out[5:]} {
			if got, ok := Normalize(again); !ok || got != out {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", again, got, ok, out)
			}
		}
		if got, ok := Normalize(strings.ToUpper(in)); ok && got != out {
			t.Fatalf("Normalize(upper(%q)) = %q, want %q", in, got, out)
		}
	})
}
