// Package sqldb is the one storage layer every module's store is written
// against: a database/sql handle over PostgreSQL (pgx/v5) or SQLite
// (modernc.org/sqlite), the shared sentinel errors, and the transaction
// helper that retries serialization failures.
//
// Store code is written once. Queries use $1… placeholders (both drivers bind
// them) and portable SQL: INSERT … ON CONFLICT, RETURNING, no FOR UPDATE (use
// compare-and-swap updates instead), no session state, no advisory locks.
// Times are stored as BIGINT Unix microseconds (see Micros and Time) so that
// comparisons and ordering behave identically in both dialects. What still
// differs between the dialects — DDL types — lives in each module's schema
// files, migrations/MODULE/postgres and migrations/MODULE/sqlite.
//
// Errors: a query that finds no row returns ErrNotFound, a unique or foreign
// key violation returns ErrConflict; both are wrapped with the driver's error,
// so errors.Is works and the detail still reaches the log. Stores never return
// (nil, nil) for "missing".
//
// Clock is the database's time, by which every replica judges expiry;
// FaultClock shifts a process's own clock for fault-injection soaks
// (`gosid serve` under GOSID_FAULT_CLOCK_OFFSET and GOSID_FAULT_CLOCK_FILE).
package sqldb
