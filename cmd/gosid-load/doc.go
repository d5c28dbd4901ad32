// Command gosid-load drives a running Gosid server with OpenID Connect
// traffic and compares what each kind of request achieves with the raw
// cryptography it cannot avoid, measured on the same machine.
//
// It does not start a server. It talks only to the issuer it is given, and
// refuses one that is not on loopback unless --allow-remote is passed:
// load tests run against your own machine, or against a system you have
// permission to load.
//
// # Setting up
//
//	go build -o /tmp/gosid ./cmd/gosid && go build -o /tmp/gosid-load ./cmd/gosid-load
//	gosid serve --data-dir /tmp/x --addr 127.0.0.1:8080 --portal-addr off &
//	gosid clients create --data-dir /tmp/x --name Load --first-party \
//	    --scopes "openid fullname offline_access" --grant-types authorization_code,refresh_token \
//	    --auth-method client_secret_basic --redirect-uri http://127.0.0.1:9/cb --json
//	gosid clients create --data-dir /tmp/x --name "Load CC" --grant-types client_credentials --json
//	GOSID_PASSWORD='Zk7#vLq2!mWp' gosid accounts create --data-dir /tmp/x \
//	    --phone +79160000001 --family-name Иванов --given-name Иван
//
// A running server picks new clients up within 30 seconds. The redirect URI
// is never contacted: the redirect to it is read, not followed.
//
// # Running
//
//	GOSID_LOAD_PASSWORD='Zk7#vLq2!mWp' gosid-load --issuer http://127.0.0.1:8080 \
//	    --client-id ID --client-secret S --redirect-uri http://127.0.0.1:9/cb --login +79160000001 \
//	    --cc-client-id ID2 --cc-client-secret S2 \
//	    --concurrency 8 --duration 20s --steps signin,code,refresh,userinfo,introspect,client_credentials,discovery,jwks
//
// --password, --client-secret and --cc-client-secret may come from
// GOSID_LOAD_PASSWORD, GOSID_LOAD_CLIENT_SECRET and
// GOSID_LOAD_CC_CLIENT_SECRET instead, out of sight of ps. --json prints
// the results for machines; the table goes to stdout, progress to stderr.
//
// # Steps
//
// Each step is a separate phase of --duration with --concurrency workers,
// each a sequential client; the phases run one after another. A phase also
// ends at --max-requests HTTP requests (a safety cap) and requests under way
// at the end finish and count.
//
//   - signin: per iteration a fresh cookie jar, GET /authorize (PKCE S256,
//     state, nonce), /authorize/continue, POST /login with the login, the
//     password and next, /authorize/continue again, consent if the client
//     is not first-party, the 302 to the redirect URI with the code (checked:
//     state, iss), then the code exchange at /oauth/token. Rows: signin+code
//     (the whole iteration), the POST /login alone (argon2id happens there)
//     and the code exchange alone.
//   - code: each worker keeps the session it signed in with at set-up, so
//     /authorize answers without a password (SSO); rows: code (the token
//     exchange alone: its latency, and exchanges per second) and the
//     authorize round trips, which the same workers make in between, so
//     the code rate is also bounded by them.
//   - refresh: each worker rotates its own refresh token (from a set-up
//     code flow) in a loop, each answer's refresh_token being the next; a
//     broken chain is restarted through SSO and counted as an error.
//   - userinfo: GET /userinfo with the worker's access token.
//   - introspect: POST /oauth/introspect of that token, client Basic auth.
//   - client_credentials: POST /oauth/token with --cc-client-id.
//   - discovery, jwks: GET /.well-known/openid-configuration and /keys.
//
// Set-up (when a step needs the account) signs each worker in once, the
// first alone so that a wrong password fails once instead of locking the
// account.
//
// # What is reported
//
// Per row: successful requests per second over the phase, errors split into
// transport errors (refused, reset, timeout), unexpected HTTP statuses, and
// invalid answers (the right status with an unusable body, a missing code or
// token, a wrong state); 503 answers apart, as refusals (the server's
// back-pressure with Retry-After: a sign-in that its password budget could
// not fit), not errors; and exact p50/p90/p99 latencies: nearest rank over
// every successful request's recorded duration, nothing averaged.
//
// # Limits
//
// Before the load, gosid-load measures for --calibrate each, with one
// goroutine and with GOMAXPROCS goroutines: raw ES256 and RS256 signatures
// and verifications of a SHA-256 digest (RSA with the modulus size the
// server's /keys publishes), argon2id hashes with --argon2-memory,
// --argon2-time and --argon2-threads (set them as the server's: the
// defaults, m=19456 KiB t=2 p=1, are Gosid's), and GET round trips to a
// trivial in-process loopback handler serving the discovery document's
// bytes with --concurrency clients (the HTTP floor).
//
// Each row is compared with the raw work it needs: a sign-in with one
// argon2id hash; a code exchange, a refresh or a client_credentials grant
// with the signatures its answer carries (read from the JWT headers: an ID
// token and a JWT access token are two, 1/limit = Σ 1/rate); userinfo and
// introspection with one verification of a JWT access token; discovery,
// /keys and the SSO authorize round trips with the HTTP floor. The ratio
// is rate / limit: near 1 means the server spends its time on that
// cryptography and nothing else. The limit is the parallel rate, or with
// --server-cores K the one-goroutine rate × K.
//
// # Soak
//
// `gosid-load soak` starts its own cluster and judges it: --replicas
// processes of `gosid serve` (the binary of --gosid) on one database (the
// SQLite data dir for one replica, PostgreSQL from GOSID_DATABASE_URL for
// more), behind two round-robin proxies of its own, one for the identity
// provider (its address is the issuer, --public-url) and one for the
// citizen portal every replica runs (its address is --portal-public-url),
// so that every request of a journey, and each of the portal's own calls
// to the provider, may land on another replica:
//
//	go build -o /tmp/gosid ./cmd/gosid && go build -o /tmp/gosid-load ./cmd/gosid-load
//	GOSID_DATABASE_URL=postgres://… /tmp/gosid-load soak --replicas 2 --citizens 200 --duration 60s --fault none
//
// Set-up, before the clock starts: a relying party (not first-party, so
// consent is asked) and the accounts, imported in one `gosid accounts
// import`; each citizen's account claims a person of the registry
// simulator's generated family (registry.GeneratedIdentity: name, birth
// date, SNILS, passport), the citizen signs in to the account centre and
// presses «Подтвердить данные», and the soak waits (at most 2 minutes)
// until every check is confirmed, i.e. the account is at level standard,
// which the portal's applications need (the replicas run with
// --registry-simulator-latency 0). Then --totp-share of the citizens
// enrol an authenticator app from the security page.
//
// Each citizen then runs journeys back to back until --duration is over,
// each step timed:
//
//   - authorize, login (password), mfa (authenticator code, for the
//     share that has one), consent, token (code exchange), userinfo,
//     refresh (--refreshes rotations) at the identity provider, for the
//     relying party;
//   - portal_signin: the portal's «Войти» → the provider's /authorize,
//     answered from the session the citizen already holds (no password,
//     no consent: the portal is first-party) → the portal's callback,
//     which redeems the code and opens a portal session;
//   - portal_home: the portal's home page must greet the citizen by the
//     confirmed name and say the level is standard, not show the landing
//     page;
//   - draft: apply for inn-certificate (level standard), open the form
//     (pre-filled with the confirmed family name), save a draft with valid
//     values and a journey-own address, read it back (saved, the address
//     kept), delete it (so that drafts do not pile up over a long soak);
//   - portal_logout: the portal's «Выйти» ends its session and goes to the
//     provider's end_session_endpoint and back to the portal, which must
//     then show the landing page;
//   - logout at the identity provider.
//
// A 503 with Retry-After is waited out (at most 2 s a time, 2 minutes in
// all) and sent again, a transport failure or the proxy's 502 retried;
// anything else is a failure of its step: a verdict on valid credentials,
// a 5xx, an unexpected status, an answer without what the step checks.
// The portal steps count one sample per journey: p50/p99 of the sum of
// their requests' answers, and with the retries.
//
// --fault injects one fault (none, pg-restart, kill-replica, term-replica,
// pool-exhausted, slow-db, slow-sms, clock-ahead, clock-behind, or the
// signin-burst scenario) and gives a pass or
// fail verdict; the report is a table (and --json). `GOSID_SOAK=1 go test
// -run TestSoak ./cmd/gosid-load` runs every scenario for 10 s with 20
// citizens.
//
// # Pinning
//
// On one machine the server and the load compete for the CPUs, and the
// load's own work (TLS-free HTTP, JSON, cookie jars) is not small next to a
// cheap endpoint. Pin them to different cores and tell gosid-load how many
// the server has:
//
//	taskset -c 0 gosid serve --data-dir /tmp/x --addr 127.0.0.1:8080 --portal-addr off
//	taskset -c 1 gosid-load --issuer http://127.0.0.1:8080 --server-cores 1 … --concurrency 4
//
// The limits are then measured on the load's cores (identical cores are
// assumed) and scaled to the server's. The HTTP floor is always measured
// inside gosid-load (client and trivial handler on the load's cores), so it
// is a rough bound, not a per-core figure. Go sets GOMAXPROCS from the
// affinity mask, so a pinned server runs one P. With PostgreSQL, pin the
// database to yet other cores (taskset -c 2,3 postgres …) or it shares the
// server's.
//
// # Soak and faults
//
// `gosid-load soak` starts its own cluster (--replicas of `gosid serve`
// behind a round-robin proxy, on GOSID_DATABASE_URL), imports the
// citizens' accounts, runs their whole journeys for --duration and injects
// --fault at --fault-at: none, pg-restart, kill-replica, term-replica,
// pool-exhausted, slow-db, slow-sms, clock-ahead, clock-behind. The
// report (table, and JSON with --json) gives journeys per second,
// failures by kind and step, p50/p99 per step and the verdict.
//
// pg-restart also watches every replica's /readyz every 50 ms (ready.go):
// it passes only when /readyz reported the database away during the gap,
// every live replica's /readyz was 200 again within 5 s of the database's
// return, journeys finished again within 5 s, and no answer took longer
// than 5 s (a request in the gap fails fast with 503, never hangs).
// pool-exhausted, slow-db and slow-sms pass when the p99 of each answer is
// within 5 s: a portal step sends several requests (the p99 column is of
// their sum, "p99 each answer" of each), and under a database that holds
// every statement their sum grows with their number, not with a pile-up.
//
// The tool also plays the edge (edge.go): the relying party's back-channel
// logout endpoint, registered for the soak's client, and an SMS gateway.
// slow-sms points the replicas' --sms-gateway-url at it and makes it
// answer after 5 s for a quarter of the run; half of the citizens sign in
// with SMS codes read from its inbox (sms.go). clock-ahead and
// clock-behind step the last replica's clock by ±2 minutes at --fault-at
// through GOSID_FAULT_CLOCK_FILE, which `gosid serve` reads every second
// (clockstep.go).
//
// signin-burst injects nothing and runs no journeys (burst.go): at least
// 200 citizens post the sign-in form at once, each again as soon as it is
// answered (after a 503, when its Retry-After says), for --duration; the
// replicas run with --password-wait 1s. It passes when nothing fails,
// every refusal carries Retry-After, the p99 of the admitted sign-ins and
// of the refusals is within that budget and no answer takes more than
// twice it.
//
// After every run, whatever the fault, the tool checks that nothing was
// lost or doubled (consistency.go), reading the database directly: at
// most one live refresh token per family and none in a revoked family
// (checked every second while the load runs, since a journey's sign-out
// revokes its families), no family without the code exchange that
// started it (a code exchanged twice), the job queue drained with no job
// stuck or discarded, every session the journeys ended with its
// back-channel logout job, delivered once to the edge; and from outside,
// spent codes and rotated refresh tokens presented again get
// invalid_grant. Any finding fails the verdict.
//
//	GOSID_DATABASE_URL=postgres://… gosid-load soak --replicas 2 --citizens 200 --duration 60s \
//	    --fault pg-restart --pg-data /var/lib/postgresql/data --json soak.json
//
// `go test ./cmd/gosid-load` runs every scenario briefly (10 s, 20
// citizens; slow-sms 20 s, signin-burst 200 citizens) with GOSID_SOAK=1;
// GOSID_SOAK_DURATION and GOSID_SOAK_CITIZENS lengthen them, and
// GOSID_SOAK_KEEP=DIR keeps each scenario's data directory (the replicas'
// JSON logs) under DIR. A failed journey's message lists its answers with
// their X-Request-Id, to follow in those logs.
package main
