package gost

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// rfcHex decodes a number written as in RFC 6986 (big-endian hexadecimal)
// into the byte string it denotes: the RFC's a_0 is the first byte.
func rfcHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

func TestStreebogRFC6986(t *testing.T) {
	tests := []struct {
		name, msg, sum512, sum256 string
	}{
		{
			name:   "M1 (10.1)",
			msg:    "323130393837363534333231303938373635343332313039383736353433323130393837363534333231303938373635343332313039383736353433323130",
			sum512: "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b",
			sum256: "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d",
		},
		{
			name:   "M2 (10.2)",
			msg:    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1",
			sum512: "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f037613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e",
			sum256: "508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := rfcHex(t, tt.msg)
			if tt.name == "M1 (10.1)" && string(msg) != "012345678901234567890123456789012345678901234567890123456789012" {
				t.Fatalf("M1 decodes to %q", msg)
			}
			want512, want256 := rfcHex(t, tt.sum512), rfcHex(t, tt.sum256)
			if got := Sum512(msg); !bytes.Equal(got[:], want512) {
				t.Errorf("Sum512 = %x, want %x", got, want512)
			}
			if got := Sum256(msg); !bytes.Equal(got[:], want256) {
				t.Errorf("Sum256 = %x, want %x", got, want256)
			}
			h := New512()
			h.Write(msg)
			if got := h.Sum(nil); !bytes.Equal(got, want512) {
				t.Errorf("New512 = %x, want %x", got, want512)
			}
			h = New256()
			h.Write(msg)
			if got := h.Sum(nil); !bytes.Equal(got, want256) {
				t.Errorf("New256 = %x, want %x", got, want256)
			}
		})
	}
}

func TestStreebogKnownDigests(t *testing.T) {
	// The byte-order convention above, checked once more on the first RFC
	// message written the way most libraries print digests.
	got := Sum512([]byte("012345678901234567890123456789012345678901234567890123456789012"))
	want := "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("Sum512(M1) = %x", got)
	}
}

func TestStreebogStreaming(t *testing.T) {
	msg := make([]byte, 1000)
	for i := range msg {
		msg[i] = byte(i*7 + 3)
	}
	for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 500, 1000} {
		want512, want256 := Sum512(msg[:n]), Sum256(msg[:n])
		for _, chunk := range []int{1, 3, 7, 13, 63, 64, 65, 100} {
			h512, h256 := New512(), New256()
			for off := 0; off < n; off += chunk {
				end := min(off+chunk, n)
				h512.Write(msg[off:end])
				h256.Write(msg[off:end])
				if off == n/2 {
					h512.Sum(nil) // Sum must not disturb the state.
				}
			}
			if got := h512.Sum(nil); !bytes.Equal(got, want512[:]) {
				t.Errorf("512 len %d chunk %d: %x, want %x", n, chunk, got, want512)
			}
			if got := h256.Sum(nil); !bytes.Equal(got, want256[:]) {
				t.Errorf("256 len %d chunk %d: %x, want %x", n, chunk, got, want256)
			}
		}
	}
	h := New256()
	h.Write([]byte("garbage"))
	h.Reset()
	h.Write(msg[:100])
	if want := Sum256(msg[:100]); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("Reset does not restore the initial state")
	}
	if h.Size() != Size256 || New512().Size() != Size512 || h.BlockSize() != BlockSize {
		t.Error("wrong Size or BlockSize")
	}
}

func BenchmarkStreebog256(b *testing.B) {
	buf := make([]byte, 8192)
	h := New256()
	b.SetBytes(int64(len(buf)))
	cpu := cpuSeconds()
	for b.Loop() {
		h.Reset()
		h.Write(buf)
		h.Sum(nil)
	}
	if now := cpuSeconds(); cpu >= 0 && now > cpu {
		b.ReportMetric(float64(b.N*len(buf))/(now-cpu)/1e6, "MB/cpu-s")
	}
}

func BenchmarkStreebog512(b *testing.B) {
	buf := make([]byte, 8192)
	h := New512()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Reset()
		h.Write(buf)
		h.Sum(nil)
	}
}
