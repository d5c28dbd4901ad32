#!/bin/sh
# bench-refresh.sh measures refresh grants per second of one or more gosid
# binaries on PostgreSQL, with RS256 and with ES256 clients, beside the
# limit measured in the same run: raw signatures per second of the
# algorithm on one core ÷ 2 (an ID token and a JWT access token per
# refresh).
#
#	scripts/bench-refresh.sh LABEL=BINARY [LABEL=BINARY…]
#
# e.g. to compare a change with main in one session:
#
#	git worktree add /tmp/base d95cc94 && (cd /tmp/base && go build -o /tmp/gosid-base ./cmd/gosid)
#	go build -o /tmp/gosid-new ./cmd/gosid
#	scripts/bench-refresh.sh base=/tmp/gosid-base new=/tmp/gosid-new
#
# The server runs pinned to one core (taskset -c $SERVER_CPU, GOMAXPROCS=1);
# gosid-load (built from this tree) and a private PostgreSQL cluster run on
# $LOAD_CPU. Each binary gets its own database, data dir and port; the
# binaries and algorithms alternate ($ROUNDS rounds) so that a change in the
# machine's load hits every figure alike.
#
# Two figures per measurement. Wall: refreshes per second as gosid-load
# saw them, with gosid-load's own limit (measured on the load's core, so
# only meaningful on an otherwise idle machine). CPU: refreshes per
# CPU-second of the server process during the refresh phase (from
# /proc/PID/stat), beside signatures per CPU-second measured on the
# server's core just before (idp/oidc TestSignatureRate) ÷ 2: what one
# core could do, and stable when other work shares the machine.
#
# Environment: SERVER_CPU (1),
# LOAD_CPU (0), DURATION (10s), CONCURRENCY (4), ROUNDS (2), PG_BIN (the
# directory of initdb and postgres; default from PATH). Results: one line per
# measurement on stdout, the JSON reports in $OUT (a temp dir by default).
# Run as root, PostgreSQL runs as the postgres user.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 LABEL=BINARY [LABEL=BINARY…]" >&2; exit 2; }
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-4}
ROUNDS=${ROUNDS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/gosid-bench.XXXXXX)
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
chmod 755 "$WORK"
PGPORT=$((20000 + $$ % 10000))
PASSWORD='Zk7#vLq2!mWp-bench'
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	as_pg "pg_ctl -D $WORK/pg -m fast stop" >/dev/null 2>&1 || true
	rm -rf "$WORK/pg" "$WORK"/data-*
}
trap cleanup EXIT INT TERM

go build -o "$WORK/gosid-load" "$ROOT/cmd/gosid-load"
(cd "$ROOT" && go test -c -o "$WORK/oidc.test" ./idp/oidc)

mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
as_pg "initdb -D $WORK/pg -U postgres -A trust >/dev/null"
as_pg "taskset -c $LOAD_CPU pg_ctl -D $WORK/pg -l $WORK/pg/log -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' -w start >/dev/null"

i=0
for spec in "$@"; do
	label=${spec%%=*}
	bin=${spec#*=}
	i=$((i + 1))
	port=$((PGPORT + i))
	data=$WORK/data-$label
	db="postgres://postgres@127.0.0.1:$PGPORT/bench_$label?sslmode=disable"
	as_pg "psql -h 127.0.0.1 -p $PGPORT -U postgres -qc 'CREATE DATABASE bench_$label'" >/dev/null
	mkdir -p "$data"
	export GOSID_DATA_DIR="$data" GOSID_DATABASE_URL="$db" GOSID_MASTER_KEY_FILE="$data/master.key"
	"$bin" keys new-master-key --out "$data/master.key" >/dev/null
	"$bin" migrate >/dev/null 2>&1
	for alg in RS256 ES256; do
		"$bin" clients create --name "Bench $alg" --first-party --scopes "openid fullname offline_access" \
			--grant-types authorization_code,refresh_token --auth-method client_secret_basic \
			--redirect-uri http://127.0.0.1:9/cb --id-token-alg "$alg" --json >"$WORK/client-$label-$alg.json"
	done
	GOSID_PASSWORD="$PASSWORD" "$bin" accounts create --phone +79160000001 --family-name Иванов --given-name Иван >/dev/null
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$bin" serve --addr "127.0.0.1:$port" --portal-addr off --admin-addr off \
		--log-level warn >"$WORK/serve-$label.log" 2>&1 &
	pids="$pids $!"
	echo $! >"$WORK/pid-$label"
	n=0
	until curl -sf "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null; do
		n=$((n + 1))
		[ $n -lt 100 ] || { cat "$WORK/serve-$label.log" >&2; exit 1; }
		sleep 0.2
	done
	unset GOSID_DATA_DIR GOSID_DATABASE_URL GOSID_MASTER_KEY_FILE
done

field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -1; }
# ticks: user + system CPU ticks of a process so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	i=0
	for spec in "$@"; do
		label=${spec%%=*}
		i=$((i + 1))
		port=$((PGPORT + i))
		for alg in RS256 ES256; do
			cj=$WORK/client-$label-$alg.json
			out=$OUT/$label-$alg-$r.json
			GOSID_SIGN_RATE=2s GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$WORK/oidc.test" -test.run '^TestSignatureRate$' -test.count 1 >"$out.sign"
			spid=$(cat "$WORK/pid-$label")
			GOSID_LOAD_PASSWORD="$PASSWORD" GOSID_LOAD_CLIENT_SECRET=$(field client_secret "$cj") \
				taskset -c "$LOAD_CPU" "$WORK/gosid-load" --issuer "http://127.0.0.1:$port" \
				--client-id "$(field client_id "$cj")" --redirect-uri http://127.0.0.1:9/cb --login +79160000001 \
				--steps refresh --server-cores 1 --concurrency "$CONCURRENCY" --duration "$DURATION" --json 2>&1 >"$out" |
				while IFS= read -r line; do
					case $line in
					"step refresh:"*) ticks "$spid" >"$out.t0" ;;
					"measuring raw limits again"*) ticks "$spid" >"$out.t1" ;;
					esac
					echo "$line" >>"$out.log"
				done
			python3 - "$out" "$label" "$alg" "$r" "$(cat "$out.t0")" "$(cat "$out.t1")" "$(getconf CLK_TCK)" <<-'EOF'
				import json, re, sys
				out, label, alg, rnd, t0, t1, hz = sys.argv[1:]
				rep = json.load(open(out))
				row = rep["steps"][0]["rows"][0]
				lim = row.get("limit") or {}
				cpu = (int(t1) - int(t0)) / int(hz)
				sign = float(re.search(r"sign %s ([0-9.]+)" % alg, open(out + ".sign").read()).group(1))
				per_cpu = row["ok"] / cpu if cpu > 0 else 0
				print("%-6s %s round %s  wall: %7.1f/s limit %7.1f/s ratio %.2f | CPU: %7.1f per server CPU-s, limit %7.1f (sign %.0f/CPU-s / 2) ratio %.2f | errors %d" % (
				    label, alg, rnd, row["per_s"], lim.get("per_s", 0), row.get("ratio", 0),
				    per_cpu, sign / 2, sign, per_cpu / (sign / 2),
				    row["http_errors"] + row["unexpected_status"] + row["invalid"]))
			EOF
		done
	done
done
echo "reports: $OUT" >&2
