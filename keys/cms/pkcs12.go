package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/gost"
)

var (
	oidEncryptedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Certificate    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidPBES2              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBEWithSHA3DES     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidSHA1               = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidAES128CBC          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC         = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidHMACWithSHA1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA224     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidHMACStreebog256    = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 4, 1}
	oidHMACStreebog512    = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 4, 2}
	maxIterations         = 1 << 24
	errUnsupportedPKCS12  = fmt.Errorf("%w: PKCS #12 or PKCS #8 encryption (GOST ciphers and MACs are not supported; re-export with OpenSSL's defaults)", cert.ErrUnsupportedAlgorithm)
	errMalformedContainer = fmt.Errorf("%w: PKCS #12 or encrypted PKCS #8", cert.ErrMalformed)
)

// isPFX reports whether der looks like a PKCS #12 PFX: SEQUENCE { INTEGER 3, …
func isPFX(der []byte) bool {
	in := cryptobyte.String(der)
	var pfx cryptobyte.String
	var version int
	return in.ReadASN1(&pfx, cbasn1.SEQUENCE) && pfx.ReadASN1Integer(&version) && version == 3
}

func parsePKCS12(der []byte, password string) (any, []*x509.Certificate, error) {
	in := cryptobyte.String(der)
	var pfx, authSafe, explicit, data cryptobyte.String
	var version int
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&pfx, cbasn1.SEQUENCE) || !in.Empty() || !pfx.ReadASN1Integer(&version) ||
		!pfx.ReadASN1(&authSafe, cbasn1.SEQUENCE) || !authSafe.ReadASN1ObjectIdentifier(&ctype) {
		return nil, nil, errMalformedContainer
	}
	if !ctype.Equal(oidData) {
		return nil, nil, fmt.Errorf("%w: PKCS #12 in public-key integrity mode", cert.ErrUnsupportedAlgorithm)
	}
	if !authSafe.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1(&data, cbasn1.OCTET_STRING) {
		return nil, nil, errMalformedContainer
	}
	if !pfx.Empty() {
		var macData cryptobyte.String
		if !pfx.ReadASN1(&macData, cbasn1.SEQUENCE) || !pfx.Empty() {
			return nil, nil, errMalformedContainer
		}
		if err := checkMAC(macData, data, password); err != nil {
			return nil, nil, err
		}
	}
	var safes cryptobyte.String
	d := cryptobyte.String(data)
	if !d.ReadASN1(&safes, cbasn1.SEQUENCE) || !d.Empty() {
		return nil, nil, errMalformedContainer
	}
	var signer any
	var certs []*x509.Certificate
	for !safes.Empty() {
		var ci, body cryptobyte.String
		var t asn1.ObjectIdentifier
		if !safes.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&t) ||
			!ci.ReadASN1(&body, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, nil, errMalformedContainer
		}
		var contents []byte
		switch {
		case t.Equal(oidData):
			var oct cryptobyte.String
			if !body.ReadASN1(&oct, cbasn1.OCTET_STRING) {
				return nil, nil, errMalformedContainer
			}
			contents = oct
		case t.Equal(oidEncryptedData):
			var ed, eci cryptobyte.String
			var v int
			var innerType asn1.ObjectIdentifier
			var algDER, enc cryptobyte.String
			if !body.ReadASN1(&ed, cbasn1.SEQUENCE) || !ed.ReadASN1Integer(&v) || !ed.ReadASN1(&eci, cbasn1.SEQUENCE) ||
				!eci.ReadASN1ObjectIdentifier(&innerType) || !eci.ReadASN1Element(&algDER, cbasn1.SEQUENCE) ||
				!eci.ReadASN1(&enc, cbasn1.Tag(0).ContextSpecific()) {
				return nil, nil, errMalformedContainer
			}
			var err error
			if contents, err = decrypt(algDER, enc, password); err != nil {
				return nil, nil, err
			}
		default:
			continue
		}
		k, cs, err := parseSafeContents(contents, password)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, cs...)
		if k != nil {
			if signer != nil {
				return nil, nil, fmt.Errorf("%w: more than one private key in PKCS #12", cert.ErrMalformed)
			}
			signer = k
		}
	}
	return signer, certs, nil
}

func parseSafeContents(der []byte, password string) (any, []*x509.Certificate, error) {
	in := cryptobyte.String(der)
	var bags cryptobyte.String
	if !in.ReadASN1(&bags, cbasn1.SEQUENCE) {
		return nil, nil, errMalformedContainer
	}
	var signer any
	var certs []*x509.Certificate
	for !bags.Empty() {
		var bag, value cryptobyte.String
		var id asn1.ObjectIdentifier
		if !bags.ReadASN1(&bag, cbasn1.SEQUENCE) || !bag.ReadASN1ObjectIdentifier(&id) ||
			!bag.ReadASN1(&value, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, nil, errMalformedContainer
		}
		var key any
		var err error
		switch {
		case id.Equal(oidKeyBag):
			key, err = parsePKCS8(value)
		case id.Equal(oidShroudedKeyBag):
			key, err = parseEncryptedPKCS8(value, password)
		case id.Equal(oidCertBag):
			var cb, explicit, certDER cryptobyte.String
			var certType asn1.ObjectIdentifier
			if !value.ReadASN1(&cb, cbasn1.SEQUENCE) || !cb.ReadASN1ObjectIdentifier(&certType) ||
				!cb.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
				!explicit.ReadASN1(&certDER, cbasn1.OCTET_STRING) {
				return nil, nil, errMalformedContainer
			}
			if !certType.Equal(oidX509Certificate) {
				continue
			}
			c, err := x509.ParseCertificate(certDER)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %w", cert.ErrMalformed, err)
			}
			certs = append(certs, c)
			continue
		default:
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if signer != nil {
			return nil, nil, fmt.Errorf("%w: more than one private key in PKCS #12", cert.ErrMalformed)
		}
		signer = key
	}
	return signer, certs, nil
}

// checkMAC checks the PKCS #12 MacData over the authenticated safe.
func checkMAC(macData cryptobyte.String, data []byte, password string) error {
	var digestInfo, algDER, mac, salt cryptobyte.String
	iter := 1
	if !macData.ReadASN1(&digestInfo, cbasn1.SEQUENCE) || !digestInfo.ReadASN1Element(&algDER, cbasn1.SEQUENCE) ||
		!digestInfo.ReadASN1(&mac, cbasn1.OCTET_STRING) || !macData.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return errMalformedContainer
	}
	if !macData.Empty() && (!macData.ReadASN1Integer(&iter) || !macData.Empty()) {
		return errMalformedContainer
	}
	if iter < 1 || iter > maxIterations {
		return errMalformedContainer
	}
	var alg pkix.AlgorithmIdentifier
	if _, err := asn1.Unmarshal(algDER, &alg); err != nil {
		return errMalformedContainer
	}
	var h func() hash.Hash
	switch {
	case alg.Algorithm.Equal(oidSHA1):
		h = sha1.New
	case alg.Algorithm.Equal(cert.OIDSHA256):
		h = sha256.New
	case alg.Algorithm.Equal(cert.OIDSHA384):
		h = sha512.New384
	case alg.Algorithm.Equal(cert.OIDSHA512):
		h = sha512.New
	default:
		return errUnsupportedPKCS12
	}
	passwords := [][]byte{bmpPassword(password)}
	if password == "" {
		passwords = append(passwords, nil) // OpenSSL also tries an absent password
	}
	for _, pw := range passwords {
		key := pkcs12KDF(h, pw, salt, 3, iter, h().Size())
		m := hmac.New(h, key)
		m.Write(data)
		if subtle.ConstantTimeCompare(m.Sum(nil), mac) == 1 {
			return nil
		}
	}
	return ErrPassword
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo.
func decryptPKCS8(der []byte, password string) ([]byte, error) {
	in := cryptobyte.String(der)
	var epki, algDER, enc cryptobyte.String
	if !in.ReadASN1(&epki, cbasn1.SEQUENCE) || !in.Empty() || !epki.ReadASN1Element(&algDER, cbasn1.SEQUENCE) ||
		!epki.ReadASN1(&enc, cbasn1.OCTET_STRING) || !epki.Empty() {
		return nil, errMalformedContainer
	}
	return decrypt(algDER, enc, password)
}

// decrypt decrypts ciphertext under a password-based encryption scheme.
func decrypt(algDER, ciphertext []byte, password string) ([]byte, error) {
	in := cryptobyte.String(algDER)
	var alg, params cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
		!alg.ReadASN1(&params, cbasn1.SEQUENCE) {
		return nil, errMalformedContainer
	}
	switch {
	case oid.Equal(oidPBEWithSHA3DES):
		var salt cryptobyte.String
		var iter int
		if !params.ReadASN1(&salt, cbasn1.OCTET_STRING) || !params.ReadASN1Integer(&iter) || iter < 1 || iter > maxIterations {
			return nil, errMalformedContainer
		}
		pw := bmpPassword(password)
		key := pkcs12KDF(sha1.New, pw, salt, 1, iter, 24)
		iv := pkcs12KDF(sha1.New, pw, salt, 2, iter, 8)
		block, err := des.NewTripleDESCipher(key)
		if err != nil {
			return nil, err
		}
		return cbcDecrypt(block, iv, ciphertext)
	case oid.Equal(oidPBES2):
		return decryptPBES2(params, ciphertext, password)
	}
	return nil, errUnsupportedPKCS12
}

func decryptPBES2(params cryptobyte.String, ciphertext []byte, password string) ([]byte, error) {
	var kdf, kdfParams, scheme, salt cryptobyte.String
	var kdfOID, schemeOID asn1.ObjectIdentifier
	var iter int
	if !params.ReadASN1(&kdf, cbasn1.SEQUENCE) || !kdf.ReadASN1ObjectIdentifier(&kdfOID) ||
		!params.ReadASN1(&scheme, cbasn1.SEQUENCE) || !scheme.ReadASN1ObjectIdentifier(&schemeOID) {
		return nil, errMalformedContainer
	}
	if !kdfOID.Equal(oidPBKDF2) {
		return nil, errUnsupportedPKCS12
	}
	if !kdf.ReadASN1(&kdfParams, cbasn1.SEQUENCE) || !kdfParams.ReadASN1(&salt, cbasn1.OCTET_STRING) ||
		!kdfParams.ReadASN1Integer(&iter) || iter < 1 || iter > maxIterations {
		return nil, errMalformedContainer
	}
	keyLen := 0
	if kdfParams.PeekASN1Tag(cbasn1.INTEGER) && !kdfParams.ReadASN1Integer(&keyLen) {
		return nil, errMalformedContainer
	}
	prf := sha1.New
	if !kdfParams.Empty() {
		var prfAlg cryptobyte.String
		var prfOID asn1.ObjectIdentifier
		if !kdfParams.ReadASN1(&prfAlg, cbasn1.SEQUENCE) || !prfAlg.ReadASN1ObjectIdentifier(&prfOID) {
			return nil, errMalformedContainer
		}
		switch {
		case prfOID.Equal(oidHMACWithSHA1):
		case prfOID.Equal(oidHMACWithSHA224):
			prf = sha256.New224
		case prfOID.Equal(oidHMACWithSHA256):
			prf = sha256.New
		case prfOID.Equal(oidHMACWithSHA384):
			prf = sha512.New384
		case prfOID.Equal(oidHMACWithSHA512):
			prf = sha512.New
		case prfOID.Equal(oidHMACStreebog256):
			prf = gost.New256
		case prfOID.Equal(oidHMACStreebog512):
			prf = gost.New512
		default:
			return nil, errUnsupportedPKCS12
		}
	}
	var iv cryptobyte.String
	if !scheme.ReadASN1(&iv, cbasn1.OCTET_STRING) {
		return nil, errUnsupportedPKCS12
	}
	var need int
	var newCipher func([]byte) (cipher.Block, error)
	switch {
	case schemeOID.Equal(oidAES128CBC):
		need, newCipher = 16, aes.NewCipher
	case schemeOID.Equal(oidAES192CBC):
		need, newCipher = 24, aes.NewCipher
	case schemeOID.Equal(oidAES256CBC):
		need, newCipher = 32, aes.NewCipher
	case schemeOID.Equal(oidDESEDE3CBC):
		need, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, errUnsupportedPKCS12
	}
	if keyLen != 0 && keyLen != need {
		return nil, errMalformedContainer
	}
	key, err := pbkdf2.Key(prf, password, salt, iter, need)
	if err != nil {
		return nil, fmt.Errorf("cms: PBKDF2: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	return cbcDecrypt(block, iv, ciphertext)
}

func cbcDecrypt(block cipher.Block, iv, ciphertext []byte) ([]byte, error) {
	bs := block.BlockSize()
	if len(iv) != bs || len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, errMalformedContainer
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ciphertext)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrPassword
	}
	return out[:len(out)-pad], nil
}

// bmpPassword encodes a password as PKCS #12 wants it: UTF-16 big-endian
// with a terminating zero.
func bmpPassword(password string) []byte {
	u := utf16.Encode([]rune(password))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0)
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2.
func pkcs12KDF(h func() hash.Hash, password, salt []byte, id byte, iter, n int) []byte {
	hh := h()
	u, v := hh.Size(), hh.BlockSize()
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	d := bytes.Repeat([]byte{id}, v)
	i := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < n {
		hh.Reset()
		hh.Write(d)
		hh.Write(i)
		a := hh.Sum(nil)
		for range iter - 1 {
			hh.Reset()
			hh.Write(a)
			a = hh.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= n {
			break
		}
		// I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I.
		b := make([]byte, v)
		for k := range b {
			b[k] = a[k%u]
		}
		for j := 0; j < len(i); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(i[j+k]) + int(b[k]) + carry
				i[j+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:n]
}
