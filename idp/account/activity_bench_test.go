package account_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// BenchmarkActivityChange8 measures audited writes as the account centre
// makes them: 8 writers, each transaction an account change (settings)
// plus its activity-log entry (Activity.Change), each writer on accounts of
// its own so that only the log can make them wait for each other. The
// figure is appends/s of the whole system; the goal is 2,000/s on
// PostgreSQL. Beside it, "unlogged" runs the same transactions without the
// entry: what the machine allows the change alone, measured in the same run.
// "postgres-rtt" reaches PostgreSQL through a proxy that delays each
// message to the server by 0.3 ms, a round trip to a database on another
// host: there the time a head stays locked is network time, not CPU.
//
//	GOSID_TEST_REQUIRE_POSTGRES=1 go test -run '^$' -bench ActivityChange8 -benchtime 3s ./idp/account/
func BenchmarkActivityChange8(b *testing.B) {
	for _, d := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"postgres", sqldbtest.Postgres}, {"postgres-rtt", delayedPostgres}, {"sqlite", sqldbtest.SQLite}} {
		b.Run(d.name+"/logged", func(b *testing.B) { benchActivityChange(b, d.open(b), true) })
		b.Run(d.name+"/unlogged", func(b *testing.B) { benchActivityChange(b, d.open(b), false) })
	}
}

func benchActivityChange(b *testing.B, db *sqldb.DB, logged bool) {
	const writers, perWriter = 8, 16
	ctx := context.Background()
	km := newKeys(b, db)
	st := account.NewStore(db, km, time.Now)
	acts := account.NewActivity(db, st, audit.New(db, km, time.Now))
	ids := make([]string, writers*perWriter)
	for i := range ids {
		a, err := st.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
			Phone: account.Contact{Value: fmt.Sprintf("+7916%07d", i), VerifiedAt: time.Now()}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID
	}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for k := 0; ; k++ {
				if next.Add(1) > int64(b.N) || failed.Load() != nil {
					return
				}
				id := ids[w*perWriter+k%perWriter]
				change := func(s *account.Store) error {
					return s.SetSettings(ctx, id, account.Settings{NotifyNewDevice: k%2 == 0, IdleTimeout: time.Duration(k%60+1) * time.Minute})
				}
				var err error
				if logged {
					err = acts.Change(ctx, audit.Entry{AccountID: id, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: id},
						Action: audit.ActionSettingsChanged, Detail: map[string]string{"notify_new_device": "on"}, IP: "192.0.2.1"}, change)
				} else {
					err = db.InTx(ctx, func(tx *sqldb.Tx) error { return change(st.With(tx)) })
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	if !logged {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
		return
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	rep, err := acts.Log().Verify(ctx, nil)
	if err != nil || !rep.OK || rep.Entries != int64(b.N) {
		b.Fatalf("after %d appends: %+v, %v", b.N, rep, err)
	}
}

// delayedPostgres is a fresh PostgreSQL database reached through a local
// proxy that holds every client-to-server chunk for rtt before passing it
// on, in order.
func delayedPostgres(t testing.TB) *sqldb.DB {
	const rtt = 300 * time.Microsecond
	u, err := url.Parse(sqldbtest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	target := u.Host
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go func() { // server to client, at once
				_, _ = io.Copy(client, server)
				client.Close()
			}()
			type chunk struct {
				b   []byte
				due time.Time
			}
			q := make(chan chunk, 1024)
			go func() { // client to server, each chunk rtt late
				defer server.Close()
				for c := range q {
					time.Sleep(time.Until(c.due))
					if _, err := server.Write(c.b); err != nil {
						return
					}
				}
			}()
			go func() {
				defer close(q)
				for {
					buf := make([]byte, 32<<10)
					n, err := client.Read(buf)
					if n > 0 {
						q <- chunk{buf[:n], time.Now().Add(rtt)}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	u.Host = ln.Addr().String()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
