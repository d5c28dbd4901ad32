package password

import (
	"errors"
	"strings"
	"testing"
)

const validPHC = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3m5XoHUoAHyqEZ2l3cBKaVqSAsGXk5fbs3/B6YnKKvk"

func TestParsePHCValid(t *testing.T) {
	h, err := ParsePHC(validPHC)
	if err != nil {
		t.Fatalf("ParsePHC: %v", err)
	}
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if h.Params != want {
		t.Errorf("params = %+v, want %+v", h.Params, want)
	}
	if string(h.Salt) != "somesaltsomesalt" {
		t.Errorf("salt = %q", h.Salt)
	}
	if got := h.Encode(); got != validPHC {
		t.Errorf("Encode = %q, want %q", got, validPHC)
	}
}

func TestParsePHCMalformed(t *testing.T) {
	salt, key := "c29tZXNhbHRzb21lc2FsdA", "3m5XoHUoAHyqEZ2l3cBKaVqSAsGXk5fbs3/B6YnKKvk"
	tail := "$" + salt + "$" + key
	cases := map[string]string{
		"empty":             "",
		"garbage":           "not a hash",
		"bcrypt":            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":           "$argon2i$v=19$m=19456,t=2,p=1" + tail,
		"argon2d":           "$argon2d$v=19$m=19456,t=2,p=1" + tail,
		"version 16":        "$argon2id$v=16$m=19456,t=2,p=1" + tail,
		"no version":        "$argon2id$m=19456,t=2,p=1" + tail,
		"order":             "$argon2id$v=19$t=2,m=19456,p=1" + tail,
		"extra param":       "$argon2id$v=19$m=19456,t=2,p=1,keyid=x" + tail,
		"missing param":     "$argon2id$v=19$m=19456,t=2" + tail,
		"leading zero":      "$argon2id$v=19$m=019456,t=2,p=1" + tail,
		"sign":              "$argon2id$v=19$m=+19456,t=2,p=1" + tail,
		"zero time":         "$argon2id$v=19$m=19456,t=0,p=1" + tail,
		"zero threads":      "$argon2id$v=19$m=19456,t=2,p=0" + tail,
		"time 101":          "$argon2id$v=19$m=19456,t=101,p=1" + tail,
		"threads 256":       "$argon2id$v=19$m=19456,t=2,p=256" + tail,
		"memory > 4 GiB":    "$argon2id$v=19$m=4194305,t=2,p=1" + tail,
		"memory overflow":   "$argon2id$v=19$m=99999999999,t=2,p=1" + tail,
		"memory < 8p":       "$argon2id$v=19$m=15,t=2,p=2" + tail,
		"no key":            "$argon2id$v=19$m=19456,t=2,p=1$" + salt,
		"empty key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"extra field":       "$argon2id$v=19$m=19456,t=2,p=1" + tail + "$x",
		"short salt":        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"long salt":         "$argon2id$v=19$m=19456,t=2,p=1$" + strings.Repeat("A", 88) + "$" + key,
		"short key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAAAAAAAAAAAAAAAAAA",
		"long key":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 88),
		"padded base64":     "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"url base64":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "/", "_"),
		"newline in base64": "$argon2id$v=19$m=19456,t=2,p=1$" + salt[:8] + "\n" + salt[8:] + "$" + key,
		"non-canonical":     "$argon2id$v=19$m=19456,t=2,p=1$" + salt[:len(salt)-1] + "B$" + key,
		"too long":          "$argon2id$v=19$m=19456,t=2,p=1" + tail + strings.Repeat("A", 300),
		"trailing space":    validPHC + " ",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePHC(s); !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ParsePHC(%q) error = %v, want ErrMalformedHash", s, err)
			}
		})
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add(validPHC)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$MTIzNDU2Nzg$MTIzNDU2Nzg5MDEyMzQ1Ng")
	f.Add("$argon2id$v=19$m=4194304,t=100,p=255$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86))
	f.Add("$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			if len(s) > 40 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes its input")
			}
			return
		}
		// Accepted strings are canonical and within limits.
		if got := h.Encode(); got != s {
			t.Fatalf("Encode(ParsePHC(%q)) = %q", s, got)
		}
		p := h.Params
		if p.Memory > MaxMemoryKiB || p.Time < 1 || p.Time > MaxTime || p.Threads < 1 ||
			p.Memory < 8*uint32(p.Threads) ||
			len(h.Salt) < MinSaltLen || len(h.Salt) > MaxSaltLen ||
			len(h.Key) < MinKeyLen || len(h.Key) > MaxKeyLen ||
			int(p.SaltLen) != len(h.Salt) || int(p.KeyLen) != len(h.Key) {
			t.Fatalf("accepted out-of-limit PHC: %+v", p)
		}
	})
}
