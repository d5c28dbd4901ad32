// Package ec is the fixed-size arithmetic behind keys/gost: prime fields on
// 4 or 8 64-bit limbs and short Weierstrass curves y² = x³ + ax + b over
// them, for the 256-bit and 512-bit GOST R 34.10-2012 parameter sets.
//
// Field elements are in Montgomery form, or plain and reduced by folding for
// a pseudo-Mersenne modulus R - c. Multiplication and squaring compute the
// full product and then reduce; every field operation is straight-line code
// with its final subtraction done by masking (fe4.go, fe8.go, written by
// gen.go).
//
// Public data (Verify, key parsing, tables of multiples of G) goes through
// Jacobian coordinates with the cheapest formulas for a = -3 or any a, and
// branches for infinity and doubling. Secret scalars go through homogeneous
// projective coordinates with the complete mixed addition of Renes, Costello
// and Batina and fixed signed windows read by masking, with no branch or
// memory access that depends on the scalar.
//
// ec4.go is written by hand for 4 limbs; gen.go derives ec8.go from it by
// renaming, and a test checks that the two agree.
//
//go:generate go run gen.go
package ec
