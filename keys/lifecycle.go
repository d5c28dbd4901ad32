package keys

import (
	"cmp"
	"slices"
	"time"
)

// State is where a signing key is in its life at a given time. See the
// package documentation for the transitions.
type State string

// The states of a signing key.
const (
	// StatePublished: in the JWKS, not signing yet.
	StatePublished State = "published"
	// StateActive: the key that signs for its algorithm.
	StateActive State = "active"
	// StateRetiring: no longer signing, still in the JWKS until everything
	// it signed has expired.
	StateRetiring State = "retiring"
	// StateRetired: out of the JWKS; its private part is erased.
	StateRetired State = "retired"
	// StateWithdrawn: removed at once by an emergency rotation; its
	// private part is erased.
	StateWithdrawn State = "withdrawn"
)

// Published reports whether a key in state s belongs in the JWKS.
func (s State) Published() bool {
	return s == StatePublished || s == StateActive || s == StateRetiring
}

// KeyInfo describes one signing key, for `gosid keys list` and logs. It
// holds no key material.
type KeyInfo struct {
	KID   string `json:"kid"`
	Alg   string `json:"alg"`
	Seq   int    `json:"seq"`
	State State  `json:"state"`
	// Created is when the key was generated.
	Created time.Time `json:"created"`
	// SignsFrom is when the key starts (or started) signing.
	SignsFrom time.Time `json:"signs_from"`
	// SignsUntil is when its successor takes over; zero while it has none.
	SignsUntil time.Time `json:"signs_until,omitzero"`
	// RetiresAt is when it leaves the JWKS (SignsUntil plus the maximum
	// token lifetime, or WithdrawnAt); zero while it has no successor.
	RetiresAt time.Time `json:"retires_at,omitzero"`
	// WithdrawnAt is when an emergency rotation withdrew it; zero if never.
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
}

// keyRow is one row of signing_keys.
type keyRow struct {
	kid        string
	alg        string
	seq        int
	publicDER  []byte
	privateEnc []byte // nil once erased
	dataKeyID  string
	created    time.Time
	signsFrom  time.Time
	withdrawn  time.Time // zero if not withdrawn
}

// schedule computes every key's state at now from the rows alone, so that
// every replica, given the same rows and clock, reaches the same answer.
// It also returns the next instant after now at which some state changes
// (the zero time if none is planned). Rows come back sorted by alg, seq.
//
// For each algorithm the key that signs at t is the one with the highest
// seq among those not withdrawn whose signs_from <= t. Hence a key signs
// from its signs_from until the earliest signs_from of any later key, and
// is published until that moment plus maxLifetime.
func schedule(rows []keyRow, maxLifetime time.Duration, now time.Time) ([]KeyInfo, time.Time) {
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b keyRow) int {
		return cmp.Or(cmp.Compare(a.alg, b.alg), cmp.Compare(a.seq, b.seq))
	})
	infos := make([]KeyInfo, len(sorted))
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	// Walk each algorithm's chain from the highest seq down, carrying the
	// earliest signs_from seen among later keys.
	for i := len(sorted) - 1; i >= 0; {
		alg := sorted[i].alg
		var successorFrom time.Time // earliest signs_from of a later live key
		for ; i >= 0 && sorted[i].alg == alg; i-- {
			r := sorted[i]
			info := KeyInfo{
				KID: r.kid, Alg: r.alg, Seq: r.seq,
				Created: r.created, SignsFrom: r.signsFrom, WithdrawnAt: r.withdrawn,
			}
			switch {
			case !r.withdrawn.IsZero():
				info.State = StateWithdrawn
				info.RetiresAt = r.withdrawn
			default:
				if !successorFrom.IsZero() {
					info.SignsUntil = successorFrom
					info.RetiresAt = successorFrom.Add(maxLifetime)
				}
				switch {
				case !info.SignsUntil.IsZero() && !now.Before(info.RetiresAt):
					info.State = StateRetired
				case !info.SignsUntil.IsZero() && !now.Before(info.SignsUntil):
					info.State = StateRetiring
				case now.Before(r.signsFrom):
					info.State = StatePublished
				default:
					info.State = StateActive
				}
				consider(r.signsFrom)
				consider(info.SignsUntil)
				consider(info.RetiresAt)
				if successorFrom.IsZero() || r.signsFrom.Before(successorFrom) {
					successorFrom = r.signsFrom
				}
			}
			infos[i] = info
		}
	}
	return infos, next
}
