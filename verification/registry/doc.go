// Package registry asks the state registries about a citizen's documents:
// the pension fund (СФР) about a SNILS, the interior ministry (МВД) about a
// passport, the tax service (ФНС) about an INN. One small interface
// (Registry) with two implementations:
//
//   - Simulator, deterministic: the embedded default and the tests'
//     registry. Its named test identities (Identities) pass, mismatch on a
//     named field, are not found, are invalid, hang, fail twice before
//     answering, or become invalid after their first check; a generated
//     family (GeneratedIdentity) gives any number of passing people. They
//     are documented in docs/verification.md.
//   - Gateway, an HTTP adapter for a real registry gateway (the SMEV-like
//     integration point): JSON over HTTPS with a client certificate,
//     per-call timeout, retries with jittered backoff, a circuit breaker
//     per registry, an idempotency key per request, metrics per outcome.
//     Its wire protocol is in its doc comment and in docs/verification.md.
//
// Both refuse a request that lacks what its registry needs
// (Request.Validate, ErrBadRequest) and report every failure to get a
// verdict as ErrUnavailable, never as a verdict on the citizen's data.
package registry
