#!/bin/sh
# Measures the OpenSSL GOST engine and keys/gost on the same core, one after
# the other, and prints the Go/OpenSSL ratios. Both sides are counted per CPU
# second (openssl speed's default), so other load on the machine does not
# skew the ratio. Needs gcc, libssl-dev and the gost engine
# (libengine-gost-openssl).
#
# Usage: keys/gost/testdata/speed/run.sh [seconds per measurement, default 3]
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
secs=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -o "$tmp/gostspeed" "$dir/gostspeed.c" -lcrypto

# openssl speed finds engine digests only when the engine is the default for
# all algorithms, which a configuration file arranges.
engines=$(openssl version -e | sed 's/^ENGINESDIR: "\(.*\)"/\1/')
cat >"$tmp/gost.cnf" <<CNF
openssl_conf = openssl_def
[openssl_def]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
dynamic_path = $engines/gost.so
default_algorithms = ALL
CNF

echo "== OpenSSL $(openssl version | cut -d' ' -f2), gost engine, core 0"
OPENSSL_CONF=$tmp/gost.cnf taskset -c 0 openssl speed -seconds "$secs" -bytes 8192 \
	-evp md_gost12_256 2>/dev/null | tail -1 | tee "$tmp/openssl.txt"
taskset -c 0 "$tmp/gostspeed" "$secs" | tee -a "$tmp/openssl.txt"

echo "== Go keys/gost, GOMAXPROCS=1, core 0"
cd "$dir/../../../.."
GOMAXPROCS=1 taskset -c 0 go test -run '^$' -cpu 1 -benchtime "${secs}s" \
	-bench '^(BenchmarkStreebog256|BenchmarkVerifyCurves|BenchmarkSignCurves)$' \
	./keys/gost/ | grep '^Benchmark' | tee "$tmp/go.txt"

echo "== Go / OpenSSL, per CPU second"
awk '
function norm(s) { sub(/3410-12-512/, "3410-2012-512", s); return s }
FNR == NR {
	if ($1 == "md_gost12_256") { ossl = $2 / 1000 }   # 1000s of bytes per second
	else if ($2 == "sign") {
		c = norm($1); order[++n] = c
		sub(/\/s/, "", $3); sub(/\/s/, "", $5); osign[c] = $3; over[c] = $5
	}
	next
}
{
	for (i = 3; i < NF; i++) {
		split($1, name, "/")
		if ($(i+1) == "MB/cpu-s") { gostr = $i }
		if ($(i+1) == "verifications/cpu-s") { gver[norm(name[2])] = $i }
		if ($(i+1) == "signatures/cpu-s") { gsign[norm(name[2])] = $i }
	}
}
END {
	f = "%-46s %9s %9s %6s\n"; g = "%-46s %9.0f %9.0f %6.2f\n"
	printf f, "", "Go", "OpenSSL", "ratio"
	printf "%-46s %9.1f %9.1f %6.2f\n", "Streebog-256 MB/s, 8 KiB", gostr, ossl, gostr / ossl
	for (i = 1; i <= n; i++) { c = order[i]; printf g, "verify/s " c, gver[c], over[c], gver[c] / over[c] }
	for (i = 1; i <= n; i++) { c = order[i]; printf g, "sign/s " c, gsign[c], osign[c], gsign[c] / osign[c] }
}' "$tmp/openssl.txt" "$tmp/go.txt"
