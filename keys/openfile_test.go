package keys_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// TestOpenWithMasterKeyFile: a missing file is created only when asked; a
// file holding another key is the operator's problem, and a key created on
// the spot that opens nothing is removed again.
func TestOpenWithMasterKeyFile(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		path := filepath.Join(dir, "master.key")
		var mk *keys.MasterKeyFileError
		if _, err := keys.OpenWithMasterKeyFile(ctx, db, path, false, options(newClock())); !errors.As(err, &mk) {
			t.Fatalf("missing file without create: %v, want a MasterKeyFileError", err)
		}
		km, err := keys.OpenWithMasterKeyFile(ctx, db, path, true, options(newClock()))
		if err != nil || km == nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the created key file: %v", err)
		}
		if _, err := keys.OpenWithMasterKeyFile(ctx, db, path, false, options(newClock())); err != nil {
			t.Fatalf("reopen with the same file: %v", err)
		}
		// Another file for the same database: a new key is made, opens
		// nothing, and goes again.
		other := filepath.Join(dir, "other.key")
		_, err = keys.OpenWithMasterKeyFile(ctx, db, other, true, options(newClock()))
		if !errors.As(err, &mk) || !errors.Is(err, keys.ErrWrongMasterKey) {
			t.Fatalf("a new key for a database with keys: %v, want the wrong master key", err)
		}
		if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the key created for nothing is still there: %v", err)
		}
	})
}
