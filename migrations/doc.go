// Package migrations holds Gosid's SQL schema and the runner that applies it
// at `gosid serve` start and by `gosid migrate`.
//
// Each module owns its schema: migrations/MODULE/DIALECT/NNNN_name.sql, for
// the modules idp, verification and portal and the dialects postgres and
// sqlite, embedded in the binary. Versions are per module: each module's
// run 1, 2, 3… without gaps (Load refuses a gap, naming the module), and
// both dialects of a module have the same numbers and names (a test
// enforces it). SQL is hand-written per dialect, never translated. A
// module without migrations has no folder at all, not placeholder files.
// Schema is only ever added to: a released migration is never edited.
//
// Up migrates the modules in that fixed order, each module's migrations in
// version order, and records each in schema_migrations(module, version,
// name, applied_at). Each migration is applied in its own transaction
// together with its row. That row is inserted first and doubles as the
// lock: when several replicas start at once, the second inserter of a
// (module, version) waits for the first to commit and then meets a unique
// violation, so it skips the migration. This works on PostgreSQL, SQLite and
// PostgreSQL-compatible distributed engines alike, without advisory locks
// (which is why Gosid does not use goose, whose concurrency protection
// relies on them). A failed migration rolls back with its row, and Up stops
// there: later migrations and modules wait for the fix.
//
// Status reports each module's recorded versions against this binary's
// (every module at its head is what /readyz asks). Versions beyond this
// binary's, of a known module or of one it does not know, do not make it
// behind: rolling upgrades run old and new replicas side by side.
//
// Databases created before schemas were per module kept one sequence, all
// of it today's idp migrations (same numbers, same files), in
// schema_migrations(version, name, applied_at). Up converts that table in
// place before anything else, in one transaction: every row becomes idp's,
// with its name and time kept, and nothing is applied again. The table
// keeps its name, so replicas of the older release, which read only its
// version column, stay ready during a rolling upgrade. Racing runners
// convert it once: SQLite's transaction holds the write lock from its
// start and checks the shape inside it; on PostgreSQL the loser's ALTER
// waits for the winner and fails on the added column, and a check after the
// failure tells that from a real error.
//
// A released migration is never edited (TestReleasedMigrationsUnchanged
// holds each to the SHA-256 in testdata/released.sha256): a database that
// applied it would never see the edit.
//
// Backups (backup.go, for gosid backup and restore): BackupSQLite copies
// the embedded database online with VACUUM INTO and checks the copy;
// PGDump and PGRestore run pg_dump and pg_restore with the password in the
// environment; RestoreSQLite and WriteAtomic leave nothing half-written.
package migrations
