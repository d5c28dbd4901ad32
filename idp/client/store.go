package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
)

var (
	// ErrInvalidCredentials: CheckSecret found no client with that id, or
	// the secret is wrong, or the client has no secret. The three are
	// deliberately not told apart.
	ErrInvalidCredentials = errors.New("client: invalid client credentials")
	// ErrNoSecret: RotateSecret on a client whose auth method uses no secret.
	ErrNoSecret = errors.New("client: this client's auth method uses no secret")
)

// Store persists clients. It is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns a store over db; now is the clock (time.Now when nil).
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// NewID returns a random client id: "gsd_" and 22 base64url characters (128
// bits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "gsd_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// normalize trims the name, spells out defaults and compacts the JWKS, so
// that what is stored is explicit; lists that are empty become nil.
func (c *Client) normalize() {
	c.Name = strings.TrimSpace(c.Name)
	c.MinLevel = string(c.Level())
	c.IDTokenAlg = c.Alg()
	c.AccessTokenFormat = c.TokenFormat()
	c.PKCE = c.PKCEPolicy()
	if c.JWKS != "" {
		c.JWKS = compactJWKS(c.JWKS)
	}
	for _, l := range []*[]string{&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes, &c.GrantTypes} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}

// Create validates and stores a new client. It assigns an ID unless c has
// one, and for client_secret_basic and client_secret_post generates the
// secret (256 random bits, base64url), which it returns once: only its
// SHA-256 is stored. c.SecretHash, CreatedAt and UpdatedAt are ignored. An
// existing id gives an error matching sqldb.ErrConflict; invalid settings a
// *ValidationError.
func (s *Store) Create(ctx context.Context, c Client) (created *Client, secret string, err error) {
	c.normalize()
	c.SecretHash = nil
	if err := c.Validate(); err != nil {
		return nil, "", err
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.UsesSecret() {
		secret, c.SecretHash = bearer.New()
	}
	lists, err := encodeLists(&c)
	if err != nil {
		return nil, "", err
	}
	now := sqldb.Micros(s.now())
	_, err = s.write(ctx, `INSERT INTO clients (id, name, secret_hash, auth_method, redirect_uris, post_logout_redirect_uris,
			backchannel_logout_uri, scopes, grant_types, jwks, jwks_uri, first_party, min_level, id_token_alg, access_token_format,
			pkce, id_token_claims, created_at, updated_at, partner, staff_roles)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20)`,
		c.ID, c.Name, c.SecretHash, c.AuthMethod, lists[0], lists[1], c.BackchannelLogoutURI, lists[2], lists[3],
		c.JWKS, c.JWKSURI, c.FirstParty, c.MinLevel, c.IDTokenAlg, c.AccessTokenFormat, c.PKCE, c.IDTokenClaims, now, c.Partner, c.StaffRoles)
	if err != nil {
		return nil, "", fmt.Errorf("create client %s: %w", c.ID, err)
	}
	created, err = s.Get(ctx, c.ID)
	if err != nil {
		return nil, "", err
	}
	return created, secret, nil
}

// encodeLists returns the JSON of the redirect URIs, post-logout redirect
// URIs, scopes and grant types, in that order.
func encodeLists(c *Client) ([4]string, error) {
	var out [4]string
	for i, l := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes, c.GrantTypes} {
		if l == nil {
			l = []string{}
		}
		b, err := json.Marshal(l)
		if err != nil {
			return out, err
		}
		out[i] = string(b)
	}
	return out, nil
}

const clientColumns = `id, name, secret_hash, auth_method, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
	scopes, grant_types, jwks, jwks_uri, first_party, min_level, id_token_alg, access_token_format, pkce, id_token_claims,
	created_at, updated_at, partner, staff_roles`

type scanner interface{ Scan(dest ...any) error }

func scanClient(row scanner) (*Client, error) {
	var (
		c                Client
		lists            [4]string
		created, updated int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.AuthMethod, &lists[0], &lists[1], &c.BackchannelLogoutURI,
		&lists[2], &lists[3], &c.JWKS, &c.JWKSURI, &c.FirstParty, &c.MinLevel, &c.IDTokenAlg, &c.AccessTokenFormat,
		&c.PKCE, &c.IDTokenClaims, &created, &updated, &c.Partner, &c.StaffRoles); err != nil {
		return nil, sqldb.Classify(err)
	}
	for i, dst := range []*[]string{&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes, &c.GrantTypes} {
		if err := json.Unmarshal([]byte(lists[i]), dst); err != nil {
			return nil, fmt.Errorf("client %s: stored list: %w", c.ID, err)
		}
		if len(*dst) == 0 {
			*dst = nil
		}
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	c.CreatedAt, c.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	return &c, nil
}

// Get returns the client; an error matching sqldb.ErrNotFound if there is
// none. An id that no client could have is not looked up.
func (s *Store) Get(ctx context.Context, id string) (*Client, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("client: %w", sqldb.ErrNotFound)
	}
	c, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, fmt.Errorf("client %s: %w", id, err)
	}
	return c, err
}

// List returns every client, oldest first.
func (s *Store) List(ctx context.Context) ([]*Client, error) {
	rows, err := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, sqldb.Classify(rows.Err())
}

// bumpUpdated sets updated_at to now ($2), or one microsecond past its old
// value when the clock has not moved beyond it, so that every write changes
// it and Update's compare-and-swap on it detects every intervening write.
const bumpUpdated = `updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at + 1 END`

// Update validates c and replaces the stored settings of client c.ID with
// it: everything but the id, the secret and the creation time. When
// c.UpdatedAt is set (as by Get), the write happens only if nobody changed
// the client since; otherwise it fails with an error matching
// sqldb.ErrConflict. A client switched to an auth method without a secret
// loses its secret; one switched to a secret method has none until
// RotateSecret (CheckSecret refuses it meanwhile). Running servers see the
// change within CacheCheckInterval.
func (s *Store) Update(ctx context.Context, c Client) error {
	c.normalize()
	c.SecretHash = nil
	if err := c.Validate(); err != nil {
		return err
	}
	if c.ID == "" {
		return fmt.Errorf("client: no id: %w", sqldb.ErrNotFound)
	}
	lists, err := encodeLists(&c)
	if err != nil {
		return err
	}
	query := `UPDATE clients SET ` + bumpUpdated + `, name = $3, auth_method = $4,
		secret_hash = CASE WHEN $4 IN ('client_secret_basic', 'client_secret_post') THEN secret_hash ELSE NULL END,
		redirect_uris = $5, post_logout_redirect_uris = $6, backchannel_logout_uri = $7, scopes = $8, grant_types = $9,
		jwks = $10, jwks_uri = $11, first_party = $12, min_level = $13, id_token_alg = $14, access_token_format = $15,
		pkce = $16, id_token_claims = $17, partner = $18, staff_roles = $19
		WHERE id = $1`
	args := []any{c.ID, sqldb.Micros(s.now()), c.Name, c.AuthMethod, lists[0], lists[1], c.BackchannelLogoutURI, lists[2], lists[3],
		c.JWKS, c.JWKSURI, c.FirstParty, c.MinLevel, c.IDTokenAlg, c.AccessTokenFormat, c.PKCE, c.IDTokenClaims, c.Partner, c.StaffRoles}
	if !c.UpdatedAt.IsZero() {
		query += ` AND updated_at = $20`
		args = append(args, sqldb.Micros(c.UpdatedAt))
	}
	n, err := s.write(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.ID, err)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.Get(ctx, c.ID); err != nil {
		return err
	}
	return fmt.Errorf("client %s was changed by someone else since it was read: %w", c.ID, sqldb.ErrConflict)
}

// Ensure registers c under its id, or makes the registration of that id
// c: what a process that owns a client (the portal inside gosid serve)
// does at every start. Of several replicas starting at once, one creates
// and the others update to the same settings.
func (s *Store) Ensure(ctx context.Context, c Client) error {
	if _, _, err := s.Create(ctx, c); !errors.Is(err, sqldb.ErrConflict) {
		return err
	}
	c.UpdatedAt = time.Time{}
	return s.Update(ctx, c)
}

// Delete removes the client. Tokens already issued to it stop working at
// userinfo and introspection, and cannot be refreshed, because the client is
// gone.
func (s *Store) Delete(ctx context.Context, id string) error {
	n, err := s.write(ctx, `DELETE FROM clients WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("client %s: %w", id, sqldb.ErrNotFound)
	}
	return nil
}

// RotateSecret replaces the client's secret with a new random one, which it
// returns once; the old secret stops working at once in this process and
// on other replicas within CacheCheckInterval. ErrNoSecret when the
// client's auth method uses no secret.
func (s *Store) RotateSecret(ctx context.Context, id string) (secret string, err error) {
	secret, hash := bearer.New()
	n, err := s.write(ctx, `UPDATE clients SET `+bumpUpdated+`, secret_hash = $3
			WHERE id = $1 AND auth_method IN ('client_secret_basic', 'client_secret_post')`,
		id, sqldb.Micros(s.now()), hash)
	if err != nil {
		return "", fmt.Errorf("rotate secret of client %s: %w", id, err)
	}
	if n == 1 {
		return secret, nil
	}
	if _, err := s.Get(ctx, id); err != nil {
		return "", err
	}
	return "", fmt.Errorf("client %s: %w", id, ErrNoSecret)
}

// write runs the write q of one client in a transaction with, when it
// changed the row, the generation's bump; it returns the rows changed.
func (s *Store) write(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return bumpGeneration(ctx, tx)
	})
	return n, err
}

// bumpGeneration advances the generation of the clients table, in the
// transaction of the write it announces: a cache that reads the new
// generation then reads the write too (Cache).
func bumpGeneration(ctx context.Context, tx *sqldb.Tx) error {
	res, err := tx.Exec(ctx, `UPDATE client_generation SET gen = gen + 1 WHERE id = 1`)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errors.New("client generation row missing (run gosid migrate)")
	}
	return nil
}

// Generation returns the generation of the clients table: it changes with
// every committed client write.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var gen int64
	if err := s.db.QueryRow(ctx, `SELECT gen FROM client_generation WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("client generation: %w", err)
	}
	return gen, nil
}

// CheckSecret authenticates a client by its secret (client_secret_basic and
// client_secret_post): it compares SHA-256(secret) with the stored hash in
// constant time. An unknown id, a wrong secret and a client without a
// secret all give ErrInvalidCredentials after the same work; only a
// database failure gives another error.
func (s *Store) CheckSecret(ctx context.Context, id, secret string) (*Client, error) {
	c, err := s.Get(ctx, id)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return nil, err
	}
	return checkSecret(c, secret)
}

// dummyHash stands in for the stored hash when there is none, so that the
// comparison runs either way. It is random: no secret hashes to it.
var dummyHash = func() []byte {
	b := make([]byte, sha256.Size)
	_, _ = rand.Read(b)
	return b
}()

func checkSecret(c *Client, secret string) (*Client, error) {
	sum := sha256.Sum256([]byte(secret))
	want, known := dummyHash, false
	if c != nil && c.UsesSecret() && len(c.SecretHash) == sha256.Size {
		want, known = c.SecretHash, true
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !known {
		return nil, ErrInvalidCredentials
	}
	return c, nil
}
