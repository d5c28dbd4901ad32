// Package cache keeps read-mostly answers in each replica's memory and
// drops them when any replica changes what they were made from, so that a
// hit needs no database and a change made anywhere is in force everywhere
// within a small documented bound.
//
// # Model
//
// A Cache[V] is a bounded (LRU) map of entries with a TTL; each entry names
// the invalidation keys it depends on ("account:<id>", "client:<id>",
// "token:<id>"). One Watcher per process and database feeds every Cache:
//
//	writer (any replica)            database                      every replica's Watcher
//	UPDATE accounts … ─ trigger ─▶  cache_invalidations           poll every Interval:
//	(same transaction)              (seq, key, at)        ◀────── SELECT … WHERE seq > max OR seq IN (gaps)
//	                                                              drop entries depending on each key
//
// The rows are written by database triggers on the tables whose change
// must invalidate (idp migration 0027: accounts, contacts, evidence, staff
// roles, clients, token revocations), so no writer can forget; Append lets
// a writer log a key of its own in its transaction. Invalidate drops keys
// in this process at once (the replica that revoked a token stops
// answering for it before its next poll). No LISTEN/NOTIFY and no advisory
// locks: the same SQL runs on SQLite and PostgreSQL.
//
// # Bounds and the three hard cases
//
//   - Staleness. An entry is served only while the Watcher's last
//     successful poll began less than Bound (default 1 s, --cache-bound)
//     ago. A change committed before a poll began is applied by that poll,
//     so no replica serves a value that another's committed write made
//     wrong for longer than Bound. A Watcher that cannot poll stops serving
//     from memory once Bound has passed (fail closed: callers read the
//     database), and forgets every entry when polling resumes.
//   - Out-of-order commits. PostgreSQL hands out sequence values at
//     insert, not at commit: seq 41 may commit after seq 42 has been read.
//     The Watcher remembers every seq it skipped over (a gap) and asks for
//     those again with each poll, until they appear or Grace (10 s) has
//     passed (a rolled-back writer leaves a gap that never fills). A writer
//     whose transaction commits more than Grace after its trigger fired is
//     missed; the TTL bounds how long its change can go unseen. SQLite
//     commits one writer at a time, so it never leaves gaps.
//   - A fill racing an invalidation. A miss takes a Ticket before it reads
//     the database; Put refuses to store when an invalidation of any of the
//     entry's keys was applied since the Ticket (or everything was
//     forgotten), because the read may predate the write announced.
//     An invalidation that arrives after Put drops the entry as usual.
//
// The Watcher's Run polls and, every Retain/10, deletes rows older than
// Retain (10 min): far longer than any replica trusts its cache without a
// poll. The sequence must be dense (BIGSERIAL, SQLite AUTOINCREMENT): an
// engine whose ids jump (CockroachDB's unique_rowid) needs a SEQUENCE.
package cache
