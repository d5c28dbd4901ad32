// Package audit is the account activity log: every change to an account
// (profile, documents, contacts, security, grants, verification, status),
// who made it (the citizen, a service-centre operator, a bank, an
// administrator at the command line, the system) and when. The account
// centre lists an account's entries and offers them as CSV; `gosid audit
// verify` checks that nobody has changed the log behind the application's
// back.
//
// # Append-only, hash-chained
//
// Entries live in audit_log, numbered by seq 1, 2, 3… with no gaps. Each
// carries the previous entry's hash (prev_hash; 32 zero bytes for entry 1)
// and its own hash, a keyed MAC over prev_hash and its own fields. The
// one-row table audit_head holds the last entry's seq and hash.
//
// Append runs inside the caller's transaction (sqldb.Runner.InTx), so the
// change and its entry commit or roll back together:
//
//	INSERT INTO audit_head … ON CONFLICT (id) DO NOTHING   -- only when the row is missing
//	SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE  -- plain SELECT on SQLite
//	seq, prev_hash := head.seq + 1, head.hash
//	INSERT INTO audit_log (seq, …, prev_hash, hash)
//	UPDATE audit_head SET seq = …, hash = … WHERE id = 1
//
// The head row lock serialises appenders on PostgreSQL, across replicas;
// SQLite write transactions are exclusive already (every transaction
// begins IMMEDIATE). The lock is held until the caller's transaction ends,
// and every append in the system waits for it: callers append last, after
// their own writes, and keep the transaction short.
//
// # The hash
//
//	hash = MAC.BlindIndex("audit", m)
//	m    = 0x01                                   encoding version
//	       || f(prev_hash)
//	       || f(be64(seq)) || f(be64(at))         at: Unix microseconds, as stored
//	       || f(account_id) || f(actor_kind) || f(actor_id)
//	       || f(action) || f(detail) || f(ip)
//	f(x) = be32(len(x)) || x                      every field length-prefixed
//
// where be32/be64 are big-endian unsigned 32/64-bit integers and the text
// fields are the exact bytes stored in the columns (detail is the stored
// JSON text, not a re-encoding of it). The length prefixes make the
// encoding unambiguous: no two different entries give the same m.
//
// The MAC is keyed (keys.Manager: HMAC-SHA256 under a key derived from the
// first data key, stable across restarts and master-key rotation), so
// someone with write access to the database alone cannot recompute hashes:
// an edited row no longer matches its hash, and a removed or reordered row
// breaks the seq numbering or the prev_hash link of its successor. The
// head catches a removed tail. What the database alone cannot reveal is a
// tail removed together with a consistent rewrite of the head (the head is
// a copy of the last hash); operators who need that can record the
// entry count printed by `gosid audit verify` outside the database.
//
// # Verify
//
// Verify reads the whole log in seq order, a page at a time, and checks
// that seq runs 1, 2, 3…, that each prev_hash is the previous entry's hash,
// that each hash matches the entry's content, and finally that the head
// names the last entry and its hash. It reports the first broken entry
// with a reason in plain English. It needs no lock: entries appended while
// it runs are checked too (the head and its entry commit together, so a
// head ahead of the entries read is followed up until they catch up or
// the log is found to end short of it).
//
// # Details hold no secrets
//
// Detail is a small map stored as JSON with sorted keys. Callers put field
// names and masked values there ("field": "phone", "to": "+7 912 ***-**-89"),
// never passwords, codes, tokens, full document numbers or contacts in
// clear: the log is kept after the account is erased (account_id is a
// random identifier without a foreign key) and is exported as CSV.
package audit
