package cms

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// duplicateSigner re-encodes a ContentInfo with its signer info twice.
func duplicateSigner(t *testing.T, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var ci, explicit, sd cryptobyte.String
	var oid cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		t.Fatal("bad fixture")
	}
	var parts [][]byte
	for !sd.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !sd.ReadAnyASN1Element(&el, &tag) {
			t.Fatal("bad fixture")
		}
		parts = append(parts, el)
	}
	last := cryptobyte.String(parts[len(parts)-1])
	var infos, one cryptobyte.String
	if !last.ReadASN1(&infos, cbasn1.SET) || !infos.ReadASN1Element(&one, cbasn1.SEQUENCE) {
		t.Fatal("bad fixture")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(oid)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, p := range parts[:len(parts)-1] {
					b.AddBytes(p)
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddBytes(one)
					b.AddBytes(one)
				})
			})
		})
	})
	return b.BytesOrPanic()
}
