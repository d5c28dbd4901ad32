package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the length of a master key in bytes (AES-256).
const MasterKeySize = 32

// ErrWrongMasterKey is returned when the stored data keys are wrapped by a
// master key other than the one given. It is detected before anything is
// written; the message names both fingerprints.
var ErrWrongMasterKey = errors.New("wrong master key")

// MasterKey is the key that wraps the data keys. It is loaded from a file
// (or the environment) at start and never stored in the database; only its
// fingerprint, ID, is.
type MasterKey struct {
	id       string
	aead     cipher.AEAD
	warnings []string
	// kdf derives the keys of modules that keep no data keys (Derive).
	kdf []byte
}

// newMasterKey builds a MasterKey from its raw bytes.
func newMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(raw))
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("gosid master key id"))
	kdf := hmac.New(sha256.New, raw)
	kdf.Write([]byte("gosid derived keys"))
	return &MasterKey{id: hex.EncodeToString(mac.Sum(nil)[:8]), aead: aead, kdf: kdf.Sum(nil)}, nil
}

// ParseMasterKey reads a master key in its file format: 32 bytes in
// standard base64, surrounding white space ignored. It suits a key passed in
// an environment variable.
func ParseMasterKey(text string) (*MasterKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		// The decoder's error quotes an offset, never the input.
		return nil, fmt.Errorf("master key is not base64: %w", err)
	}
	return newMasterKey(raw)
}

// ID is the master key's fingerprint: the hex of the first 8 bytes of
// HMAC-SHA256(key, "gosid master key id"). It is stored beside every wrapped
// data key and is safe to log.
func (k MasterKey) ID() string { return k.id }

// Warnings lists conditions worth logging that did not stop the key from
// loading, such as a key file readable by group or others.
func (k MasterKey) Warnings() []string { return k.warnings }

// String returns a redacted description naming only the fingerprint.
func (k MasterKey) String() string { return "MasterKey(" + k.id + ")" }

// GoString is String, so that %#v cannot print key material.
func (k MasterKey) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with the fingerprint only.
func (k MasterKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("master_key_id", k.id))
}

// wrap seals a data key under the master key, the data key's id as
// associated data.
func (k MasterKey) wrap(dataKey []byte, dataKeyID string) ([]byte, error) {
	return seal(k.aead, dataKey, []byte(dataKeyID))
}

// unwrap opens a data key sealed by wrap.
func (k MasterKey) unwrap(wrapped []byte, dataKeyID string) ([]byte, error) {
	return open(k.aead, wrapped, []byte(dataKeyID))
}

func wrongMasterKey(stored, given string) error {
	return fmt.Errorf("%w: the database's data keys are wrapped by master key %s, but the key given is %s", ErrWrongMasterKey, stored, given)
}

// LoadMasterKey reads the master key file at path. When the file does not
// exist and create is true (the embedded default), a new random key is
// written there with mode 0600, its directory created with mode 0700, and
// created is true; the file appears atomically, and when several processes
// race, all end up with the same key. When the file does not exist and
// create is false (production), the error says that it must exist and
// wraps fs.ErrNotExist. A file readable by group or others loads, with a
// note in Warnings.
func LoadMasterKey(path string, create bool) (key *MasterKey, created bool, err error) {
	key, err = readMasterKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key, err = GenerateMasterKeyFile(path)
		switch {
		case err == nil:
			return key, true, nil
		case errors.Is(err, fs.ErrExist):
			// Another process created it meanwhile; use theirs.
			key, err = readMasterKeyFile(path)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("master key file %s does not exist: it must be provided (it decrypts every stored key, so losing it loses them; "+
			"a new one is only generated in the embedded default setup): %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, false, err
	}
	return key, false, nil
}

func readMasterKeyFile(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	const limit = 256 // the key takes 44 characters
	buf, err := io.ReadAll(io.LimitReader(f, limit))
	defer clear(buf)
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	if len(buf) == limit {
		return nil, fmt.Errorf("master key file %s is too long: it must hold one line, 32 bytes in base64", path)
	}
	key, err := ParseMasterKey(string(buf))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		key.warnings = append(key.warnings, fmt.Sprintf("master key file %s has mode %04o and is readable by others than its owner; run chmod 600 on it", path, perm))
	}
	return key, nil
}

// GenerateMasterKeyFile writes a new random master key to path, which must
// not exist (the error then wraps fs.ErrExist), with mode 0600 in a
// directory created with mode 0700. The file appears atomically, complete
// or not at all. It serves `gosid keys rotate-master`: generate the new key
// beside the old one, run RotateMaster, then replace the old file.
func GenerateMasterKeyFile(path string) (*MasterKey, error) {
	raw := make([]byte, MasterKeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	defer clear(raw)
	key, err := newMasterKey(raw)
	if err != nil {
		return nil, err
	}
	content := []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
	defer clear(content)
	if err := writeNewFile(path, content); err != nil {
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	return key, nil
}

// writeNewFile creates path with content and mode 0600, failing with
// fs.ErrExist when it exists. It writes a temporary file and hard-links it
// into place, so that readers never see a partial file; where hard links
// are unsupported it falls back to O_EXCL.
func writeNewFile(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".gosid-master-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	err = os.Link(tmpName, path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		err = writeExclusive(path, content)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; not all systems allow it
		d.Close()
	}
	return nil
}

func writeExclusive(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
