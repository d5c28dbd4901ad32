// Package audit is the account activity log: every change to an account
// (profile, documents, contacts, security, grants, verification, status),
// who made it (the citizen, a service-centre operator, a bank, an
// administrator at the command line, the system) and when. The account
// centre lists an account's entries and offers them as CSV; `gosid audit
// verify` checks that nobody has changed the log behind the application's
// back.
//
// # Append-only, hash-chained, in several chains
//
// Entries live in audit_log, in Chains (16) independent chains. An
// account's entries all go to chain ChainOf(account id) = FNV-1a(id) mod
// 16; entries of no account go to chain 0. Within its chain an entry is
// numbered by seq 1, 2, 3… with no gaps and carries the previous entry's
// hash (prev_hash; the chain's start for entry 1) and its own hash, a
// keyed MAC over prev_hash and its own fields. The start is 32 zero bytes
// for chain 0 and MAC("audit.chain", decimal chain number) for the
// others, so a chain renumbered by hand does not verify. audit_head holds
// each chain's last seq and hash, chain c in row c + 1.
//
// Why chains: the head is locked until the appending transaction ends, so
// with one chain every audited write in the system waited for the one
// before it to commit. Now only writes of accounts in the same chain
// wait for each other. The number of chains may change in a later release
// without touching stored entries: Verify checks whatever chains it finds.
//
// Releases before chains kept one chain with its head in row 1; migration
// 0017 made it chain 0 unchanged (the rows got chain 0, seq and hashes as
// they were), and chain 0's head is still row 1, so that replicas of that
// release, which lock row 1 and insert rows without a chain, extend chain
// 0 correctly during a rolling upgrade. (Their `gosid audit verify` does
// not understand chains: verify with this release's.) An account's
// entries from before the upgrade stay in chain 0; List orders an
// account's entries by time, not by seq.
//
// Append runs inside the caller's transaction (sqldb.Runner.InTx), so the
// change and its entry commit or roll back together. On PostgreSQL:
//
//	INSERT INTO audit_head … ON CONFLICT (id) DO NOTHING   -- only when the row is missing
//	SELECT seq, hash FROM audit_head WHERE id = c + 1       -- as committed, no lock
//	seq, prev_hash := head.seq + 1, head.hash; hash := MAC(…)
//	WITH moved AS (UPDATE audit_head SET seq = …, hash = …
//	               WHERE id = c + 1 AND seq = head.seq AND hash = head.hash RETURNING id)
//	INSERT INTO audit_log (chain, seq, …, prev_hash, hash) SELECT … FROM moved
//
// a compare-and-swap: the UPDATE takes the head's row lock, and when
// another appender got there first it waits for that one's commit, then
// matches no row and inserts nothing, and Append reads the head again and
// retries in the same transaction. The SELECT is skipped when this Log
// moved the chain's head last: it tries the head it remembers, which the
// swap checks like any other. The lock is held from that statement
// until the caller's transaction ends, one round trip and the commit: the
// time a chain's appenders wait for each other, and across replicas too.
// On SQLite, whose write transactions are exclusive from their start
// (every transaction begins IMMEDIATE), the head is read, the entry
// inserted and the head moved by three plain statements. Callers append
// last, after their own writes, and keep the transaction short.
//
// A transaction that writes entries of several accounts (a verification
// that drops other accounts' claims of a SNILS) writes them with one
// AppendAll, which takes their chains in ascending order, so that two such
// transactions cannot deadlock on each other's heads.
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
// an edited row no longer matches its hash, and a removed, reordered or
// moved row breaks the seq numbering or the prev_hash link of its
// successor. A chain's head catches its removed tail. What the database
// alone cannot reveal is a tail removed together with a consistent
// rewrite of its head (the head is a copy of the last hash), or a whole
// chain removed with its head; operators who need that can record the
// per-chain entry counts printed by `gosid audit verify` outside the
// database. The chain number itself is not hashed (so that chain 0 kept
// its hashes); a row moved to another chain still breaks both chains'
// links.
//
// # Verify
//
// Verify checks each chain that has a head or entries (a row inserted into
// a chain without a head is found too), chain by chain: it reads the
// chain in seq order, a page at a time, and checks that seq runs 1, 2,
// 3…, that each prev_hash is the previous entry's hash (the chain's start
// for entry 1), that each hash matches the entry's content, and finally
// that the head names the last entry and its hash. It reports every
// chain, and each broken chain's first broken entry with a reason in
// plain English. It needs no lock: entries appended while it runs are
// checked too (a head and its entry commit together, so a head ahead of
// the entries read is followed up until they catch up or the chain is
// found to end short of it).
//
// # Details hold no secrets
//
// Detail is a small map stored as JSON with sorted keys. Callers put field
// names and masked values there ("field": "phone", "to": "+7 912 ***-**-89"),
// never passwords, codes, tokens, full document numbers or contacts in
// clear: the log is kept after the account is erased (account_id is a
// random identifier without a foreign key) and is exported as CSV.
package audit
