package registry

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/validate"
)

var answerSeeds = []string{
	`{"status":"confirmed","record_id":"r-1","checked_at":"2026-03-12T10:00:00+03:00"}`,
	`{"status":"mismatch","fields":["birthdate","family_name"],"record_id":"r","checked_at":"2026-03-12T07:00:00.123Z"}`,
	`{"status":"confirmed","inn":"770412345664","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"not_found","record_id":"r","checked_at":"2026-03-12T10:00:00Z","extra":[1,2,{}]}`,
	`{"status":"invalid","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"mismatch","fields":[],"record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"mismatch","fields":["a","a"],"record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"confirmed","inn":" 770412345664","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"confirmed","record_id":"r r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"confirmed","record_id":"r","checked_at":"12.03.2026"}`,
	`{"status":"CONFIRMED","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`,
	`{"status":"confirmed","record_id":"r","checked_at":"2026-03-12T10:00:00Z"} {}`,
	`[]`, `null`, `"confirmed"`, ``,
}

// TestParseAnswer: the seeds that are the protocol parse, the others do
// not, and no error quotes the answer.
func TestParseAnswer(t *testing.T) {
	at := time.Date(2026, 3, 12, 7, 0, 0, 0, time.UTC)
	good := map[int]Result{
		0: {Status: Confirmed, RecordID: "r-1", CheckedAt: at},
		1: {Status: Mismatch, Fields: []string{"birthdate", "family_name"}, RecordID: "r", CheckedAt: at.Add(123 * time.Millisecond)},
		2: {Status: Confirmed, INN: "770412345664", RecordID: "r", CheckedAt: at.Add(3 * time.Hour)},
		3: {Status: NotFound, RecordID: "r", CheckedAt: at.Add(3 * time.Hour)},
		4: {Status: Invalid, RecordID: "r", CheckedAt: at.Add(3 * time.Hour)},
	}
	for i, seed := range answerSeeds {
		res, err := parseAnswer([]byte(seed))
		want, ok := good[i]
		switch {
		case ok && err != nil:
			t.Errorf("seed %d: %v", i, err)
		case ok && (!res.CheckedAt.Equal(want.CheckedAt) || res.Status != want.Status || !slices.Equal(res.Fields, want.Fields) || res.INN != want.INN || res.RecordID != want.RecordID):
			t.Errorf("seed %d: %+v, want %+v", i, res, want)
		case !ok && err == nil:
			t.Errorf("seed %d accepted: %+v", i, res)
		case err != nil && (strings.Contains(err.Error(), "CONFIRMED") || strings.Contains(err.Error(), "12.03")):
			t.Errorf("seed %d: the error quotes the answer: %v", i, err)
		}
	}
}

// FuzzParseAnswer: parseAnswer never panics, and what it accepts keeps
// the protocol's promises and survives a round trip.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := parseAnswer(data)
		if err != nil {
			if res.Status != "" || res.RecordID != "" {
				t.Fatalf("an error with a result: %+v", res)
			}
			return
		}
		if !slices.Contains([]Status{Confirmed, Mismatch, NotFound, Invalid}, res.Status) {
			t.Fatalf("status %q", res.Status)
		}
		if (res.Status == Mismatch) != (len(res.Fields) > 0) || len(res.Fields) > maxFields {
			t.Fatalf("%s with fields %q", res.Status, res.Fields)
		}
		for _, f := range res.Fields {
			if !validFieldName(f) {
				t.Fatalf("field %q", f)
			}
		}
		if res.INN != "" {
			if v, err := validate.PersonINN(res.INN); err != nil || v != res.INN {
				t.Fatalf("INN %q", res.INN)
			}
		}
		if !validID(res.RecordID) {
			t.Fatalf("record %q", res.RecordID)
		}
		again, err := json.Marshal(wireAnswer{Status: string(res.Status), Fields: res.Fields, INN: res.INN, RecordID: res.RecordID, CheckedAt: res.CheckedAt.Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatal(err)
		}
		res2, err := parseAnswer(again)
		if err != nil || !res2.CheckedAt.Equal(res.CheckedAt) {
			t.Fatalf("round trip: %v %v", err, res2.CheckedAt)
		}
		res2.CheckedAt = res.CheckedAt
		if !reflect.DeepEqual(res, res2) {
			t.Fatalf("round trip: %+v != %+v", res2, res)
		}
	})
}
