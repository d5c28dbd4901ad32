package httpx

import (
	"net"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"localhost:8080": true, "127.0.0.1:0": true, ":443": true, "[::1]:8080": true,
		"localhost": false, "localhost:http": false, "host:70000": false, "host:-1": false,
	} {
		if err := CheckAddr(addr); (err == nil) != ok {
			t.Errorf("CheckAddr(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}

func TestCheckPublicURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://id.example.ru": true, "http://localhost:8080": true, "https://id.example.ru/gosid": true,
		"id.example.ru": false, "ftp://id.example.ru": false, "https://id.example.ru/?a=1": false,
		"https://id.example.ru/#x": false, "https://u:p@id.example.ru": false, "::": false,
	} {
		if err := CheckPublicURL(raw); (err == nil) != ok {
			t.Errorf("CheckPublicURL(%q) = %v, want ok %v", raw, err, ok)
		}
	}
}

func TestBoundURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}
	for derived, want := range map[string]string{
		"http://localhost:0":    "http://localhost:41234",
		"https://127.0.0.1:0":   "https://127.0.0.1:41234",
		"http://localhost:8080": "http://localhost:8080",
		"https://id.example.ru": "https://id.example.ru",
	} {
		if got := BoundURL(derived, bound); got != want {
			t.Errorf("BoundURL(%q) = %q, want %q", derived, got, want)
		}
	}
}

func TestListenURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}
	for addr, want := range map[string]string{
		"localhost:0":    "http://localhost:41234",
		"localhost:8080": "http://localhost:41234",
		"127.0.0.1:0":    "http://127.0.0.1:41234",
		"[::1]:0":        "http://[::1]:41234",
		":8080":          "http://127.0.0.1:41234",
		"0.0.0.0:8080":   "http://127.0.0.1:41234",
	} {
		if got := ListenURL(addr, bound, false); got != want {
			t.Errorf("ListenURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
