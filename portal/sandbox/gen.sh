#!/usr/bin/env bash
# gen.sh — makes the sandbox agency's signing key and certificate (GOST R
# 34.10-2012, 256 bits, TC26 paramset A) with OpenSSL 3 and Debian's GOST
# engine (libengine-gost-openssl): trust/root.pem, a self-signed sandbox CA,
# and agency.pem/agency.key, the certificate the embedded default's agencies
# sign their result documents with (development mode only), and root.crl
# (empty). Every private key here is a sandbox key, published on purpose.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OPENSSL_CONF="$work/openssl.cnf"
cat >"$OPENSSL_CONF" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
[ca]
default_ca = root
[root]
database = $work/index.txt
new_certs_dir = $work
certificate = $work/root.pem
private_key = $work/root.key
serial = $work/serial
crlnumber = $work/crlnumber
default_md = default
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = yes
[policy_any]
countryName = optional
organizationName = optional
commonName = supplied
OGRN = optional
INN = optional
[req]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
[req_dn]
[root_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[agency_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
certificatePolicies = 1.2.643.100.113.1
EOF
: >"$work/index.txt"; echo 1000 >"$work/crlnumber"; openssl rand -hex 16 >"$work/serial"
openssl genpkey -engine gost -algorithm gost2012_256 -pkeyopt paramset:A -out "$work/root.key" 2>/dev/null
openssl req -engine gost -new -x509 -utf8 -days 7300 -key "$work/root.key" -subj "/C=RU/O=Gosid sandbox/CN=Gosid: песочница ведомств (УЦ)" -extensions root_ext -out "$work/root.pem" 2>/dev/null
openssl genpkey -engine gost -algorithm gost2012_256 -pkeyopt paramset:A -out "$work/agency.key" 2>/dev/null
openssl req -engine gost -new -utf8 -key "$work/agency.key" -subj "/C=RU/O=Песочница ведомств Gosid/CN=Ведомство (песочница Gosid)/OGRN=1027700000000/INN=7700000000" -out "$work/agency.csr" 2>/dev/null
openssl ca -engine gost -batch -utf8 -days 7300 -extensions agency_ext -in "$work/agency.csr" -out "$work/agency.pem" -notext 2>/dev/null
openssl ca -engine gost -gencrl -out "$work/root.crl" 2>/dev/null
mkdir -p "$here/trust"
cp "$work/root.pem" "$here/trust/root.pem"
cp "$work/agency.pem" "$work/agency.key" "$work/root.crl" "$here/"
