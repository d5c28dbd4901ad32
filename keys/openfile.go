package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/gosid/gosid/internal/sqldb"
)

// MasterKeyFileError is a problem with the master key file for the
// operator to fix: missing where it must exist, unreadable, malformed, or
// not the key this database's keys are wrapped with (ErrWrongMasterKey).
type MasterKeyFileError struct {
	Path string
	Err  error
}

func (e *MasterKeyFileError) Error() string { return e.Err.Error() }
func (e *MasterKeyFileError) Unwrap() error { return e.Err }

// OpenWithMasterKeyFile loads the master key from path (created there when
// create is true and the file is missing: see LoadMasterKey), logs the
// file's warnings, and opens the signing keys with it. A master key it has
// just created but that opens nothing is removed again, so that the next
// start is not misled by it. Problems with the file are
// *MasterKeyFileError; any other error is a failure of the database.
func OpenWithMasterKeyFile(ctx context.Context, db *sqldb.DB, path string, create bool, o Options) (*Manager, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	master, created, err := LoadMasterKey(path, create)
	if err != nil {
		return nil, &MasterKeyFileError{Path: path, Err: err}
	}
	for _, w := range master.Warnings() {
		log.Warn(w)
	}
	km, err := Open(ctx, db, master, o)
	if err != nil {
		if created {
			_ = os.Remove(path)
		}
		if errors.Is(err, ErrWrongMasterKey) {
			return nil, &MasterKeyFileError{Path: path, Err: fmt.Errorf("%s: %w", path, err)}
		}
		return nil, fmt.Errorf("open signing keys: %w", err)
	}
	if created {
		log.Info("created a new master key; back it up: without it no stored key can be decrypted", "file", path)
	}
	return km, nil
}

// MasterRotation is what RotateMasterFile did.
type MasterRotation struct {
	Rewrapped    int    // data keys re-wrapped
	OldID, NewID string // the master keys' ids
	Created      bool   // the new key file was generated
}

// RotateMasterFile re-wraps every data key from the master key in oldPath
// to the one in newPath, generated (mode 0600) when missing. A problem with
// either file, or an old key that is not this database's, is a
// *MasterKeyFileError; any other error is a failure of the database.
func RotateMasterFile(ctx context.Context, db *sqldb.DB, oldPath, newPath string) (MasterRotation, error) {
	old, _, err := LoadMasterKey(oldPath, false)
	if err != nil {
		return MasterRotation{}, &MasterKeyFileError{Path: oldPath, Err: err}
	}
	next, created, err := LoadMasterKey(newPath, true)
	if err != nil {
		return MasterRotation{}, &MasterKeyFileError{Path: newPath, Err: err}
	}
	n, err := RotateMaster(ctx, db, old, next)
	if errors.Is(err, ErrWrongMasterKey) {
		err = &MasterKeyFileError{Path: oldPath, Err: fmt.Errorf("%s: %w", oldPath, err)}
	}
	return MasterRotation{Rewrapped: n, OldID: old.ID(), NewID: next.ID(), Created: created}, err
}
