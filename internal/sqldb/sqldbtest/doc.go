// Package sqldbtest hands tests fresh, migrated databases of both dialects,
// so that every store's conformance suite runs on SQLite and on a real
// PostgreSQL. Migrated means what `gosid migrate` does: every module's
// schema and the job queue's tables (internal/jobs).
//
// SQLite databases are files in the test's temp dir. PostgreSQL comes from
// GOSID_TEST_DATABASE_URL (a server the tests may create databases on) or,
// when that is unset, from a private throwaway cluster that the package's
// test binary starts from the local PostgreSQL server binaries (initdb and
// postgres, run as the postgres user when the tests run as root) and stops
// when the tests end. Each package migrates one template database once; each
// test gets its own copy (CREATE DATABASE … TEMPLATE), dropped afterwards.
//
// Where no PostgreSQL can be had, the PostgreSQL half skips with one line
// naming the reason; with GOSID_TEST_REQUIRE_POSTGRES=1 (as in CI) it fails.
//
// A package using it must route its TestMain through Main:
//
//	func TestMain(m *testing.M) { sqldbtest.Main(m) }
package sqldbtest
