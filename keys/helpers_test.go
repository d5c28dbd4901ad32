package keys_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type clock = sqldbtest.Clock

func newClock() *clock {
	return sqldbtest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

func newMaster(t testing.TB) *keys.MasterKey {
	t.Helper()
	mk, err := keys.GenerateMasterKeyFile(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func options(c *clock) keys.Options {
	return keys.Options{Now: c.Now, Logger: slog.New(slog.DiscardHandler)}
}

func mustOpen(t testing.TB, db *sqldb.DB, mk *keys.MasterKey, opts keys.Options) *keys.Manager {
	t.Helper()
	m, err := keys.Open(context.Background(), db, mk, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m
}

func mustSigner(t testing.TB, m *keys.Manager, alg string) keys.SigningKey {
	t.Helper()
	k, err := m.Signer(alg)
	if err != nil {
		t.Fatalf("Signer(%s): %v", alg, err)
	}
	return k
}

func mustList(t testing.TB, m *keys.Manager) []keys.KeyInfo {
	t.Helper()
	l, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l
}

func find(t testing.TB, list []keys.KeyInfo, kid string) keys.KeyInfo {
	t.Helper()
	for _, k := range list {
		if k.KID == kid {
			return k
		}
	}
	t.Fatalf("key %s not listed", kid)
	return keys.KeyInfo{}
}

// dump renders both tables byte for byte.
func dump(t testing.TB, db *sqldb.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	rows, err := db.Query(ctx, `SELECT id, seq, master_key_id, wrapped, created_at FROM data_keys ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			id, mk      string
			seq         int
			wrapped     []byte
			createdAtUS int64
		)
		if err := rows.Scan(&id, &seq, &mk, &wrapped, &createdAtUS); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "dk %s %d %s %x %d\n", id, seq, mk, wrapped, createdAtUS)
	}
	rows.Close()
	rows, err = db.Query(ctx, `SELECT kid, alg, seq, public_der, private_enc, data_key_id, created_at, signs_from, withdrawn_at FROM signing_keys ORDER BY kid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kid, alg, dk   string
			seq            int
			pub, priv      []byte
			created, signs int64
			withdrawn      sql.NullInt64
		)
		if err := rows.Scan(&kid, &alg, &seq, &pub, &priv, &dk, &created, &signs, &withdrawn); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "sk %s %s %d %x %x(%v) %s %d %d %v\n", kid, alg, seq, pub, priv, priv == nil, dk, created, signs, withdrawn)
	}
	return b.String()
}

// privateEnc returns a key's stored ciphertext, nil when erased.
func privateEnc(t testing.TB, db *sqldb.DB, kid string) []byte {
	t.Helper()
	var enc []byte
	if err := db.QueryRow(context.Background(), `SELECT private_enc FROM signing_keys WHERE kid = $1`, kid).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	return enc
}
