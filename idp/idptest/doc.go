// Package idptest is the shared test harness of the identity provider's
// browser-facing handlers (login, profile, registration, recovery,
// e-signature). It is test support only: import it from _test.go files.
//
// An Env is the platform a handler runs on, all of it real: the stores of
// one database (a dialect's copy from internal/sqldb/sqldbtest), a settable
// clock every store reads, the one-time-code service with its rate limits,
// sealed flows, and the identity provider's message templates rendered into
// the development sink (internal/message), from which tests read codes as a
// developer reads them at /dev/messages. A handler package wires its own
// handler over the Env's parts (the harness cannot import the packages it
// serves: their internal tests import it) and serves its routes with Serve,
// behind the same cross-origin protection as production (webui.Protect).
//
// A Browser keeps cookies, does not follow redirects, and sends what a
// browser sends with a same-origin form (Origin and Sec-Fetch-Site), so
// that pages pass the cross-origin check only as a real form would;
// CrossSite gives the same browser posting from another site. An Answer
// reads a page: field errors, the page's alert, the notice.
package idptest
