// Package idp assembles the identity provider from its modules: New takes
// the operator's policy (Config, validated by the command line) and the
// platform's dependencies (Platform: database, keys, logger, message
// senders, clock) and returns the IdP — its pages and endpoints behind
// their middleware (Handler), the sweeps any replica may run (Sweeps:
// expired rows of every store, and erasure of accounts whose deletion is
// due), what SIGHUP reloads (Reload: the e-signature trust list), the
// cache watcher a replica runs while serving (RunCache) and the metrics of
// its caches (Collectors).
//
// It owns no tables and no rules: each module does (account, assurance,
// audit, login, registration, recovery, profile, passkey, esign, oidc …,
// see DESIGN.md). Here they are only connected: which store each flow
// uses, that every way of signing in starts its session through
// login.Arrivals, that sessions ended wholesale are told to the OpenID
// provider (so their tokens are revoked and their sites told), that levels
// change only through assurance.Service.
//
// Routes registered here besides the modules' own (each module's doc.go
// lists those):
//
//	GET  /static/             stylesheet and scripts (webui.Static)
//	GET  /keys                the JWKS of the signing keys (keys.Manager.JWKSHandler)
//	GET  /healthz             liveness; readiness and metrics are on the management listener
//	GET  /dev/messages        development mode only: the messages sent, one-time codes included
//	GET  /dev/messages.json   the same as JSON, for tests
package idp
