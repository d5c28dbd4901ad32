package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/internal/sqldb"
)

// Key is the portal's client key: it signs the client assertions
// (private_key_jwt) with which the portal authenticates at the provider's
// token endpoint. The provider knows its public half from JWKS (inline in
// the client's registration, or fetched from the portal's /jwks.json).
type Key struct {
	ID      string
	private *ecdsa.PrivateKey
	signer  jose.Signer
}

// keyName is the client key's row in portal_keys.
const keyName = "client"

func keyAAD(name string) []byte { return []byte("portal_keys|" + name) }

// LoadKey returns the portal's client key from db, making it when there is
// none yet: of several replicas starting at once, the first insert wins
// and every replica reads that one.
func LoadKey(ctx context.Context, db *sqldb.DB, sealer Sealer, now time.Time) (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := sealer.Seal(der, keyAAD(keyName))
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("portal key: seal: %w", err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO portal_keys (name, key_enc, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, keyName, sealed, sqldb.Micros(now)); err != nil {
		return nil, fmt.Errorf("portal key: %w", err)
	}
	var stored []byte
	if err := db.QueryRow(ctx, `SELECT key_enc FROM portal_keys WHERE name = $1`, keyName).Scan(&stored); err != nil {
		return nil, fmt.Errorf("portal key: %w", err)
	}
	der, err = sealer.Open(ctx, stored, keyAAD(keyName))
	if err != nil {
		return nil, fmt.Errorf("portal key: open (another master key?): %w", err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("portal key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("portal key: not a P-256 key")
	}
	return newKey(ec)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, private: priv, signer: signer}, nil
}

// LoadSecret returns the portal's 32-byte secret called name (the key of
// its attachments, of its one-time codes' hashes), making it when there
// is none yet, sealed in portal_keys like the client key: a master key
// rotation re-wraps the data keys that seal it, so what it encrypted stays
// readable.
func LoadSecret(ctx context.Context, db *sqldb.DB, sealer Sealer, name string, now time.Time) ([]byte, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	sealed, err := sealer.Seal(raw, keyAAD(name))
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("portal secret %s: seal: %w", name, err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO portal_keys (name, key_enc, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, sealed, sqldb.Micros(now)); err != nil {
		return nil, fmt.Errorf("portal secret %s: %w", name, err)
	}
	var stored []byte
	if err := db.QueryRow(ctx, `SELECT key_enc FROM portal_keys WHERE name = $1`, name).Scan(&stored); err != nil {
		return nil, fmt.Errorf("portal secret %s: %w", name, err)
	}
	secret, err := sealer.Open(ctx, stored, keyAAD(name))
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("portal secret %s: open (another master key?): %v", name, err)
	}
	return secret, nil
}

// JWKS is the key's public half as a JSON Web Key Set.
func (k *Key) JWKS() string {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.private.Public(), KeyID: k.ID, Algorithm: string(jose.ES256), Use: "sig"}}}
	b, _ := json.Marshal(set) // an ECDSA public key always marshals
	return string(b)
}
