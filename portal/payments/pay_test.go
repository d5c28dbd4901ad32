package payments_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

func postCharge(t testing.TB, st *payments.Store, c payments.Charge) {
	t.Helper()
	if _, _, err := st.PostCharge(context.Background(), "mvd", c); err != nil {
		t.Fatal(err)
	}
}

func paymentRows(t testing.TB, db *sqldb.DB, uin string) int {
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM portal_payments WHERE uin = $1`, uin).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPayAndApply(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		count := events(t, db, st)
		uin := newUIN()
		postCharge(t, st, charge(uin))

		p, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != payments.Pending || p.Amount != 50000 || !p.Discounted || p.Currency != "RUB" || p.ConfirmationURL == "" || p.AcquirerID == "" {
			t.Fatalf("payment: %+v", p)
		}
		if req := acq.created[p.ID]; req.Amount != 50000 || req.NotifyURL == "" || req.ReturnURL != "https://portal.test/payments/"+p.ID {
			t.Fatalf("create request: %+v", req)
		}
		// Pressing again resumes the same payment; someone else is refused.
		if again, err := st.Pay(ctx, "citizen-a", uin, urls); err != nil || again.ID != p.ID {
			t.Fatalf("again: %+v %v", again, err)
		}
		if _, err := st.Pay(ctx, "citizen-b", uin, urls); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("another citizen during a payment: %v", err)
		}
		if _, err := st.PaymentOf(ctx, "citizen-b", p.ID); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("PaymentOf another citizen: %v", err)
		}

		// Notifications that do not match change nothing.
		good := acq.settle(p.ID, acquirer.Succeeded)
		for name, n := range map[string]func(acquirer.Payment) acquirer.Payment{
			"amount":      func(a acquirer.Payment) acquirer.Payment { a.Amount = 100000; return a },
			"currency":    func(a acquirer.Payment) acquirer.Payment { a.Currency = "USD"; return a },
			"acquirer id": func(a acquirer.Payment) acquirer.Payment { a.ID = "acq-other"; return a },
		} {
			if _, err := st.Apply(ctx, n(good)); !errors.Is(err, payments.ErrMismatch) {
				t.Errorf("mismatching %s: %v", name, err)
			}
		}
		unknown := good
		unknown.OrderID = "no-such-order"
		if _, err := st.Apply(ctx, unknown); !errors.Is(err, payments.ErrUnknownPayment) {
			t.Fatalf("unknown: %v", err)
		}
		if c, _ := st.Charge(ctx, uin); c.Status != payments.Unpaid {
			t.Fatalf("charge after refused notifications: %s", c.Status)
		}

		// The capture, then its duplicate and a late decline.
		if out, err := st.Apply(ctx, good); err != nil || out != payments.Captured {
			t.Fatalf("apply: %s %v", out, err)
		}
		if out, err := st.Apply(ctx, good); err != nil || out != payments.AlreadyApplied {
			t.Fatalf("duplicate: %s %v", out, err)
		}
		declined := good
		declined.Status = acquirer.Declined
		if out, err := st.Apply(ctx, declined); err != nil || out != payments.AlreadyApplied {
			t.Fatalf("decline after capture: %s %v", out, err)
		}
		got, err := st.PaymentOf(ctx, "citizen-a", p.ID)
		if err != nil || got.Status != payments.Succeeded || got.Card != "411111******1111" || !got.CapturedAt.Equal(t0) {
			t.Fatalf("payment after: %+v %v", got, err)
		}
		c, _ := st.Charge(ctx, uin)
		if c.Status != payments.Paid || c.PaidAt.IsZero() {
			t.Fatalf("charge after: %+v", c)
		}
		if _, err := st.Pay(ctx, "citizen-a", uin, urls); !errors.Is(err, payments.ErrPaid) {
			t.Fatalf("pay a paid charge: %v", err)
		}
		if count(uin, "paid") != 1 || count(uin, "payment.succeeded") != 1 {
			t.Fatal("paid events")
		}

		// History: the citizen's, with the charge's data and filters.
		h, err := st.History(ctx, "citizen-a", payments.HistoryFilter{})
		if err != nil || len(h) != 1 || h[0].ID != p.ID || h[0].Kind != payments.Fine || h[0].Payee.INN != "7707083893" || h[0].Purpose == "" {
			t.Fatalf("history: %+v %v", h, err)
		}
		for name, f := range map[string]payments.HistoryFilter{
			"kind":   {Kind: payments.Tax},
			"status": {Status: payments.Declined},
			"period": {From: t0.Add(time.Hour)},
		} {
			if h, err := st.History(ctx, "citizen-a", f); err != nil || len(h) != 0 {
				t.Errorf("history by %s: %d %v", name, len(h), err)
			}
		}
		if h, err := st.History(ctx, "citizen-a", payments.HistoryFilter{Kind: payments.Fine, Status: payments.Succeeded, From: t0, To: t0.Add(time.Second)}); err != nil || len(h) != 1 {
			t.Errorf("history by everything: %d %v", len(h), err)
		}
		if h, err := st.History(ctx, "citizen-b", payments.HistoryFilter{}); err != nil || len(h) != 0 {
			t.Fatalf("B's history: %d %v", len(h), err)
		}
	})
}

func TestDeclinedThenPaidAgain(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		count := events(t, db, st)
		uin := newUIN()
		postCharge(t, st, charge(uin))
		p1, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := st.Apply(ctx, acq.settle(p1.ID, acquirer.Declined)); err != nil || out != payments.DeclinedNow {
			t.Fatalf("decline: %s %v", out, err)
		}
		if out, _ := st.Apply(ctx, acq.settle(p1.ID, acquirer.Declined)); out != payments.AlreadyApplied {
			t.Fatalf("decline twice: %s", out)
		}
		// The index is free: a new payment.
		p2, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil || p2.ID == p1.ID {
			t.Fatalf("second payment: %+v %v", p2, err)
		}
		// The acquirer changes its mind on the first (a late capture): it
		// pays the charge; the second, captured too, is flagged for refund.
		if out, err := st.Apply(ctx, acq.settle(p1.ID, acquirer.Succeeded)); err != nil || out != payments.Captured {
			t.Fatalf("late capture: %s %v", out, err)
		}
		if out, err := st.Apply(ctx, acq.settle(p2.ID, acquirer.Succeeded)); err != nil || out != payments.CapturedNeedsRefund {
			t.Fatalf("second capture: %s %v", out, err)
		}
		got, _ := st.Payment(ctx, p2.ID)
		if got.Status != payments.Succeeded || !got.NeedsRefund {
			t.Fatalf("second payment: %+v", got)
		}
		if count(uin, "paid") != 1 {
			t.Fatal("paid twice")
		}
	})
}

func TestAcquirerDownAndDiscountEnd(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// The last Moscow hour of the discount.
		clock := sqldbtest.NewClock(time.Date(2026, 12, 24, 20, 30, 0, 0, time.UTC))
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		uin := newUIN()
		postCharge(t, st, charge(uin))
		acq.setDown(true)
		if _, err := st.Pay(ctx, "citizen-a", uin, urls); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatalf("acquirer down: %v", err)
		}
		var id string
		var amount int64
		if err := db.QueryRow(ctx, `SELECT id, amount FROM portal_payments WHERE uin = $1 AND status = 'new'`, uin).Scan(&id, &amount); err != nil || amount != 50000 {
			t.Fatalf("new payment kept: %d %v", amount, err)
		}
		acq.setDown(false)
		p, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil || p.ID != id || p.Status != payments.Pending || p.Amount != 50000 {
			t.Fatalf("retry: %+v %v", p, err)
		}

		// Another charge: down until the discount's Moscow day is over; the
		// stale `new` payment is expired and a full-amount one made.
		uin2 := newUIN()
		postCharge(t, st, charge(uin2))
		acq.setDown(true)
		if _, err := st.Pay(ctx, "citizen-a", uin2, urls); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatal(err)
		}
		clock.Set(time.Date(2026, 12, 24, 21, 0, 0, 0, time.UTC)) // 00:00 MSK on the 25th
		acq.setDown(false)
		p2, err := st.Pay(ctx, "citizen-a", uin2, urls)
		if err != nil || p2.Amount != 100000 || p2.Discounted {
			t.Fatalf("after the discount: %+v %v", p2, err)
		}
		var expired int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1 AND status = 'expired' AND amount = 50000`, uin2).Scan(&expired); err != nil || expired != 1 {
			t.Fatalf("stale payment expired: %d %v", expired, err)
		}
		// The pending discounted payment of the first charge is kept: the
		// citizen started it in time.
		if again, err := st.Pay(ctx, "citizen-a", uin, urls); err != nil || again.ID != p.ID || again.Amount != 50000 {
			t.Fatalf("pending kept: %+v %v", again, err)
		}
	})
}

func TestReconcile(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		paid, stuck, pending := newUIN(), newUIN(), newUIN()
		for _, u := range []string{paid, stuck, pending} {
			postCharge(t, st, charge(u))
		}
		p1, err := st.Pay(ctx, "citizen-a", paid, urls)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Pay(ctx, "citizen-a", pending, urls); err != nil {
			t.Fatal(err)
		}
		acq.setDown(true)
		if _, err := st.Pay(ctx, "citizen-a", stuck, urls); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatal(err)
		}
		acq.setDown(false)
		acq.settle(p1.ID, acquirer.Succeeded) // its notification was lost
		if ps, _ := st.Pending(ctx, 10*time.Minute, 100); len(ps) != 0 {
			t.Fatalf("pending too early: %d", len(ps))
		}
		clock.Advance(15 * time.Minute)
		if ps, _ := st.Pending(ctx, 10*time.Minute, 100); len(ps) != 3 {
			t.Fatalf("pending: %d", len(ps))
		}
		n, err := st.Reconcile(ctx, 10*time.Minute, 100)
		if err != nil || n != 1 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		if c, _ := st.Charge(ctx, paid); c.Status != payments.Paid {
			t.Fatal("the lost notification was not reconciled")
		}
		clock.Advance(time.Hour)
		if n, err := st.Reconcile(ctx, 10*time.Minute, 100); err != nil || n != 1 {
			t.Fatalf("second reconcile: %d %v", n, err)
		}
		clock.Advance(11 * time.Minute)
		if ps, _ := st.Pending(ctx, 10*time.Minute, 100); len(ps) != 1 || ps[0].UIN != pending {
			t.Fatalf("left pending: %+v", ps)
		}
	})
}

func TestRefunds(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		count := events(t, db, st)
		uin := newUIN()
		postCharge(t, st, charge(uin))
		if _, err := st.Refund(ctx, "mvd", uin, "r0", 100, acq); !errors.Is(err, payments.ErrRefund) {
			t.Fatalf("refund of an unpaid charge: %v", err)
		}
		p, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(ctx, acq.settle(p.ID, acquirer.Succeeded)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Refund(ctx, "fns", uin, "r1", 100, acq); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("refund by another agency: %v", err)
		}
		if _, err := st.Refund(ctx, "mvd", uin, "r1", 50001, acq); !errors.Is(err, payments.ErrRefund) {
			t.Fatalf("refund beyond the payment: %v", err)
		}
		r, err := st.Refund(ctx, "mvd", uin, "r1", 20000, acq)
		if err != nil || r.Status != payments.RefundSucceeded || acq.refunds["r1"].PaymentID != p.AcquirerID {
			t.Fatalf("partial refund: %+v %v", r, err)
		}
		if again, err := st.Refund(ctx, "mvd", uin, "r1", 20000, acq); err != nil || again.Status != payments.RefundSucceeded {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		if _, err := st.Refund(ctx, "mvd", uin, "r1", 30000, acq); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("the id reused for another amount: %v", err)
		}
		got, _ := st.Payment(ctx, p.ID)
		if got.Status != payments.PartiallyRefunded || got.Refunded != 20000 {
			t.Fatalf("after a partial refund: %+v", got)
		}
		if c, _ := st.Charge(ctx, uin); c.Status != payments.Paid {
			t.Fatalf("charge after a partial refund: %s", c.Status)
		}
		// A rejected refund releases its reservation.
		acq.reject = true
		if r, err := st.Refund(ctx, "mvd", uin, "r2", 30000, acq); err != nil || r.Status != payments.RefundDeclined {
			t.Fatalf("rejected: %+v %v", r, err)
		}
		acq.reject = false
		// Down: kept pending and reserved; the notification settles it.
		acq.setDown(true)
		r3, err := st.Refund(ctx, "mvd", uin, "r3", 30000, acq)
		if !errors.Is(err, payments.ErrUnavailable) || r3 == nil || r3.Status != payments.RefundPending {
			t.Fatalf("refund while down: %+v %v", r3, err)
		}
		if _, err := st.Refund(ctx, "mvd", uin, "r4", 1, acq); !errors.Is(err, payments.ErrRefund) {
			t.Fatalf("beyond what is left with a pending refund: %v", err)
		}
		acq.setDown(false)
		note := acquirer.Refund{ID: "ref-r3", RefundID: "r3", PaymentID: p.AcquirerID, Amount: 30000, Status: acquirer.Succeeded}
		if out, err := st.ApplyRefund(ctx, note); err != nil || out != payments.Captured {
			t.Fatalf("refund notification: %s %v", out, err)
		}
		if out, err := st.ApplyRefund(ctx, note); err != nil || out != payments.AlreadyApplied {
			t.Fatalf("refund notification twice: %s %v", out, err)
		}
		note.RefundID = "nope"
		if _, err := st.ApplyRefund(ctx, note); !errors.Is(err, payments.ErrUnknownPayment) {
			t.Fatalf("unknown refund: %v", err)
		}
		got, _ = st.Payment(ctx, p.ID)
		c, _ := st.Charge(ctx, uin)
		if got.Status != payments.PaymentRefunded || got.Refunded != 50000 || c.Status != payments.Refunded {
			t.Fatalf("after the full refund: %+v, charge %s", got, c.Status)
		}
		if count(uin, "refunded") != 2 {
			t.Fatalf("refunded events: %d", count(uin, "refunded"))
		}
		if _, _, err := st.PostCharge(ctx, "mvd", charge(uin)); !errors.Is(err, payments.ErrPaid) {
			t.Fatalf("change of a refunded charge: %v", err)
		}
	})
}

// twoReplicas runs fn with two handles on one migrated database, as two
// replicas of the portal see it, on both dialects.
func twoReplicas(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	open := func(t *testing.T, cfg sqldb.Config) *sqldb.DB {
		db, err := sqldb.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		path := sqldbtest.SQLitePath(t)
		fn(t, open(t, sqldb.Config{SQLitePath: path}), open(t, sqldb.Config{SQLitePath: path}))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		fn(t, open(t, sqldb.Config{URL: url}), open(t, sqldb.Config{URL: url}))
	})
}

// Twenty «Оплатить» at once on one charge, across two replicas: one
// payment row, every caller gets its id, one order at the acquirer.
func TestPayRace(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		stores := []*payments.Store{payments.NewStore(a, sealer{}, key, acq, clock.Now), payments.NewStore(b, sealer{}, key, acq, clock.Now)}
		for round := range 3 {
			uin := newUIN()
			postCharge(t, stores[0], charge(uin))
			const n = 20
			ids := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					p, err := stores[i%2].Pay(ctx, "citizen-a", uin, urls)
					errs[i] = err
					if err == nil {
						ids[i] = p.ID
					}
				}()
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("round %d caller %d: %v", round, i, errs[i])
				}
				if ids[i] != ids[0] {
					t.Fatalf("round %d: callers got %s and %s", round, ids[0], ids[i])
				}
			}
			if rows := paymentRows(t, a, uin); rows != 1 {
				t.Fatalf("round %d: %d payment rows", round, rows)
			}
			acq.mu.Lock()
			_, ok := acq.created[ids[0]]
			acq.mu.Unlock()
			if !ok {
				t.Fatalf("round %d: the payment was not created at the acquirer", round)
			}
		}
		orders, calls := acq.createCalls()
		if orders != 3 {
			t.Fatalf("acquirer orders: %d for 3 charges (%d calls)", orders, calls)
		}
		t.Logf("3 charges × 20 callers: %d orders, %d Create calls", orders, calls)
	})
}

// Twenty copies of one capture notification at once, on two replicas:
// exactly one capture and one paid event.
func TestApplyRace(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		sa, sb := payments.NewStore(a, sealer{}, key, acq, clock.Now), payments.NewStore(b, sealer{}, key, acq, clock.Now)
		count := events(t, a, sa)
		sb.OnChargeChange, sb.OnPaymentChange = sa.OnChargeChange, sa.OnPaymentChange
		for round := range 3 {
			uin := newUIN()
			postCharge(t, sa, charge(uin))
			p, err := sa.Pay(ctx, "citizen-a", uin, urls)
			if err != nil {
				t.Fatal(err)
			}
			ok := acq.settle(p.ID, acquirer.Succeeded)
			no := ok
			no.Status = acquirer.Declined
			const n = 20
			outs := make([]payments.Outcome, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					st := []*payments.Store{sa, sb}[i%2]
					note := ok
					if i%5 == 4 {
						note = no // out of order declines among the captures
					}
					outs[i], errs[i] = st.Apply(ctx, note)
				}()
			}
			close(start)
			wg.Wait()
			captured, declined := 0, 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("round %d apply %d: %v", round, i, errs[i])
				}
				switch outs[i] {
				case payments.Captured:
					captured++
				case payments.DeclinedNow:
					declined++
				}
			}
			// A decline may win the race; the late capture then still wins
			// over it (the acquirer is the truth), and only once.
			if captured != 1 || declined > 1 {
				t.Fatalf("round %d: %d captures, %d declines", round, captured, declined)
			}
			if c := count(uin, "paid"); c != 1 {
				t.Fatalf("round %d: %d paid events", round, c)
			}
			if got, _ := sa.Payment(ctx, p.ID); got.Status != payments.Succeeded {
				t.Fatalf("round %d: %s", round, got.Status)
			}
		}
	})
}

// An agency's change racing with «Оплатить»: a payment of the old amount
// goes ahead only if the change was refused.
func TestChangeRacesPay(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		sa, sb := payments.NewStore(a, sealer{}, key, acq, clock.Now), payments.NewStore(b, sealer{}, key, acq, clock.Now)
		outcomes := map[string]int{}
		for range 15 {
			c := charge(newUIN())
			c.DiscountAmount, c.DiscountUntil = 0, payments.Date{}
			postCharge(t, sa, c)
			changed := c
			changed.Amount = 150000
			var wg sync.WaitGroup
			var p *payments.Payment
			var payErr, postErr error
			wg.Add(2)
			go func() { defer wg.Done(); p, payErr = sa.Pay(ctx, "citizen-a", c.UIN, urls) }()
			go func() { defer wg.Done(); _, _, postErr = sb.PostCharge(ctx, "mvd", changed) }()
			wg.Wait()
			if payErr != nil && !errors.Is(payErr, payments.ErrConflict) || postErr != nil && !errors.Is(postErr, payments.ErrConflict) {
				t.Fatalf("pay %v, post %v", payErr, postErr)
			}
			final, _ := sa.Charge(ctx, c.UIN)
			switch {
			case payErr == nil && p.Amount != final.Amount:
				t.Fatalf("a payment of %d for a charge of %d (post: %v)", p.Amount, final.Amount, postErr)
			case payErr == nil && postErr == nil:
				outcomes["change then pay"]++
			case payErr == nil:
				outcomes["pay, change refused"]++
			default:
				outcomes["change, pay refused"]++
			}
		}
		t.Logf("outcomes: %v", outcomes)

		// A `new` payment (acquirer down) is dropped by an agency's change.
		c := charge(newUIN())
		postCharge(t, sa, c)
		acq.setDown(true)
		if _, err := sa.Pay(ctx, "citizen-a", c.UIN, urls); !errors.Is(err, payments.ErrUnavailable) {
			t.Fatal(err)
		}
		acq.setDown(false)
		c.Amount, c.DiscountAmount = 300000, 150000
		postCharge(t, sa, c)
		p, err := sa.Pay(ctx, "citizen-a", c.UIN, urls)
		if err != nil || p.Amount != 150000 {
			t.Fatalf("after the change: %+v %v", p, err)
		}
		if n := paymentRows(t, a, c.UIN); n != 2 {
			t.Fatalf("payment rows: %d", n)
		}
	})
}

// A pending report is idempotent and moves the reconciliation's queue on.
func TestApplyPending(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		first, second := newUIN(), newUIN()
		postCharge(t, st, charge(first))
		postCharge(t, st, charge(second))
		p1, err := st.Pay(ctx, "citizen-a", first, urls)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if _, err := st.Pay(ctx, "citizen-a", second, urls); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		if ps, _ := st.Pending(ctx, time.Minute, 1); len(ps) != 1 || ps[0].ID != p1.ID {
			t.Fatalf("oldest first: %+v", ps)
		}
		n, err := st.Reconcile(ctx, time.Minute, 1)
		if err != nil || n != 0 {
			t.Fatalf("reconcile of a pending payment: %d %v", n, err)
		}
		if ps, _ := st.Pending(ctx, time.Minute, 1); len(ps) != 1 || ps[0].UIN != second {
			t.Fatalf("the polled payment was not moved back: %+v", ps)
		}
		if c, _ := st.Charge(ctx, first); c.Status != payments.Unpaid {
			t.Fatalf("charge: %s", c.Status)
		}
	})
}
