// Package e2e holds black-box tests that drive the real gosid binary, built
// once per test run, over its command line and HTTP, together with
// independent peers (Node openid-client as a relying party, oidc-provider as a
// stand-in bank, headless Chromium) as later issues add them.
//
// The binary is built into a temporary directory that is removed when the run
// ends, passed or failed (a run that died leaves it to the next run to
// remove). Every server binds port 0 itself and the tests read the address
// it got from its "gosid serving" log line: no port is chosen beforehand.
//
// Tests that need only Go and a database always run. Tests that need Node or
// Chromium skip cleanly where those are missing, and fail instead under
// GOSID_E2E=1, as in CI.
package e2e
