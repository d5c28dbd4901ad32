// Command gosid is the Gosid identity provider and citizen portal in one
// binary. It only loads configuration and wires the modules together; the
// behaviour lives in idp, verification, portal and keys.
//
// Subcommands:
//
//	gosid serve                  run the IdP and the portal
//	gosid migrate                apply the database schema of every module
//	gosid keys list|rotate|rotate-master|new-master-key
//	gosid accounts create|show|lock|unlock|delete
//	gosid clients create|list|show|update|delete|rotate-secret
//	gosid certs verify           check a detached signature as e-signature sign-in does
//	gosid sign                   sign a file with a software key (for e-signature tests)
//	gosid audit verify|export    the activity log's hash chains; one account's log as CSV
//	gosid version
//
// Every subcommand that touches the database takes --data-dir,
// --database-url and --master-key-file like serve, and may run while serve
// runs on the same database.
package main
