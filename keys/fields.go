package keys

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"maps"
)

// Field encryption and blind indexes for the other modules' secrets at rest
// (document numbers, contacts, TOTP secrets): the same data keys that seal
// the signing keys, so one master key protects everything and RotateMaster
// covers it all.
//
// A sealed field is
//
//	0x02 || len(data key id) || data key id || 12-byte nonce || AES-256-GCM ciphertext and tag
//
// with caller-chosen associated data that binds it to its row and column
// (e.g. "accounts.snils|" + account id), so a ciphertext copied to another
// row or column fails to open.
//
// A blind index is HMAC-SHA256 under a key derived (HKDF-SHA256) from the
// first data key, over a domain and the normalised value. It lets a store
// look a value up and enforce uniqueness without holding it in clear. The
// index key never changes, since every stored index would have to be
// recomputed; the data key it comes from is never deleted.

const fieldV1 = 0x02

// fieldKeys is an immutable snapshot of the unwrapped data keys.
type fieldKeys struct {
	byID    map[string]*dataKey
	current *dataKey // seals new fields: the highest seq
	index   []byte   // blind-index key, from the data key with the lowest seq
}

// newDataKey makes the in-memory form of a data key from its raw bytes; the
// caller clears raw.
func newDataKey(id string, seq int, raw []byte) (*dataKey, error) {
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	index, err := hkdf.Key(sha256.New, raw, nil, "gosid blind index v1", 32)
	if err != nil {
		return nil, err
	}
	return &dataKey{id: id, seq: seq, aead: aead, index: index}, nil
}

// publishDataKeys replaces the snapshot; reloadMu must be held.
func (m *Manager) publishDataKeys() {
	fk := &fieldKeys{byID: maps.Clone(m.dataKeys), current: m.current}
	var first *dataKey
	for _, dk := range m.dataKeys {
		if first == nil || dk.seq < first.seq {
			first = dk
		}
	}
	if first != nil {
		fk.index = first.index
	}
	m.fields.Store(fk)
}

// Seal encrypts a secret field under the current data key, bound to aad.
func (m *Manager) Seal(plaintext, aad []byte) ([]byte, error) {
	fk := m.fields.Load()
	if fk == nil || fk.current == nil {
		return nil, fmt.Errorf("keys: no data key loaded")
	}
	dk := fk.current
	inner, err := seal(dk.aead, plaintext, aad)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 2+len(dk.id)+len(inner)-1)
	out = append(out, fieldV1, byte(len(dk.id)))
	out = append(out, dk.id...)
	return append(out, inner[1:]...), nil // inner[0] is seal's own version byte
}

// Open decrypts a field made by Seal with the same aad. A field sealed by a
// data key this replica has not loaded yet (created by another replica)
// triggers one reload. Any mismatch of bytes, key or aad yields ErrCorrupt.
func (m *Manager) Open(ctx context.Context, blob, aad []byte) ([]byte, error) {
	if len(blob) < 2 || blob[0] != fieldV1 || len(blob) < 2+int(blob[1]) {
		return nil, fmt.Errorf("%w: malformed sealed field", ErrCorrupt)
	}
	id := string(blob[2 : 2+int(blob[1])])
	dk := m.fields.Load().byID[id]
	if dk == nil {
		m.reloadMu.Lock()
		var err error
		dk, err = m.dataKey(ctx, id)
		m.reloadMu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("open sealed field: %w", err)
		}
	}
	inner := make([]byte, 0, len(blob)-1-int(blob[1]))
	inner = append(inner, ciphertextV1)
	inner = append(inner, blob[2+int(blob[1]):]...)
	return open(dk.aead, inner, aad)
}

// BlindIndex returns the keyed HMAC of value in domain (e.g. "snils",
// "phone"); equal inputs give equal indexes across replicas and restarts.
// Callers normalise value first.
func (m *Manager) BlindIndex(domain, value string) []byte {
	fk := m.fields.Load()
	mac := hmac.New(sha256.New, fk.index)
	mac.Write([]byte(domain))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return mac.Sum(nil)
}
