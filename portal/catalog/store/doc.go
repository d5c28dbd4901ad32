// Package store keeps the portal's catalogue of services (portal/catalog)
// in its database, both dialects.
//
// Definitions are stored as JSON in portal_services; portal_catalog_version
// holds one row, the catalogue version, bumped in the transaction of every
// import, so that each replica's search index (catalog/search) notices a
// change by reading that row. Import writes all the services given in one
// transaction or none; Export writes ID.yaml files that Import reads back
// into the same definitions, byte for byte on the next export.
// SeedDefaults imports the embedded defaults into an empty catalogue; the
// portal calls it at start.
//
// Commands are `gosid portal services import FILE…|export DIR|list`,
// written on internal/cmdline for cmd/gosid to wire: import reads and checks
// every file before the database is opened, so a broken file is refused
// (exit 2, every problem named) with nothing written.
package store
