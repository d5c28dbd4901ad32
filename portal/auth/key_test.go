package auth

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// xorSealer is a reversible sealer that binds to aad, for the tests.
type xorSealer struct{}

func (xorSealer) Seal(p, aad []byte) ([]byte, error) {
	return append(append([]byte{}, aad...), p...), nil
}
func (xorSealer) Open(_ context.Context, b, aad []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, aad) {
		return nil, errors.New("other aad")
	}
	return b[len(aad):], nil
}

// TestLoadSecretAndKey: replicas starting at once get one secret and one
// client key, the same at every later start.
func TestLoadSecretAndKey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		secrets := make([][]byte, 4)
		keys := make([]*Key, 4)
		for i := range secrets {
			wg.Go(func() {
				var err error
				if secrets[i], err = LoadSecret(ctx, db, xorSealer{}, "attachments-1", time.Now()); err != nil {
					t.Error(err)
				}
				if keys[i], err = LoadKey(ctx, db, xorSealer{}, time.Now()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		again, err := LoadSecret(ctx, db, xorSealer{}, "attachments-1", time.Now())
		if err != nil || len(again) != 32 {
			t.Fatal(err)
		}
		for i := range secrets {
			if !bytes.Equal(secrets[i], again) || keys[i].ID != keys[0].ID {
				t.Fatalf("replica %d got another secret or key", i)
			}
		}
		other, _ := LoadSecret(ctx, db, xorSealer{}, "codes", time.Now())
		if bytes.Equal(other, again) {
			t.Fatal("two secrets are the same")
		}
	})
}
