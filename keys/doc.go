// Package keys holds Gosid's own key material: the token-signing keys
// published at /keys (JWKS), their rotation, and their encryption at rest.
//
// # Encryption layering
//
//	master key   32 random bytes in a file (or the environment), never in
//	             the database; its fingerprint ID() is stored beside what it
//	             wraps, so a wrong key is recognised before anything is
//	             written (ErrWrongMasterKey).
//	  └ data key  32 random bytes, stored in data_keys wrapped by the master
//	             key with AES-256-GCM, the data key's id as associated data.
//	      └ signing key  the PKCS#8 DER private key, stored in
//	             signing_keys.private_enc sealed by a data key with
//	             AES-256-GCM, the kid as associated data, so that a
//	             ciphertext moved to another row fails to open (ErrCorrupt).
//
// Every sealed blob is 0x01 || 12-byte random nonce || ciphertext and tag.
// The kid is the RFC 7638 SHA-256 thumbprint of the public key, so a row's
// public key is checked against its kid, and the decrypted private key
// against its public key. RotateMaster re-wraps the data keys only; the
// signing keys need not be touched.
//
// The same data keys seal other modules' secrets at rest (Seal, Open) and
// key their blind indexes (BlindIndex); see fields.go.
//
// # Signing-key lifecycle
//
// Each algorithm (ES256 on P-256, RS256 with 2048 bits) has a chain of keys
// numbered seq. Every state follows from the rows and the clock alone, so
// replicas agree without talking to each other: the key that signs for an
// algorithm at time t is the one with the highest seq, not withdrawn, whose
// signs_from <= t. With L = Options.MaxTokenLifetime:
//
//	             Rotate / scheduled            signs_from passes
//	(none) ─────────────────────────▶ published ─────────────────▶ active
//	                                  (in JWKS,                   (in JWKS,
//	                                   not signing)                signing)
//	                                                                  │ successor's
//	                                                                  ▼ signs_from passes
//	           retired ◀──────────────────────────────────────── retiring
//	 (out of JWKS, private part          successor's signs_from + L  (in JWKS,
//	  erased)                            passes                     not signing)
//
//	any state ── Rotate(Emergency) ──▶ withdrawn (out of JWKS at once,
//	                                    private part erased)
//
// A rotation adds seq N+1 with signs_from = now + L: it is published one
// maximum token lifetime before it signs, and its predecessor stays
// published one maximum token lifetime after it stops signing, until
// everything it signed has expired. The first key of an algorithm signs at
// once. An emergency rotation adds a key that signs at once and withdraws
// all earlier keys of the algorithm in the same transaction. The scheduled
// rotation adds a successor when the newest key is older than
// Options.RotationPeriod.
//
// # Replicas
//
// Key additions are compare-and-swap: the new key is generated outside the
// transaction and inserted as seq N+1, and UNIQUE (alg, seq) lets one of
// several racing replicas win; the others treat the conflict as "someone
// else rotated" and reload. The first data key is created the same way
// (UNIQUE seq). Manager.Run reloads the rows every RefreshInterval,
// decrypting only keys it has not seen, so a key added elsewhere is
// published here within that interval; the publish lead L must exceed it.
// Signer, PublicKeys and JSON read an immutable snapshot through an atomic
// pointer and touch neither the database nor a lock, except to rebuild the
// snapshot in memory when the clock crosses a state change.
//
// # Commands
//
// The subcommands of `gosid keys` (list, rotate, rotate-master,
// new-master-key) are Commands, in command.go; cmd/gosid opens the
// database and the keys and runs them.
package keys
