package keys

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	rows := []keyRow{
		{kid: "r1", alg: RS256, seq: 1, signsFrom: t0.Add(-5 * h), withdrawn: t0},
		{kid: "r2", alg: RS256, seq: 2, signsFrom: t0}, // emergency successor
		{kid: "e3", alg: ES256, seq: 3, signsFrom: t0.Add(10 * h)},
		{kid: "e1", alg: ES256, seq: 1, signsFrom: t0},
		{kid: "e2", alg: ES256, seq: 2, signsFrom: t0.Add(4 * h)},
	}
	type want map[string]State
	for _, tc := range []struct {
		at   time.Duration
		want want
		next time.Duration
	}{
		{0, want{"e1": StateActive, "e2": StatePublished, "e3": StatePublished, "r1": StateWithdrawn, "r2": StateActive}, 4 * h},
		{2 * h, want{"e1": StateActive, "e2": StatePublished, "r1": StateWithdrawn}, 4 * h},
		{4 * h, want{"e1": StateRetiring, "e2": StateActive, "e3": StatePublished}, 5 * h},
		{5 * h, want{"e1": StateRetired, "e2": StateActive}, 10 * h},
		{10 * h, want{"e2": StateRetiring, "e3": StateActive}, 11 * h},
		{11 * h, want{"e2": StateRetired, "e3": StateActive, "r2": StateActive}, 0},
	} {
		now := t0.Add(tc.at)
		infos, next := schedule(rows, h, now)
		if len(infos) != len(rows) || infos[0].KID != "e1" || infos[2].KID != "e3" || infos[4].KID != "r2" {
			t.Fatalf("at +%s: infos not sorted by alg, seq: %+v", tc.at, infos)
		}
		active := map[string]int{}
		for _, info := range infos {
			if w, ok := tc.want[info.KID]; ok && info.State != w {
				t.Errorf("at +%s: %s is %s, want %s", tc.at, info.KID, info.State, w)
			}
			if info.State == StateActive {
				active[info.Alg]++
			}
		}
		if active[ES256] != 1 || active[RS256] != 1 {
			t.Errorf("at +%s: active keys %v, want one per alg", tc.at, active)
		}
		wantNext := time.Time{}
		if tc.next != 0 {
			wantNext = t0.Add(tc.next)
		}
		if !next.Equal(wantNext) {
			t.Errorf("at +%s: next change %s, want %s", tc.at, next, wantNext)
		}
	}
	infos, _ := schedule(rows, h, t0)
	if e1 := infos[0]; !e1.SignsUntil.Equal(t0.Add(4*h)) || !e1.RetiresAt.Equal(t0.Add(5*h)) {
		t.Errorf("e1 signs until %s, retires %s", e1.SignsUntil, e1.RetiresAt)
	}
	if e3 := infos[2]; !e3.SignsUntil.IsZero() || !e3.RetiresAt.IsZero() {
		t.Errorf("newest key has an end: %+v", e3)
	}
}
