// Package backupcode holds recovery codes: ten single-use codes shown once
// when a second factor is enrolled, for signing in when the phone with the
// authenticator app is lost.
//
// A code is ten characters drawn uniformly from the 32-symbol alphabet
// "0123456789abcdefghjkmnpqrstvwxyz" (Crockford's base32: no i, l, o or u),
// 50 bits, shown as "xxxxx-xxxxx". Input is normalised before use: case is
// ignored, hyphens, dashes and spaces are dropped, and the letters people
// confuse with digits are read as them (o as 0, i and l as 1).
//
// Storage: Generate replaces all of an account's codes and Remaining counts
// those unused. Only HMAC-SHA256(pepper, account id || 0 || code) is kept,
// never the code. A plain SHA-256 would not do: 50 bits is far fewer than a
// bearer token's 256, and without a salt one guess tests every account's
// codes at once, so a stolen table could be searched offline on GPUs in
// days. The pepper is a secret outside the database (the caller derives it
// from the key material, e.g. keys.Manager.BlindIndex("backupcode",
// "pepper")), so the table alone is useless, and binding the account id means a
// hash copied to another account matches nothing there. A slow hash is not
// needed with the pepper secret, and it would make every sign-in attempt
// expensive.
//
// Use spends a code with one statement,
//
//	UPDATE backup_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL
//
// so of two concurrent uses of one code, on any replicas, exactly one
// succeeds. The look-up is by hash through the primary key and reveals
// nothing about the code. Wrong codes are the caller's to count toward the
// sign-in lock-out; this package only reports ErrInvalid.
package backupcode
