package keys_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestSealOpen(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mk := newMaster(t)
		a := mustOpen(t, db, mk, options(newClock()))
		secret := []byte("4508 123456")
		aad := []byte("accounts.passport|0b6f1a52")
		blob, err := a.Seal(secret, aad)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(blob, secret) {
			t.Fatal("sealed field contains the plaintext")
		}
		again, _ := a.Seal(secret, aad)
		if bytes.Equal(blob, again) {
			t.Fatal("two seals of one value are equal: the nonce is not fresh")
		}

		// Another replica (its own Manager on the same database) opens it.
		b := mustOpen(t, db, mk, options(newClock()))
		got, err := b.Open(ctx, blob, aad)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Open on another replica = %q, %v", got, err)
		}

		// Moved to another row, or altered: refused.
		if _, err := b.Open(ctx, blob, []byte("accounts.passport|other")); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("Open with another row's aad: %v, want ErrCorrupt", err)
		}
		for i := range blob {
			bad := bytes.Clone(blob)
			bad[i] ^= 0x01
			if _, err := b.Open(ctx, bad, aad); err == nil {
				t.Fatalf("Open accepted a blob with byte %d flipped", i)
			}
		}
		if _, err := b.Open(ctx, nil, aad); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("Open(nil): %v", err)
		}
	})
}

func TestBlindIndex(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mk := newMaster(t)
		a := mustOpen(t, db, mk, options(newClock()))
		b := mustOpen(t, db, mk, options(newClock()))
		x := a.BlindIndex("snils", "112-233-445 95")
		if !bytes.Equal(x, b.BlindIndex("snils", "112-233-445 95")) {
			t.Fatal("replicas compute different indexes for one value")
		}
		if bytes.Equal(x, a.BlindIndex("phone", "112-233-445 95")) {
			t.Fatal("the domain does not separate indexes")
		}
		if bytes.Equal(x, a.BlindIndex("snils", "112-233-445 96")) {
			t.Fatal("different values share an index")
		}

		// A new master key re-wraps the data keys; indexes must not move.
		next := newMaster(t)
		if _, err := keys.RotateMaster(ctx, db, mk, next); err != nil {
			t.Fatal(err)
		}
		c := mustOpen(t, db, next, options(newClock()))
		if !bytes.Equal(x, c.BlindIndex("snils", "112-233-445 95")) {
			t.Fatal("the blind index changed with the master key")
		}

		// A different installation (other data keys) gives other indexes.
		other := mustOpen(t, sqldbtest.SQLite(t), newMaster(t), options(newClock()))
		if bytes.Equal(x, other.BlindIndex("snils", "112-233-445 95")) {
			t.Fatal("the index does not depend on the installation's key")
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	aad := []byte("accounts.snils|0b6f1a52")
	for b.Loop() {
		blob, err := m.Seal([]byte("112-233-445 95"), aad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Open(ctx, blob, aad); err != nil {
			b.Fatal(err)
		}
	}
}
