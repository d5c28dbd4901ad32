package keys_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

const replicas = 8

// TestReplicaRace starts eight Managers, each on its own database handle as
// separate replicas would be, on an empty database at once, then has them
// all rotate at once.
func TestReplicaRace(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		raceReplicas(t, sqldb.Config{URL: url})
	})
	t.Run("sqlite", func(t *testing.T) {
		raceReplicas(t, sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)})
	})
}

func raceReplicas(t *testing.T, cfg sqldb.Config) {
	ctx := context.Background()
	c := newClock()
	mk := newMaster(t)
	dbs := make([]*sqldb.DB, replicas)
	for i := range dbs {
		db, err := sqldb.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	ms := make([]*keys.Manager, replicas)
	all := func(what string, fn func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, replicas)
		for i := range replicas {
			wg.Go(func() {
				<-start
				errs[i] = fn(i)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s, replica %d: %v", what, i, err)
			}
		}
	}

	all("Open", func(i int) (err error) {
		ms[i], err = keys.Open(ctx, dbs[i], mk, options(c))
		return err
	})
	var n int
	if err := dbs[0].QueryRow(ctx, `SELECT count(*) FROM data_keys`).Scan(&n); err != nil || n != 1 {
		t.Errorf("data keys after the start race: %d (%v), want 1", n, err)
	}
	list := mustList(t, ms[0])
	if len(list) != 2 {
		t.Fatalf("keys after the start race: %+v, want one per algorithm", list)
	}
	agree(t, ms)

	all("Rotate", func(i int) error {
		_, err := ms[i].Rotate(ctx, keys.RotateOptions{})
		return err
	})
	c.Advance(keys.DefaultMaxTokenLifetime) // successors sign
	all("Refresh", func(i int) error { return ms[i].Refresh(ctx) })

	list = mustList(t, ms[0])
	seen := map[string]map[int]bool{}
	active := map[string]int{}
	for _, k := range list {
		if seen[k.Alg] == nil {
			seen[k.Alg] = map[int]bool{}
		}
		if seen[k.Alg][k.Seq] {
			t.Errorf("two keys %s seq %d", k.Alg, k.Seq)
		}
		seen[k.Alg][k.Seq] = true
		if k.State == keys.StateActive {
			active[k.Alg]++
		}
	}
	for _, alg := range keys.Algorithms() {
		if active[alg] != 1 {
			t.Errorf("%s has %d active keys, want 1: %+v", alg, active[alg], list)
		}
		if !seen[alg][2] {
			t.Errorf("%s was not rotated: %+v", alg, list)
		}
		// The rotations raced from seq 1; each replica adds at most one.
		if len(seen[alg]) > 1+replicas {
			t.Errorf("%s has %d keys", alg, len(seen[alg]))
		}
	}
	t.Logf("after %d concurrent rotations: %d keys", replicas, len(list))
	agree(t, ms)
}

// agree checks that every Manager serves the same JWKS and signs with the
// same keys.
func agree(t *testing.T, ms []*keys.Manager) {
	t.Helper()
	for i, m := range ms[1:] {
		if !bytes.Equal(m.JSON(), ms[0].JSON()) {
			t.Errorf("replica %d serves another JWKS:\n%s\nreplica 0:\n%s", i+1, m.JSON(), ms[0].JSON())
		}
		for _, alg := range keys.Algorithms() {
			if a, b := mustSigner(t, ms[0], alg).ID, mustSigner(t, m, alg).ID; a != b {
				t.Errorf("%s: replica %d signs with %s, replica 0 with %s", alg, i+1, b, a)
			}
		}
	}
}
