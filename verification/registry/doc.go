// Package registry asks the state registries about a citizen's documents:
// the pension fund (СФР) about a SNILS, the interior ministry (МВД) about a
// passport, the tax service (ФНС) about an INN. One small interface
// (Registry) with two implementations: a deterministic simulator (the
// embedded default and the tests' registry; its test identities are in
// docs/verification.md) and an HTTP adapter for a real registry gateway
// (the SMEV-like integration point).
package registry
