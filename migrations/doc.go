// Package migrations holds Gosid's SQL schema, one folder per dialect
// (postgres/, sqlite/), numbered alike and embedded in the binary, and the
// runner that applies it at `gosid serve` start and by `gosid migrate`.
//
// Files are named NNNN_name.sql. Each is applied in its own transaction
// together with the row that records it in schema_migrations. That row is
// inserted first and doubles as the lock: when several replicas start at
// once, the second inserter of a version waits for the first to commit and
// then meets a unique violation, so it skips the version. This works on
// PostgreSQL, SQLite and PostgreSQL-compatible distributed engines alike,
// without advisory locks (which is why Gosid does not use goose, whose
// concurrency protection relies on them).
//
// Both dialects must have the same versions; a test enforces it. Schema is
// only ever added to: a released migration is never edited.
package migrations
