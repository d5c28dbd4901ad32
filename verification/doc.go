// Package verification is identity proofing: it raises an account's
// assurance level from simplified to standard (SNILS and passport confirmed
// by the state registries) and to confirmed (identity confirmed by a bank, in
// person at a service centre, by qualified e-signature, or by a code sent by
// registered letter), and keeps the evidence of who confirmed what, when and
// how. It builds on idp and keys and is wired by cmd/gosid.
//
// Sub-packages, by capability, arrive with their issues: registry checks
// behind one interface with a deterministic simulator, the generic bank OIDC
// connector (Sber ID, T-ID, VTB ID), and the operators' in-person desk.
package verification
