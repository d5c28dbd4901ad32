package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// softAuthenticator is a software WebAuthn authenticator: an ES256 key and
// hand-built authenticatorData, clientDataJSON, attestation object and
// signatures. Its fields are the knobs tests turn to make a response wrong
// in one particular way.
type softAuthenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	aaguid     [16]byte
	userHandle []byte // set by create from the options

	rpID       string // hashed into authenticatorData
	origin     string // written into clientDataJSON
	attachment string // "platform", "cross-platform" or ""
	transports []string

	counter uint32 // the next response carries counter+1 (0 stays 0 when noCounter)
	// noCounter: always report 0, as synced passkeys do.
	noCounter bool
	uv        bool // the UV flag
	be, bs    bool // backup eligible, backup state

	// challenge, when set, replaces the options' challenge.
	challenge string
	// ceremonyType, when set, replaces "webauthn.create"/"webauthn.get".
	ceremonyType string
	// coseKey, when set, replaces the credential public key at registration.
	coseKey []byte
}

func newSoftAuthenticator(t testing.TB, rpID, origin string) *softAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	a := &softAuthenticator{key: key, credID: id, rpID: rpID, origin: origin, attachment: "platform",
		transports: []string{"internal", "hybrid"}, uv: true}
	copy(a.aaguid[:], "gosid-test-auth!")
	return a
}

var b64 = base64.RawURLEncoding

// options is what begin returns, as far as an authenticator cares.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
		UserVerification       string `json:"userVerification"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	} `json:"publicKey"`
}

func parseOptions(t testing.TB, raw []byte) options {
	t.Helper()
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options: %v\n%s", err, raw)
	}
	if o.PublicKey.Challenge == "" {
		t.Fatalf("options without a challenge: %s", raw)
	}
	return o
}

func (a *softAuthenticator) clientData(kind, challenge string) []byte {
	if a.ceremonyType != "" {
		kind = a.ceremonyType
	}
	if a.challenge != "" {
		challenge = a.challenge
	}
	b, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

func (a *softAuthenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.uv {
		f |= 0x04
	}
	if a.be {
		f |= 0x08
	}
	if a.bs {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *softAuthenticator) nextCounter() uint32 {
	if a.noCounter {
		return 0
	}
	a.counter++
	return a.counter
}

func (a *softAuthenticator) authData(attested bool, count uint32) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	out := append([]byte{}, rp[:]...)
	out = append(out, a.flags(attested))
	out = binary.BigEndian.AppendUint32(out, count)
	if attested {
		out = append(out, a.aaguid[:]...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		// The uncompressed point: 0x04, then X and Y, 32 bytes each.
		point, err := a.key.PublicKey.Bytes()
		if err != nil {
			panic(err)
		}
		x, y := point[1:33], point[33:]
		cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		if err != nil {
			panic(err)
		}
		if a.coseKey != nil {
			cose = a.coseKey
		}
		out = append(out, cose...)
	}
	return out
}

// create answers registration options with a "none" attestation.
func (a *softAuthenticator) create(t testing.TB, raw []byte) []byte {
	t.Helper()
	o := parseOptions(t, raw)
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatalf("user.id: %v", err)
	}
	a.userHandle = handle
	cd := a.clientData("webauthn.create", o.PublicKey.Challenge)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true, a.nextCounter())})
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att)}
	if a.transports != nil {
		resp["transports"] = a.transports
	}
	return a.credential(resp)
}

// get answers request options with an assertion.
func (a *softAuthenticator) get(t testing.TB, raw []byte) []byte {
	t.Helper()
	o := parseOptions(t, raw)
	return a.assert(o.PublicKey.Challenge)
}

// assert signs an assertion for challenge (base64url).
func (a *softAuthenticator) assert(challenge string) []byte {
	cd := a.clientData("webauthn.get", challenge)
	ad := a.authData(false, a.nextCounter())
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	resp := map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
		"signature": b64.EncodeToString(sig)}
	if a.userHandle != nil {
		resp["userHandle"] = b64.EncodeToString(a.userHandle)
	}
	return a.credential(resp)
}

func (a *softAuthenticator) credential(resp map[string]any) []byte {
	c := map[string]any{"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": resp, "clientExtensionResults": map[string]any{}}
	if a.attachment != "" {
		c["authenticatorAttachment"] = a.attachment
	}
	b, _ := json.Marshal(c)
	return b
}
