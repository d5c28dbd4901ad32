package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// settings strips what the store sets, for comparing what was asked with
// what was stored.
func settings(c *client.Client) client.Client {
	d := *c
	d.ID, d.SecretHash, d.CreatedAt, d.UpdatedAt = "", nil, time.Time{}, time.Time{}
	return d
}

func TestRoundTrip(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st := client.NewStore(db, clock.Now)

		in := webClient()
		in.Name = "  Госуслуги Портал "
		in.FirstParty = true
		created, secret, err := st.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !client.ValidID(created.ID) || !strings.HasPrefix(created.ID, "gsd_") || secret == "" {
			t.Fatalf("created id %q, secret given %v", created.ID, secret != "")
		}
		want := webClient()
		want.FirstParty = true
		want.MinLevel, want.IDTokenAlg, want.AccessTokenFormat, want.PKCE = string(assurance.Simplified), client.AlgRS256, client.FormatJWT, client.PKCERequired
		if got := settings(created); !reflect.DeepEqual(got, want) {
			t.Fatalf("created\n got %+v\nwant %+v", fields(got), fields(want))
		}
		if !created.CreatedAt.Equal(t0) || !created.UpdatedAt.Equal(t0) {
			t.Errorf("times %v %v, want %v", created.CreatedAt, created.UpdatedAt, t0)
		}
		got, err := st.Get(ctx, created.ID)
		if err != nil || !reflect.DeepEqual(got, created) {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, created)
		}

		kiosk := client.Client{ID: "kiosk-mfc-1", Name: "Киоск МФЦ", AuthMethod: client.AuthNone,
			Scopes: []string{"openid"}, GrantTypes: []string{client.GrantDeviceCode}, MinLevel: string(assurance.Standard)}
		clock.Advance(time.Second)
		k, secret, err := st.Create(ctx, kiosk)
		if err != nil || secret != "" || k.SecretHash != nil || k.ID != "kiosk-mfc-1" || k.MinLevel != string(assurance.Standard) {
			t.Fatalf("public client: %+v, secret given %v, %v", k, secret != "", err)
		}
		list, err := st.List(ctx)
		if err != nil || len(list) != 2 || list[0].ID != created.ID || list[1].ID != k.ID {
			t.Fatalf("List = %v, %v", list, err)
		}

		r, _ := testKeys(t)
		upd := *got
		upd.Name = "Портал"
		upd.AuthMethod = client.AuthPrivateKeyJWT
		upd.JWKS = "{\n  \"keys\": [" + jwks(rsaJWK(&r.PublicKey))[9:] + "\n"
		upd.RedirectURIs = []string{"https://portal.example.ru/cb2"}
		upd.PostLogoutRedirectURIs = nil
		upd.BackchannelLogoutURI = ""
		upd.Scopes = []string{"openid", "id_doc"}
		upd.GrantTypes = []string{client.GrantAuthorizationCode, client.GrantClientCredentials}
		upd.FirstParty = false
		upd.MinLevel, upd.IDTokenAlg, upd.AccessTokenFormat = string(assurance.Confirmed), client.AlgES256, client.FormatOpaque
		upd.PKCE, upd.IDTokenClaims = client.PKCEOptional, true
		clock.Advance(time.Minute)
		if err := st.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		after, err := st.Get(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantAfter := settings(&upd)
		wantAfter.JWKS = jwks(rsaJWK(&r.PublicKey)) // compacted
		if !reflect.DeepEqual(settings(after), wantAfter) {
			t.Fatalf("updated\n got %+v\nwant %+v", fields(settings(after)), fields(wantAfter))
		}
		if after.SecretHash != nil {
			t.Error("switching to private_key_jwt kept the secret")
		}
		if !after.CreatedAt.Equal(t0) || !after.UpdatedAt.Equal(t0.Add(time.Minute+time.Second)) {
			t.Errorf("times after update %v %v", after.CreatedAt, after.UpdatedAt)
		}

		if err := st.Delete(ctx, got.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, got.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Get after Delete = %v", err)
		}
		if err := st.Delete(ctx, got.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("second Delete = %v", err)
		}
		if err := st.Update(ctx, upd); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Update of deleted client = %v", err)
		}
		if _, err := st.Get(ctx, "no such id!"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Get(malformed) = %v", err)
		}
	})
}

func fields(c client.Client) string { return fmt.Sprintf("%#v", struct{ client.Client }{c}) }

func TestCreateRefusesInvalid(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, nil)
		c := webClient()
		c.RedirectURIs = []string{"http://rp.example.ru/cb"}
		if _, _, err := st.Create(ctx, c); !errors.Is(err, client.ErrInvalid) {
			t.Fatalf("Create = %v, want ErrInvalid", err)
		}
		if list, _ := st.List(ctx); len(list) != 0 {
			t.Fatalf("stored %d clients", len(list))
		}
		created, _, err := st.Create(ctx, webClient())
		if err != nil {
			t.Fatal(err)
		}
		created.Scopes = append(created.Scopes, "everything")
		if err := st.Update(ctx, *created); !errors.Is(err, client.ErrInvalid) {
			t.Fatalf("Update = %v, want ErrInvalid", err)
		}
	})
}

func TestDuplicateID(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, nil)
		c := webClient()
		c.ID = "bank"
		if _, _, err := st.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Name = "Другой банк"
		if _, _, err := st.Create(ctx, c); !errors.Is(err, sqldb.ErrConflict) {
			t.Fatalf("second Create = %v, want ErrConflict", err)
		}
		got, err := st.Get(ctx, "bank")
		if err != nil || got.Name != webClient().Name {
			t.Fatalf("Get = %v, %v", got, err)
		}
	})
}

func TestSecret(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, nil)
		for _, method := range []string{client.AuthSecretBasic, client.AuthSecretPost} {
			c := webClient()
			c.AuthMethod = method
			created, secret, err := st.Create(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(secret) != 43 {
				t.Fatalf("secret of %d characters, want 43 (256 bits base64url)", len(secret))
			}
			sum := sha256.Sum256([]byte(secret))
			if !bytes.Equal(created.SecretHash, sum[:]) {
				t.Fatal("stored hash is not SHA-256 of the secret")
			}
			assertNotStored(t, db, created.ID, secret)

			got, err := st.CheckSecret(ctx, created.ID, secret)
			if err != nil || got.ID != created.ID {
				t.Fatalf("right secret: %v, %v", got, err)
			}
			_, wrong := st.CheckSecret(ctx, created.ID, secret[:42]+"x")
			_, unknown := st.CheckSecret(ctx, "gsd_AAAAAAAAAAAAAAAAAAAAAA", secret)
			_, empty := st.CheckSecret(ctx, created.ID, "")
			for _, err := range []error{wrong, unknown, empty} {
				if err != client.ErrInvalidCredentials {
					t.Fatalf("wrong/unknown/empty: %v, want exactly ErrInvalidCredentials", err)
				}
			}

			next, err := st.RotateSecret(ctx, created.ID)
			if err != nil || next == "" || next == secret {
				t.Fatalf("RotateSecret = %v", err)
			}
			assertNotStored(t, db, created.ID, next)
			if _, err := st.CheckSecret(ctx, created.ID, secret); err != client.ErrInvalidCredentials {
				t.Fatalf("old secret after rotation: %v", err)
			}
			if _, err := st.CheckSecret(ctx, created.ID, next); err != nil {
				t.Fatalf("new secret: %v", err)
			}
		}

		// No secret for the other methods, and none accepted.
		c := webClient()
		c.AuthMethod = client.AuthNone
		pub, secret, err := st.Create(ctx, c)
		if err != nil || secret != "" || pub.SecretHash != nil {
			t.Fatalf("public client: secret given %v, hash %x, %v", secret != "", pub.SecretHash, err)
		}
		if _, err := st.CheckSecret(ctx, pub.ID, ""); err != client.ErrInvalidCredentials {
			t.Fatalf("public client CheckSecret: %v", err)
		}
		if _, err := st.RotateSecret(ctx, pub.ID); !errors.Is(err, client.ErrNoSecret) {
			t.Fatalf("RotateSecret(public) = %v", err)
		}
		if _, err := st.RotateSecret(ctx, "nobody"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("RotateSecret(unknown) = %v", err)
		}

		// A public client switched to a secret method has no secret until
		// one is rotated in.
		pub.AuthMethod = client.AuthSecretPost
		if err := st.Update(ctx, *pub); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get(ctx, pub.ID); got.SecretHash != nil {
			t.Fatal("secret appeared from nowhere")
		}
		if _, err := st.CheckSecret(ctx, pub.ID, ""); err != client.ErrInvalidCredentials {
			t.Fatalf("CheckSecret without a secret: %v", err)
		}
		s, err := st.RotateSecret(ctx, pub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CheckSecret(ctx, pub.ID, s); err != nil {
			t.Fatalf("rotated-in secret: %v", err)
		}
	})
}

// assertNotStored: no column of the client's row holds the secret, as text
// or as bytes.
func assertNotStored(t *testing.T, db *sqldb.DB, id, secret string) {
	t.Helper()
	var name, lists, jwks string
	var hash []byte
	err := db.QueryRow(context.Background(), `SELECT name, redirect_uris || scopes || grant_types || post_logout_redirect_uris || backchannel_logout_uri,
		jwks || jwks_uri, secret_hash FROM clients WHERE id = $1`, id).Scan(&name, &lists, &jwks, &hash)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]byte{[]byte(name), []byte(lists), []byte(jwks), hash} {
		if bytes.Contains(v, []byte(secret)) {
			t.Fatal("the secret is stored in the clear")
		}
	}
	if len(hash) != sha256.Size {
		t.Fatalf("secret_hash has %d bytes", len(hash))
	}
}

// TestUpdateCompareAndSwap: of two operators editing the same client from
// the same read, the second is refused instead of silently undoing the
// first.
func TestUpdateCompareAndSwap(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0) // does not move: updates in the same microsecond
		st := client.NewStore(db, clock.Now)
		created, _, err := st.Create(ctx, webClient())
		if err != nil {
			t.Fatal(err)
		}
		a, b := *created, *created
		a.Name, b.Name = "Первый", "Второй"
		if err := st.Update(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, b); !errors.Is(err, sqldb.ErrConflict) {
			t.Fatalf("stale Update = %v, want ErrConflict", err)
		}
		got, _ := st.Get(ctx, created.ID)
		if got.Name != "Первый" || !got.UpdatedAt.After(created.UpdatedAt) {
			t.Fatalf("after the race: %q updated %v", got.Name, got.UpdatedAt)
		}
		// Without UpdatedAt the write is unconditional.
		b.UpdatedAt = time.Time{}
		if err := st.Update(ctx, b); err != nil {
			t.Fatal(err)
		}
		// Concurrent read-modify-write cycles: every successful one is
		// based on the latest state.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Go(func() {
				c, err := st.Get(ctx, created.ID)
				if err != nil {
					t.Error(err)
					return
				}
				c.Name = fmt.Sprintf("Писатель %d", i)
				err = st.Update(ctx, *c)
				if err != nil && !errors.Is(err, sqldb.ErrConflict) {
					t.Error(err)
				}
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins < 1 {
			t.Fatal("no writer won")
		}
	})
}

func TestCache(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st := client.NewStore(db, clock.Now)
		other := client.NewStore(db, clock.Now) // another process: `gosid clients …`
		cache := client.NewCache(st, 0)

		created, secret, err := other.Create(ctx, webClient())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Get(ctx, "gsd_AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		c1, err := cache.Get(ctx, created.ID)
		if err != nil || c1.Name != created.Name {
			t.Fatalf("Get = %v, %v", c1, err)
		}
		c1.Name = "changed by the caller"
		c1.RedirectURIs[0] = "https://evil.example/"

		upd := *created
		upd.UpdatedAt = time.Time{}
		upd.Name = "Новое имя"
		if err := other.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		// Changed elsewhere: served from memory only until the next
		// generation check.
		c2, _ := cache.Get(ctx, created.ID)
		if c2.Name != created.Name || c2.RedirectURIs[0] != created.RedirectURIs[0] {
			t.Fatalf("before the next check: %q %v, want the cached, unaltered client", c2.Name, c2.RedirectURIs)
		}
		clock.Advance(client.CacheCheckInterval)
		if c3, _ := cache.Get(ctx, created.ID); c3.Name != "Новое имя" {
			t.Fatalf("after the check interval: %q, want the update", c3.Name)
		}

		// A secret rotated elsewhere works at once; the old one at most
		// until the next check.
		next, err := other.RotateSecret(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cache.CheckSecret(ctx, created.ID, next); err != nil {
			t.Fatalf("new secret through the cache: %v", err)
		}
		if _, err := cache.CheckSecret(ctx, created.ID, secret); err != client.ErrInvalidCredentials {
			t.Fatalf("old secret after the re-read: %v", err)
		}
		if _, err := cache.CheckSecret(ctx, "gsd_AAAAAAAAAAAAAAAAAAAAAA", next); err != client.ErrInvalidCredentials {
			t.Fatalf("unknown id: %v", err)
		}

		// Deleted elsewhere: gone at once after Invalidate (and on every
		// replica at the next check: TestCacheReplicas).
		if err := other.Delete(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		cache.Invalidate(created.ID)
		if _, err := cache.Get(ctx, created.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("after Invalidate: %v", err)
		}

		// A custom TTL, and many readers at once (run with -race).
		short := client.NewCache(st, 5*time.Second)
		c, _, err := st.Create(ctx, webClient())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 20 {
					if _, err := short.Get(ctx, c.ID); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				short.Invalidate(c.ID)
			}
		})
		wg.Wait()
		if err := st.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
		if _, err := short.Get(ctx, c.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("after a 5 s TTL: %v", err)
		}
	})
}

// TestCacheReplicas: two replicas' caches over one database and a third
// writer (`gosid clients …`). Each change (update, rotate-secret, delete)
// is served from memory at the instant it is made — so the caches do not
// read the database per request — and by both replicas at the next
// generation check, CacheCheckInterval (well within a second) later.
func TestCacheReplicas(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		cli := client.NewStore(db, clock.Now)
		a := client.NewCache(client.NewStore(db, clock.Now), 0)
		b := client.NewCache(client.NewStore(db, clock.Now), 0)
		replicas := map[string]*client.Cache{"A": a, "B": b}

		c, secret, err := cli.Create(ctx, webClient())
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range replicas {
			if got, err := r.Get(ctx, c.ID); err != nil || got.Name != c.Name {
				t.Fatalf("replica %s: %v, %v", name, got, err)
			}
			if _, err := r.CheckSecret(ctx, c.ID, secret); err != nil {
				t.Fatalf("replica %s, secret: %v", name, err)
			}
		}
		// nextCheck moves the clock to the next check: a change must be in
		// force by then on both replicas.
		nextCheck := func() { clock.Advance(client.CacheCheckInterval) }

		// update
		upd := *c
		upd.UpdatedAt = time.Time{}
		upd.Name = "Переименованный сайт"
		upd.RedirectURIs = []string{"https://portal.example.ru/new-callback"}
		if err := cli.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		for name, r := range replicas {
			if got, _ := r.Get(ctx, c.ID); got.Name != c.Name {
				t.Fatalf("replica %s read the database again at once (%q): not a cache", name, got.Name)
			}
		}
		nextCheck()
		for name, r := range replicas {
			got, err := r.Get(ctx, c.ID)
			if err != nil || got.Name != upd.Name || got.HasRedirectURI(c.RedirectURIs[0]) {
				t.Fatalf("replica %s %s after the update: %v %v, want the new name and redirect URIs", name, client.CacheCheckInterval, got, err)
			}
		}

		// rotate-secret: the new secret works at once anywhere (a secret
		// that does not match is checked against the stored client once
		// more); the old one stops at the next check.
		newSecret, err := cli.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CheckSecret(ctx, c.ID, newSecret); err != nil {
			t.Fatalf("replica A, the new secret at once: %v", err)
		}
		if _, err := b.CheckSecret(ctx, c.ID, secret); err != nil {
			t.Fatalf("replica B read the database again at once: %v", err)
		}
		nextCheck()
		for name, r := range replicas {
			if _, err := r.CheckSecret(ctx, c.ID, secret); err != client.ErrInvalidCredentials {
				t.Fatalf("replica %s %s after rotate-secret, the old secret: %v", name, client.CacheCheckInterval, err)
			}
			if _, err := r.CheckSecret(ctx, c.ID, newSecret); err != nil {
				t.Fatalf("replica %s, the new secret: %v", name, err)
			}
		}

		// delete: the client is unknown on both replicas at the next check.
		if _, err := b.Get(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := cli.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, c.ID); err != nil {
			t.Fatalf("replica B read the database again at once: %v", err)
		}
		nextCheck()
		for name, r := range replicas {
			if got, err := r.Get(ctx, c.ID); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("replica %s %s after the delete: %v, %v; want not found", name, client.CacheCheckInterval, got, err)
			}
			if _, err := r.CheckSecret(ctx, c.ID, newSecret); err != client.ErrInvalidCredentials {
				t.Fatalf("replica %s, the deleted client's secret: %v", name, err)
			}
		}
	})
}

// TestCacheUnreadableGeneration: when the generation cannot be read the
// cache serves nothing from memory (it cannot tell whether the client
// changed) and answers with the store's error; once the database is back
// it caches again.
func TestCacheUnreadableGeneration(t *testing.T) {
	for dialect, cfg := range map[string]func(t *testing.T) sqldb.Config{
		"sqlite":   func(t *testing.T) sqldb.Config { return sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)} },
		"postgres": func(t *testing.T) sqldb.Config { return sqldb.Config{URL: sqldbtest.PostgresURL(t)} },
	} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			c := cfg(t)
			db, err := sqldb.Open(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			clock := sqldbtest.NewClock(t0)
			cl, _, err := client.NewStore(db, clock.Now).Create(ctx, webClient())
			if err != nil {
				t.Fatal(err)
			}
			replica, err := sqldb.Open(ctx, c) // the replica's own connections
			if err != nil {
				t.Fatal(err)
			}
			cache := client.NewCache(client.NewStore(replica, clock.Now), 0)
			if _, err := cache.Get(ctx, cl.ID); err != nil {
				t.Fatal(err)
			}
			replica.Close() // the replica loses its database
			clock.Advance(client.CacheCheckInterval)
			if got, err := cache.Get(ctx, cl.ID); err == nil || errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("with the generation unreadable: %v, %v; want the database's error", got, err)
			}
		})
	}
}

// TestLogValue: neither the hash nor the keys reach a log line.
func TestLogValue(t *testing.T) {
	c := webClient()
	c.ID = "portal"
	c.SecretHash = []byte("0123456789abcdef0123456789abcdef")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("client", "client", c, "ptr", &c)
	out := buf.String() + fmt.Sprint(c) + fmt.Sprintf("%v %+v", &c, c)
	if strings.Contains(out, "0123456789") || strings.Contains(out, fmt.Sprint(c.SecretHash)) || !strings.Contains(out, "portal") {
		t.Fatalf("log output: %s", out)
	}
}

// TestEnsure: the first Ensure of an id registers it, the next ones make
// the registration what they say, also when replicas race.
func TestEnsure(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, sqldbtest.NewClock(t0).Now)
		c := webClient()
		c.ID = "portal"
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = st.Ensure(ctx, c) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("racing Ensure: %v", err)
			}
		}
		c.RedirectURIs = []string{"https://portal.example/auth/callback"}
		if err := st.Ensure(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, "portal")
		if err != nil || len(got.RedirectURIs) != 1 || got.RedirectURIs[0] != "https://portal.example/auth/callback" {
			t.Fatalf("after Ensure: %+v, %v", got, err)
		}
		c.Name = ""
		if err := st.Ensure(ctx, c); err == nil {
			t.Fatal("Ensure of an invalid client: no error")
		}
	})
}

// TestAgencyScopes: agency:CODE scopes belong to client_credentials
// clients only, with a valid code.
func TestAgencyScopes(t *testing.T) {
	base := client.Client{ID: "mvd-system", Name: "МВД: система", AuthMethod: client.AuthPrivateKeyJWT, JWKS: `{"keys":[]}`,
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"agency:mvd"}}
	if err := base.Validate(); err != nil && strings.Contains(err.Error(), "agency") {
		t.Fatalf("a client_credentials client with agency:mvd: %v", err)
	}
	for name, mod := range map[string]func(*client.Client){
		"bad code": func(c *client.Client) { c.Scopes = []string{"agency:MVD!"} },
		"empty":    func(c *client.Client) { c.Scopes = []string{"agency:"} },
		"code flow": func(c *client.Client) {
			c.GrantTypes = []string{client.GrantAuthorizationCode}
			c.RedirectURIs = []string{"https://a.example/cb"}
		},
	} {
		c := base
		mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "agency") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !client.AgencyScope("agency:fns") || client.AgencyScope("agency") || client.AgencyScope("partner:confirmations") {
		t.Error("AgencyScope")
	}
}
