package webpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
	"time"
)

// BenchmarkEncrypt measures one push's encryption; its floor is the two
// P-256 scalar multiplications it cannot avoid (the ephemeral public key
// and the ECDH), measured by BenchmarkECDHFloor. Compare the two ns/op.
func BenchmarkEncrypt(b *testing.B) {
	r := newReceiver(b)
	payload := make([]byte, 1024)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := Encrypt(payload, r.sub, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkECDHFloor(b *testing.B) {
	r := newReceiver(b)
	uaPub, _ := ecdh.P256().NewPublicKey(r.sub.P256dh)
	scalar := make([]byte, 32)
	for b.Loop() {
		_, _ = rand.Read(scalar)
		k, err := ecdh.P256().NewPrivateKey(scalar)
		if err != nil {
			continue
		}
		if _, err := k.ECDH(uaPub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	r := newReceiver(b)
	body, _ := Encrypt(make([]byte, 1024), r.sub, nil)
	for b.Loop() {
		if _, err := Decrypt(body, r.key, r.auth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorization(b *testing.B) {
	v, err := GenerateVAPID("mailto:push@gosid.example")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		if _, err := v.Authorization("https://fcm.googleapis.com/fcm/send/x", now); err != nil {
			b.Fatal(err)
		}
	}
}
