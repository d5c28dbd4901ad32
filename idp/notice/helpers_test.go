package notice

import "testing"

func loadTemplates(t testing.TB) *Templates {
	t.Helper()
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tmpl
}
