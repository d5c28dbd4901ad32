package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// rpScript is the openid-client relying party (e2e/node/rp.mjs); the test
// binary runs in e2e/.
const rpScript = "node/rp.mjs"

// requireNode skips the test where Node.js or e2e/node's installed packages
// are missing (fails it under GOSID_E2E=1, as in CI) and returns node's path.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node", "node_modules", "openid-client", "package.json"))
	}
	if err != nil {
		const msg = "Node.js or e2e/node/node_modules missing (install nodejs and npm, then `cd e2e/node && npm ci`); GOSID_E2E=1 turns this skip into a failure"
		if os.Getenv("GOSID_E2E") == "1" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
	return node
}

// rpError is what rp.mjs reports for a refused request: the OAuth error the
// server sent (error, error_description, HTTP status) or openid-client's own
// refusal (name, code, message).
type rpError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Status           int    `json:"status"`
	Name             string `json:"name"`
	Code             string `json:"code"`
	Message          string `json:"message"`
	// Exchange is the last HTTP request openid-client sent, and its answer.
	Exchange *struct {
		Request struct {
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"request"`
		Response *struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"response"`
	} `json:"exchange"`
}

// String is the error with the HTTP exchange that produced it.
func (e *rpError) String() string {
	if e == nil {
		return "no error"
	}
	s := fmt.Sprintf("%s %d %s %q (%s: %s)", e.Name, e.Status, e.Error, e.ErrorDescription, e.Code, e.Message)
	if x := e.Exchange; x != nil {
		s += fmt.Sprintf("\n    > %s %s", x.Request.Method, x.Request.URL)
		for _, h := range slices.Sorted(maps.Keys(x.Request.Headers)) {
			s += fmt.Sprintf("\n    > %s: %s", h, x.Request.Headers[h])
		}
		if x.Request.Body != "" {
			s += "\n    > " + x.Request.Body
		}
		if x.Response != nil {
			s += fmt.Sprintf("\n    < %d %s\n    < %s", x.Response.Status, x.Response.Headers["content-type"], x.Response.Body)
		}
	}
	return s
}

// runRP runs `node rp.mjs command` with req as JSON on standard input. On
// success it decodes the result into out (if not nil) and returns nil; a
// request the server or openid-client refused returns the rpError. Anything
// else (node crashing, bad JSON) fails the test.
func runRP(t *testing.T, node, command string, req map[string]any, out any) *rpError {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, rpScript, command)
	cmd.Env = cleanEnv()
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		if out != nil {
			if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
				t.Fatalf("rp.mjs %s: result %q: %v", command, stdout.String(), err)
			}
		}
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		var e rpError
		if jerr := json.Unmarshal(stdout.Bytes(), &e); jerr != nil || (e.Name == "" && e.Message == "") {
			t.Fatalf("rp.mjs %s failed without a result: %v\nstdout: %s\nstderr: %s", command, err, stdout.String(), stderr.String())
		}
		return &e
	default:
		t.Fatalf("rp.mjs %s: %v\nstdout: %s\nstderr: %s", command, err, stdout.String(), stderr.String())
		return nil
	}
}
