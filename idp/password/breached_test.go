package password

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBreachedList(t *testing.T) {
	l := BreachedList()
	if n := l.Len(); n != 30000 {
		t.Errorf("Len = %d, want 30000", n)
	}
	for _, pw := range []string{
		"password", "PASSWORD", "qwerty", "Qwerty123!", "qwerty123", "Password1!",
		"P@ssw0rd", "P@$$w0rd1", "Dr@g0n12", "Sunshine2024!", "iloveyou", "1l0v3y0u",
	} {
		if !l.Match(pw) {
			t.Errorf("Match(%q) = false", pw)
		}
	}
	for _, pw := range []string{"Vt9#kqzmRw", "Zk8(pLmq", "", "Xq#7Ivam9m", "correct horse battery staple"} {
		if l.Match(pw) {
			t.Errorf("Match(%q) = true", pw)
		}
	}
}

func TestListMatchRule(t *testing.T) {
	l := NewList([]string{"abc", "dragon", "lion", "Monkey"})
	cases := map[string]bool{
		"dragon":       true,
		"DRAGON":       true,
		"monkey":       true, // entries are lower-cased
		"dragon1":      true,
		"Dragon12!!":   true,  // 4 stripped
		"Dragon123456": true,  // whole trailing run stripped
		"Dr@g0n!":      true,  // leet undone
		"1i0n!":        true,  // 1→l
		"dragonfly":    false, // no substring matching
		"xdragon":      false,
		"abc123!!":     false, // base shorter than 4 characters
		"abc":          false,
		"ab":           false,
		"dragon#x":     false,
	}
	for pw, want := range cases {
		if got := l.Match(pw); got != want {
			t.Errorf("Match(%q) = %v, want %v", pw, got, want)
		}
	}
	var nilList *List
	if nilList.Match("dragon") || (&List{}).Match("dragon") {
		t.Error("empty list matched")
	}
}

// TestBreachedListFootprint measures what loading the embedded list costs.
func TestBreachedListFootprint(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	l, err := parseList(breachedGz)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("breached list: %d entries, %d bytes compressed, load %v, retained heap ≈ %.2f MiB",
		l.Len(), len(breachedGz), elapsed, float64(heap)/(1<<20))
	if heap > 8<<20 {
		t.Errorf("list retains %d bytes, want < 8 MiB", heap)
	}
	runtime.KeepAlive(l)
}

func TestEmbeddedListIsLowerCase(t *testing.T) {
	for k := range BreachedList().set {
		if k != strings.ToLower(k) || strings.TrimSpace(k) != k {
			t.Fatalf("entry %q not normalised", k)
		}
	}
}
