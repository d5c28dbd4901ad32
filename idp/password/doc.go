// Package password hashes, verifies and vets citizens' passwords.
//
// # Hashing
//
// Passwords are stored as argon2id PHC strings (RFC 9106),
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with the OWASP parameters by default (DefaultParams). A Hasher bounds how
// many hashes run at once, so that a burst of sign-ins cannot allocate
// unbounded argon2 memory; waiting for a slot honours the request's context.
// A login runs as follows:
//
//	account found:     ok, rehash, err := h.Verify(ctx, stored, pw)
//	                   if ok && rehash { store h.Hash(ctx, pw) }
//	account not found: h.VerifyDummy(ctx, pw) // same cost, same answer
//
// Keys are compared in constant time. Stored strings are parsed strictly
// (ParsePHC) and bounded (memory, passes, threads, salt and key sizes), so a
// corrupt row yields ErrMalformedHash, never a panic or a huge allocation.
//
// # Policy
//
// Policy.Check lists every rule a new password breaks, each as a Violation
// with a stable Code and messages in Russian and English that name the field
// ("Пароль: не менее 8 символов"). Policy.Rules gives the same rules, by the
// same codes, for the list shown beside the field, so a page's script can
// tick them off as the person types; the server check is authoritative.
//
// DefaultPolicy follows the product's instructions: 8–64 characters (the
// product pages variously say "от 8 до 20" and recommend 12; the design sets
// 64 as the upper bound), at least one upper-case and one lower-case Latin
// letter, a digit and a special character such as ! @ # $ % ^ & * ( ), no
// more than two identical characters in a row, not the login (phone, e-mail,
// SNILS) and not the name, and not a known-breached password. Cyrillic
// letters are refused with a hint to switch the keyboard layout.
//
// # Breached passwords
//
// The embedded list (breached.txt.gz, see NOTICE) is the 30,000 most common
// passwords of zxcvbn. It is decompressed into a map on first use. List.Match
// documents the matching rule: case-insensitive, also after removing a
// trailing run of digits and special characters, and after undoing common
// substitutions such as @→a and 0→o; candidates shorter than four
// characters never match.
package password
