// Package otp issues and checks the one-time codes sent by SMS or e-mail:
// registration, recovery, sign-in, confirming a new contact.
//
// A challenge is a code bound to one purpose ("register", "recover",
// "login", "contact"…) and one destination (a phone number or an e-mail
// address, normalised by the caller). There is at most one challenge per
// (purpose, destination): issuing a new code replaces the earlier one, whose
// id then no longer exists. Its states:
//
//	Issue ──▶ live
//	live ── correct code ──────────────▶ consumed   Verify: nil (exactly once)
//	live ── wrong code, attempts < Max ─▶ live       Verify: *ErrWrongCode{AttemptsLeft}
//	live ── wrong code, attempts = Max ─▶ dead       Verify: *ErrWrongCode{AttemptsLeft: 0}
//	live ── now ≥ ExpiresAt (issue+TTL) ▶ expired
//	consumed ── Verify ──▶ ErrNotFound          (single use)
//	dead     ── Verify ──▶ ErrTooManyAttempts   (the correct code too)
//	expired  ── Verify ──▶ ErrExpired
//	any ── Issue for the same pair, or Sweep ──▶ gone: Verify ErrNotFound
//
// An unknown id, or a purpose or destination other than the challenge's,
// is ErrNotFound and costs no attempt.
//
// Issue refuses, before creating anything: within ResendAfter of the
// previous code for the same (purpose, destination) with *ErrResendTooSoon;
// past DailyPerIP codes for the client IP or DailyPerDestination codes for
// the destination (any purpose) in the last 24 hours with *DailyCapError
// (errors.Is ErrDailyCap) — the SMS-pumping defence. The caps are sliding
// 24-hour windows in package ratelimit, shared by all replicas. The IP cap
// is checked first, so a client over its own cap cannot also use up a
// victim's destination cap. Release ends a challenge's cool-down early: the
// gateway refused its message, and the citizen may ask again at once.
//
// Concurrency without locks: a correct code consumes the challenge with one
// compare-and-swap UPDATE (… WHERE consumed_at IS NULL AND attempts <
// max_attempts AND expires_at > now), so of two racing correct submissions
// exactly one succeeds; a wrong code is counted with one UPDATE … SET
// attempts = attempts + 1 under the same guard, so racing wrong codes are
// counted exactly and no more than MaxAttempts of them are ever judged
// "wrong" — the rest see the challenge dead. Issue replaces a challenge with
// an upsert guarded by the cool-down, so two racing Issues create one code.
//
// At rest: the code only as HMAC-SHA256(pepper, code || challenge id), the
// destination only as HMAC-SHA256(pepper, destination), the challenge id
// only as its SHA-256. A database dump therefore yields neither codes nor
// phone numbers without the pepper, which lives outside the database.
// Codes are drawn uniformly (rejection sampling, no modulo bias) and never
// appear in an error or a log value.
package otp
