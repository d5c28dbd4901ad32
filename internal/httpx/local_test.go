package httpx

import "testing"

// TestNotLocal: only a loopback listener published at a loopback URL is
// local; a proxy's public URL or a name under localhost is not.
func TestNotLocal(t *testing.T) {
	for _, tc := range []struct {
		addr, url string
		local     bool
	}{
		{"localhost:8080", "http://localhost:8080", true},
		{"127.0.0.1:0", "http://127.0.0.1:41234", true},
		{"[::1]:8080", "http://[::1]:8080", true},
		{"LOCALHOST:8080", "http://LocalHost:8080", true},
		{"localhost:8080", "https://id.example.ru", false},
		{"0.0.0.0:8080", "http://localhost:8080", false},
		{":8080", "http://localhost:8080", false},
		{"10.0.0.5:8080", "http://localhost:8080", false},
		{"localhost:8080", "http://evil.localhost:8080", false},
		{"localhost.example.ru:8080", "http://localhost:8080", false},
		{"localhost:8080", "::not a url", false},
	} {
		if got := NotLocal(tc.addr, tc.url); (got == "") != tc.local {
			t.Errorf("NotLocal(%q, %q) = %q, want local %v", tc.addr, tc.url, got, tc.local)
		}
	}
}
