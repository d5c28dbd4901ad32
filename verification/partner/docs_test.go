package partner_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPartnersGuideCoversTheAPI: docs/partners.md names every operation of
// docs/partner-api.yaml (its id and its method and path) and every problem
// code the API can answer.
func TestPartnersGuideCoversTheAPI(t *testing.T) {
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "partners.md"))
	if err != nil {
		t.Fatal(err)
	}
	g := string(guide)
	// Paths and their operations, as the YAML lays them out.
	var path string
	n := 0
	for _, line := range strings.Split(string(spec), "\n") {
		if m := regexp.MustCompile(`^  (/partner/v1/\S+):$`).FindStringSubmatch(line); m != nil {
			path = m[1]
			continue
		}
		if m := regexp.MustCompile(`^    (get|post|put|patch|delete):$`).FindStringSubmatch(line); m != nil && path != "" {
			op := strings.ToUpper(m[1]) + " " + path
			if !strings.Contains(g, "`"+op+"`") {
				t.Errorf("docs/partners.md does not mention %s", op)
			}
			n++
		}
		if m := regexp.MustCompile(`^      operationId: (\w+)$`).FindStringSubmatch(line); m != nil && !strings.Contains(g, "`"+m[1]+"`") {
			t.Errorf("docs/partners.md does not mention operation %s", m[1])
		}
	}
	if n < 3 {
		t.Fatalf("%d operations found in the YAML", n)
	}
	codes := regexp.MustCompile(`problems/\(([a-z_|]+)\)`).FindStringSubmatch(string(spec))
	if codes == nil {
		t.Fatal("no problem codes in the YAML")
	}
	for _, c := range strings.Split(codes[1], "|") {
		if !strings.Contains(g, "`"+c+"`") {
			t.Errorf("docs/partners.md does not explain the problem %s", c)
		}
	}
}
