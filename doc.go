// Package gosid is the repository's root: it holds no code, only the tests
// that keep the map in DESIGN.md true — the import graph (layout_test.go)
// and the route tables of the packages' documentation.
package gosid
