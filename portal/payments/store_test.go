package payments_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// sealer is a reversible stand-in for the portal's sealer that still binds
// a blob to its aad, so a value moved to another row fails.
type sealer struct{}

func (sealer) Seal(p, aad []byte) ([]byte, error) {
	return append(append([]byte(string(aad)+"\x00"), p...), 0), nil
}

func (sealer) Open(_ context.Context, b, aad []byte) ([]byte, error) {
	prefix := string(aad) + "\x00"
	if len(b) < len(prefix)+1 || string(b[:len(prefix)]) != prefix {
		return nil, errors.New("sealed for another row")
	}
	return b[len(prefix) : len(b)-1], nil
}

// fakeAcquirer records calls; down makes every call ErrUnavailable.
type fakeAcquirer struct {
	mu      sync.Mutex
	down    bool
	creates map[string]int // OrderID → calls
	created map[string]acquirer.CreateRequest
	refunds map[string]acquirer.RefundRequest
	reject  bool
	known   map[string]acquirer.Payment // by acquirer id, for Payment
}

func newFake() *fakeAcquirer {
	return &fakeAcquirer{creates: map[string]int{}, created: map[string]acquirer.CreateRequest{},
		refunds: map[string]acquirer.RefundRequest{}, known: map[string]acquirer.Payment{}}
}

func (f *fakeAcquirer) setDown(d bool) { f.mu.Lock(); f.down = d; f.mu.Unlock() }

func (f *fakeAcquirer) Create(_ context.Context, r acquirer.CreateRequest) (acquirer.Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return acquirer.Created{}, acquirer.ErrUnavailable
	}
	if prev, ok := f.created[r.OrderID]; ok && prev.Amount != r.Amount {
		return acquirer.Created{}, acquirer.ErrRejected
	}
	f.creates[r.OrderID]++
	f.created[r.OrderID] = r
	id := "acq-" + r.OrderID
	if _, ok := f.known[id]; !ok {
		f.known[id] = acquirer.Payment{ID: id, OrderID: r.OrderID, Status: acquirer.Pending, Amount: r.Amount, Currency: r.Currency}
	}
	return acquirer.Created{ID: id, ConfirmationURL: "https://acquirer.test/pay/" + id}, nil
}

func (f *fakeAcquirer) Payment(_ context.Context, id string) (acquirer.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return acquirer.Payment{}, acquirer.ErrUnavailable
	}
	p, ok := f.known[id]
	if !ok {
		return acquirer.Payment{}, acquirer.ErrNotFound
	}
	return p, nil
}

// settle makes the acquirer's payment of order succeeded or declined.
func (f *fakeAcquirer) settle(order string, st acquirer.Status) acquirer.Payment {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.known["acq-"+order]
	p.Status = st
	if st == acquirer.Succeeded {
		p.Card = "411111******1111"
		p.CapturedAt = t0
	} else {
		p.Reason = "insufficient_funds"
	}
	f.known[p.ID] = p
	return p
}

func (f *fakeAcquirer) Refund(_ context.Context, r acquirer.RefundRequest) (acquirer.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return acquirer.Refund{}, acquirer.ErrUnavailable
	}
	if f.reject {
		return acquirer.Refund{}, acquirer.ErrRejected
	}
	f.refunds[r.RefundID] = r
	return acquirer.Refund{ID: "ref-" + r.RefundID, RefundID: r.RefundID, PaymentID: r.PaymentID, Amount: r.Amount, Status: acquirer.Succeeded}, nil
}

func (f *fakeAcquirer) createCalls() (orders, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.creates {
		orders++
		calls += n
	}
	return
}

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

var key = []byte("0123456789abcdef0123456789abcdef")

// snils completes 9 digits with the SNILS control number.
func snils(nine string) string {
	sum := 0
	for i := range 9 {
		sum += int(nine[i]-'0') * (9 - i)
	}
	c := sum % 101
	if c == 100 {
		c = 0
	}
	return fmt.Sprintf("%s%02d", nine, c)
}

var (
	snilsA = snils("112233445")
	snilsB = snils("223344556")
)

func charge(uin string, concerns ...payments.Identifier) payments.Charge {
	if len(concerns) == 0 {
		concerns = []payments.Identifier{{Kind: payments.SNILS, Value: snilsA}}
	}
	return payments.Charge{
		UIN: uin, Kind: payments.Fine,
		Payee: payments.Payee{Name: "УФК по г. Москве (ГУ МВД России по г. Москве)", INN: "7707083893", KPP: "770731005",
			BIK: "004525988", Account: "03100643000000017300", BankName: "ГУ Банка России по ЦФО", KBK: "18811601123010001140", OKTMO: "45000000"},
		Purpose: "Штраф по постановлению", LegalBasis: "ст. 12.9 КоАП РФ", Amount: 100000, DiscountAmount: 50000,
		DiscountUntil: payments.Date{Year: 2026, Month: 12, Day: 24}, IssuedOn: payments.Date{Year: 2026, Month: 12, Day: 4},
		DueOn: payments.Date{Year: 2027, Month: 2, Day: 2}, Concerns: concerns,
	}
}

var uinSeq int

func newUIN() string {
	uinSeq++
	return mintUIN(fmt.Sprintf("1881047720%09d", uinSeq))
}

// events records hook calls in the database, in the hook's transaction,
// so that a rolled-back change leaves no event.
func events(t *testing.T, db *sqldb.DB, st *payments.Store) func(uin, event string) int {
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE test_events (uin TEXT NOT NULL, event TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	st.OnChargeChange = func(ctx context.Context, tx *sqldb.Tx, c payments.ChargeChange) error {
		if len(c.Hashes) == 0 {
			return errors.New("a change without whom it concerns")
		}
		_, err := tx.Exec(ctx, `INSERT INTO test_events (uin, event) VALUES ($1, $2)`, c.UIN, string(c.Event))
		return err
	}
	st.OnPaymentChange = func(ctx context.Context, tx *sqldb.Tx, p payments.PaymentChange) error {
		_, err := tx.Exec(ctx, `INSERT INTO test_events (uin, event) VALUES ($1, $2)`, p.UIN, "payment."+string(p.Status))
		return err
	}
	return func(uin, event string) int {
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM test_events WHERE uin = $1 AND event = $2`, uin, event).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

func urls(id string) (string, string) {
	return "https://portal.test/payments/" + id, "https://portal.test/acquirer/notify"
}

func TestChargeLifecycle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		acq := newFake()
		st := payments.NewStore(db, sealer{}, key, acq, clock.Now)
		count := events(t, db, st)

		// Validation names every bad field.
		bad := charge("12345")
		bad.Payee.INN, bad.Amount, bad.DiscountAmount = "7707083894", 0, 0
		bad.DueOn = payments.Date{Year: 2026, Month: 1, Day: 1}
		bad.Concerns = []payments.Identifier{{Kind: payments.SNILS, Value: "11223344596"}}
		_, _, err := st.PostCharge(ctx, "mvd", bad)
		var ve *payments.ValidationError
		if !errors.Is(err, payments.ErrInvalid) || !errors.As(err, &ve) {
			t.Fatalf("invalid charge: %v", err)
		}
		fields := map[string]bool{}
		for _, f := range ve.Fields {
			fields[f.Field] = true
			if f.RU == "" || f.EN == "" {
				t.Errorf("field %s without texts", f.Field)
			}
		}
		for _, want := range []string{"uin", "payee.inn", "amount", "discount_until", "due_on", "concerns[0]"} {
			if !fields[want] {
				t.Errorf("no error for %s in %v", want, ve.Fields)
			}
		}
		if e := err.Error(); strings.Contains(e, "11223344596") {
			t.Errorf("error text carries a SNILS: %s", e)
		}

		uin := newUIN()
		c := charge(uin, payments.Identifier{Kind: payments.SNILS, Value: snilsA[:3] + "-" + snilsA[3:6] + "-" + snilsA[6:9] + " " + snilsA[9:]})
		got, created, err := st.PostCharge(ctx, "mvd", c)
		if err != nil || !created || got.Version != 1 || got.Status != payments.Unpaid || got.Concerns[0].Value != snilsA {
			t.Fatalf("post: %+v %v %v", got, created, err)
		}
		if got.DiscountUntil != c.DiscountUntil || got.Payee != c.Payee {
			t.Fatalf("post round trip: %+v", got)
		}
		// Identifiers are not stored in clear.
		var clear int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_charge_ids WHERE hash LIKE $1`, "%"+snilsA+"%").Scan(&clear); err != nil || clear != 0 {
			t.Fatalf("identifier in clear: %d %v", clear, err)
		}
		// The agency changes it.
		c.Amount, c.DiscountAmount = 150000, 75000
		got, created, err = st.PostCharge(ctx, "mvd", c)
		if err != nil || created || got.Version != 2 || got.Amount != 150000 {
			t.Fatalf("change: %+v %v %v", got, created, err)
		}
		// A stale version, another agency, and a new charge with a version.
		if _, _, err := st.PostCharge(ctx, "mvd", c, payments.PostOptions{ExpectVersion: 1}); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		if _, _, err := st.PostCharge(ctx, "fns", c); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("another agency's UIN: %v", err)
		}
		if _, err := st.AgencyCharge(ctx, "fns", uin); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("AgencyCharge of another agency: %v", err)
		}
		if got, _ := st.Charge(ctx, uin); got.Agency != "mvd" || got.Amount != 150000 {
			t.Fatalf("overwritten by another agency: %+v", got)
		}
		if _, _, err := st.PostCharge(ctx, "mvd", charge(newUIN()), payments.PostOptions{ExpectVersion: 3}); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("version of a missing charge: %v", err)
		}

		// Paid: immutable.
		p, err := st.Pay(ctx, "citizen-a", uin, urls)
		if err != nil {
			t.Fatal(err)
		}
		// While it is being paid the agency cannot change it.
		if _, _, err := st.PostCharge(ctx, "mvd", c); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("change during a payment: %v", err)
		}
		if err := st.CancelCharge(ctx, "mvd", uin, "ошибка"); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("cancel during a payment: %v", err)
		}
		if out, err := st.Apply(ctx, acq.settle(p.ID, acquirer.Succeeded)); err != nil || out != payments.Captured {
			t.Fatalf("apply: %s %v", out, err)
		}
		if _, _, err := st.PostCharge(ctx, "mvd", c); !errors.Is(err, payments.ErrPaid) {
			t.Fatalf("change of a paid charge: %v", err)
		}
		if err := st.CancelCharge(ctx, "mvd", uin, "ошибка"); !errors.Is(err, payments.ErrPaid) {
			t.Fatalf("cancel of a paid charge: %v", err)
		}

		// Cancel: another agency cannot; twice is fine; then no payment.
		uin2 := newUIN()
		if _, _, err := st.PostCharge(ctx, "mvd", charge(uin2)); err != nil {
			t.Fatal(err)
		}
		if err := st.CancelCharge(ctx, "fns", uin2, "x"); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("cancel by another agency: %v", err)
		}
		for range 2 {
			if err := st.CancelCharge(ctx, "mvd", uin2, "Постановление отменено"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Pay(ctx, "citizen-a", uin2, urls); !errors.Is(err, payments.ErrCancelled) {
			t.Fatalf("pay a cancelled charge: %v", err)
		}
		if _, _, err := st.PostCharge(ctx, "mvd", charge(uin2)); !errors.Is(err, payments.ErrCancelled) {
			t.Fatalf("change a cancelled charge: %v", err)
		}
		for ev, want := range map[string]int{"posted": 1, "changed": 1, "paid": 1, "payment.succeeded": 1} {
			if n := count(uin, ev); n != want {
				t.Errorf("%s events: %d, want %d", ev, n, want)
			}
		}
		if n := count(uin2, "cancelled"); n != 1 {
			t.Errorf("cancelled events: %d", n)
		}
	})
}

func TestMatchingAndDocuments(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st := payments.NewStore(db, sealer{}, key, newFake(), clock.Now)

		// Citizen A's documents.
		lic, err := st.AddDocument(ctx, "citizen-a", payments.DriverLicence, "99 01 123456")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if _, err := st.AddDocument(ctx, "citizen-a", payments.VehicleCert, "77 ab 654321"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddDocument(ctx, "citizen-a", payments.DriverLicence, "9901123456"); !errors.Is(err, payments.ErrConflict) {
			t.Fatalf("the same licence twice: %v", err)
		}
		if _, err := st.AddDocument(ctx, "citizen-a", payments.DriverLicence, "99 01 12345"); !errors.Is(err, payments.ErrInvalid) {
			t.Fatalf("a short licence: %v", err)
		}
		if _, err := st.AddDocument(ctx, "citizen-a", payments.SNILS, snilsA); !errors.Is(err, payments.ErrInvalid) {
			t.Fatalf("SNILS as a document: %v", err)
		}
		// Citizen B may hold the same number in their list (a shared car):
		// uniqueness is per citizen.
		if _, err := st.AddDocument(ctx, "citizen-b", payments.VehicleCert, "77АВ654321"); err != nil {
			t.Fatal(err)
		}
		docs, err := st.Documents(ctx, "citizen-a")
		if err != nil || len(docs) != 2 || docs[0].Value != "9901123456" || docs[1].Value != "77АВ654321" {
			t.Fatalf("documents: %+v %v", docs, err)
		}
		var clearText int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_documents WHERE hash = $1`, "9901123456").Scan(&clearText); err != nil || clearText != 0 {
			t.Fatal("a document stored in clear")
		}
		if err := st.RemoveDocument(ctx, "citizen-b", lic.ID); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("remove another's document: %v", err)
		}
		for i := range payments.MaxDocuments - 2 {
			if _, err := st.AddDocument(ctx, "citizen-a", payments.VehicleCert, fmt.Sprintf("5050%06d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.AddDocument(ctx, "citizen-a", payments.VehicleCert, "5151000000"); !errors.Is(err, payments.ErrTooMany) {
			t.Fatalf("beyond the limit: %v", err)
		}

		// Charges: one per identifier kind, one of B's, one of nobody's.
		byLicence, bySTS, bySNILS, byINN, ofB := newUIN(), newUIN(), newUIN(), newUIN(), newUIN()
		post := func(uin string, kind payments.Kind, amount int64, issued payments.Date, ids ...payments.Identifier) {
			c := charge(uin, ids...)
			c.Kind, c.Amount, c.DiscountAmount, c.DiscountUntil, c.IssuedOn = kind, amount, 0, payments.Date{}, issued
			if _, _, err := st.PostCharge(ctx, "mvd", c); err != nil {
				t.Fatal(err)
			}
		}
		d := func(day int) payments.Date { return payments.Date{Year: 2026, Month: 11, Day: day} }
		post(byLicence, payments.Fine, 50000, d(1), payments.Identifier{Kind: payments.DriverLicence, Value: "9901 123456"})
		post(bySTS, payments.Fine, 30000, d(2), payments.Identifier{Kind: payments.VehicleCert, Value: "77 АВ 654321"})
		post(bySNILS, payments.Fee, 200000, d(3), payments.Identifier{Kind: payments.SNILS, Value: snilsA})
		post(byINN, payments.Tax, 1000000, d(4), payments.Identifier{Kind: payments.INN, Value: "500100732259"})
		post(ofB, payments.Fine, 10000, d(5), payments.Identifier{Kind: payments.SNILS, Value: snilsB})
		ids, err := st.Identifiers(ctx, "citizen-a")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, payments.Identifier{Kind: payments.SNILS, Value: snilsA}, payments.Identifier{Kind: payments.INN, Value: "500100732259"})
		uins := func(f payments.ChargeFilter) []string {
			cs, err := st.ChargesFor(ctx, ids, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.UIN)
			}
			return out
		}
		all := uins(payments.ChargeFilter{})
		if len(all) != 4 || slicesContains(all, ofB) {
			t.Fatalf("A's charges: %v (B's is %s)", all, ofB)
		}
		if got := uins(payments.ChargeFilter{Kind: payments.Fine}); len(got) != 2 {
			t.Fatalf("fines: %v", got)
		}
		if got := uins(payments.ChargeFilter{MinAmount: 100000, MaxAmount: 500000}); len(got) != 1 || got[0] != bySNILS {
			t.Fatalf("by amount: %v", got)
		}
		if got := uins(payments.ChargeFilter{From: d(2), To: d(3)}); len(got) != 2 {
			t.Fatalf("by date: %v", got)
		}
		if got := uins(payments.ChargeFilter{UIN: byINN}); len(got) != 1 || got[0] != byINN {
			t.Fatalf("by UIN: %v", got)
		}
		if got := uins(payments.ChargeFilter{UIN: "1' OR '1'='1"}); len(got) != 0 {
			t.Fatalf("a bad UIN search: %v", got)
		}
		// B sees only B's; nobody's identifiers see nothing.
		cs, err := st.ChargesFor(ctx, []payments.Identifier{{Kind: payments.SNILS, Value: snilsB}, {Kind: payments.VehicleCert, Value: "77АВ654322"}}, payments.ChargeFilter{})
		if err != nil || len(cs) != 1 || cs[0].UIN != ofB {
			t.Fatalf("B's charges: %v %v", cs, err)
		}

		// Whom to tell of a charge: the holders of its documents.
		h, ok := st.IdentifierHash(payments.Identifier{Kind: payments.VehicleCert, Value: "77 АВ 654321"})
		if !ok {
			t.Fatal("IdentifierHash")
		}
		if holders, err := st.DocumentHolders(ctx, []string{h}); err != nil || len(holders) != 2 || holders[0] != "citizen-a" || holders[1] != "citizen-b" {
			t.Fatalf("holders: %v %v", holders, err)
		}
		if holders, err := st.DocumentHolders(ctx, []string{"0000"}); err != nil || len(holders) != 0 {
			t.Fatalf("holders of nothing: %v %v", holders, err)
		}

		// Order: unpaid by due date first, then the rest.
		late := charge(newUIN(), payments.Identifier{Kind: payments.SNILS, Value: snilsA})
		late.DueOn = payments.Date{Year: 2026, Month: 12, Day: 5}
		if _, _, err := st.PostCharge(ctx, "mvd", late); err != nil {
			t.Fatal(err)
		}
		if err := st.CancelCharge(ctx, "mvd", bySNILS, "отменено"); err != nil {
			t.Fatal(err)
		}
		cs, err = st.ChargesFor(ctx, ids, payments.ChargeFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].UIN != late.UIN || cs[len(cs)-1].UIN != bySNILS || cs[len(cs)-1].Status != payments.Cancelled {
			t.Fatalf("order: first %s (%s), last %s", cs[0].UIN, cs[0].DueOn, cs[len(cs)-1].UIN)
		}
		clock.Set(time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)) // Moscow 6 December
		if !cs[0].Overdue(clock.Now()) || cs[1].Overdue(clock.Now()) {
			t.Fatal("overdue marks")
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The verified SNILS and INN of a citizen's latest sign-in find them for
// a new charge by those identifiers; a later sign-in replaces them.
func TestRememberVerified(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := payments.NewStore(db, sealer{}, key, newFake(), nil)
		snils := payments.Identifier{Kind: payments.SNILS, Value: snilsA}
		h, ok := st.IdentifierHash(snils)
		if !ok {
			t.Fatal("the test SNILS is malformed")
		}
		if err := st.RememberVerified(ctx, "citizen-a", []payments.Identifier{snils, {Kind: payments.INN, Value: "bogus"}}); err != nil {
			t.Fatal(err)
		}
		if got, err := st.DocumentHolders(ctx, []string{h}); err != nil || len(got) != 1 || got[0] != "citizen-a" {
			t.Fatalf("holders of the SNILS: %v %v", got, err)
		}
		if err := st.RememberVerified(ctx, "citizen-a", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := st.DocumentHolders(ctx, []string{h}); err != nil || len(got) != 0 {
			t.Fatalf("after a sign-in without it: %v %v", got, err)
		}
	})
}
