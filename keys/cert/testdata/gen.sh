#!/usr/bin/env bash
# gen.sh [OUTDIR] — makes the certificate and CMS fixtures of keys/cert and
# keys/cms with OpenSSL 3 and Debian's GOST engine (libengine-gost-openssl).
#
# OUTDIR defaults to this script's directory; the committed files there are
# its output. The tests of keys/cert and keys/cms run this script into a
# temporary directory when GOSID_OPENSSL_FIXTURES=1, so the pure-Go code is
# checked against freshly made OpenSSL output as well as against the
# committed files. Every private key here is a test key.
#
# PKI made (GOST keys by the engine's genpkey, self-signed CAs by `openssl
# req -x509`, every other certificate by `openssl ca`):
#   root         GOST 2012-256, TC26 paramset A; the only file in trust/
#   intermediate GOST 2012-512, paramset A, issued by root, pathlen 0
#   citizen256   GOST 2012-256 paramset A (CryptoPro A)   } issued by
#   citizen256b  GOST 2012-256 paramset B (CryptoPro B)   } intermediate,
#   citizen512   GOST 2012-512 paramset C                 } qualified:
#   citizenrsa   RSA 2048                                 } SNILS, INN, SN,
#   citizenecdsa ECDSA P-256                              } G, CN, КС1 policy,
#   expired      GOST-256, valid 2015–2016                } subjectSignTool,
#   revoked      GOST-256, listed in ca.crl               } CDP ca.crl
#   nodigsig     GOST-256, keyUsage keyEncipherment only  }
#   untrusted    GOST-256 issued by "rogue" (a root not in trust/)
#   broken       GOST-256 issued by "fake", a CA with the intermediate's name
#                and key identifier but another key: the chain names the
#                real intermediate, whose key did not sign it
# CRLs: ca.crl (by intermediate, lists revoked), root.crl (by root, empty).
# For each citizen: NAME.pem (certificate), NAME.key (PEM PKCS#8) and
# detached signatures of challenge.txt: NAME.cms.der, NAME.cms.pem (signed
# attributes), NAME.noattr.cms.der, NAME.noattr.cms.pem (no signed
# attributes), and for citizen256 also an attached one (NAME.attached.cms.der).
# PKCS#12: citizenrsa.p12, citizenecdsa.p12, citizen256.p12 (password "test",
# PBES2 AES-256-CBC, SHA-256 MAC), citizenecdsa.legacy.p12 (3DES, SHA-1 MAC);
# citizen512.enc.key is citizen512.key as encrypted PKCS #8 (password "test").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
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
$(for ca in root intermediate rogue fake; do
	printf '[%s]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\ncertificate = %s/ca.pem\nprivate_key = %s/ca.key\nserial = %s/serial\ncrlnumber = %s/crlnumber\n' \
		"$ca" "$work/$ca" "$work/$ca" "$work/$ca" "$work/$ca" "$work/$ca" "$work/$ca"
	printf 'default_md = default\ndefault_crl_days = 3650\npolicy = policy_any\nunique_subject = no\ncopy_extensions = none\npreserve = yes\n\n'
done)
[policy_any]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
surname = optional
givenName = optional
title = optional
SNILS = optional
INN = optional
OGRN = optional
emailAddress = optional

[req]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
[req_dn]

[root_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate_ext]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1/root.crl
certificatePolicies = 1.2.643.100.113.1, 1.2.643.100.113.2

[citizen_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1/ca.crl
certificatePolicies = 1.2.643.100.113.1
1.2.643.100.111 = ASN1:UTF8String:КриптоПро CSP (версия 5.0)

[nodigsig_ext]
basicConstraints = CA:false
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1/ca.crl
certificatePolicies = 1.2.643.100.113.1
1.2.643.100.111 = ASN1:UTF8String:КриптоПро CSP (версия 5.0)
EOF

ssl() { openssl "$@" 2>"$work/err" || { cat "$work/err" >&2; return 1; }; }

# key NAME ALG [PARAMSET]: a private key in PEM PKCS#8 as the engine writes it.
key() {
	case "$2" in
	gost2012_256 | gost2012_512) ssl genpkey -engine gost -algorithm "$2" -pkeyopt "paramset:$3" -out "$work/$1.key" ;;
	rsa) ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$1.key" ;;
	ecdsa) ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key" ;;
	esac
}

newca() {
	mkdir -p "$work/$1/new"
	: >"$work/$1/index.txt"
	echo 1000 >"$work/$1/crlnumber"
	openssl rand -hex 16 >"$work/$1/serial"
}

# root-like NAME CN: a self-signed GOST-256 CA.
selfsigned() {
	newca "$1"
	key "$1" gost2012_256 "$3"
	cp "$work/$1.key" "$work/$1/ca.key"
	ssl req -engine gost -new -x509 -utf8 -days 7300 -key "$work/$1.key" -subj "$2" \
		-extensions root_ext -out "$work/$1/ca.pem"
}

# snils DIGITS9: the 11-digit SNILS with its check number.
snils() {
	local d=$1 s=0 i
	for i in 0 1 2 3 4 5 6 7 8; do s=$((s + ${d:i:1} * (9 - i))); done
	if ((s > 101)); then s=$((s % 101)); fi
	if ((s == 100 || s == 101)); then s=0; fi
	printf '%s%02d' "$d" "$s"
}

# inn DIGITS10: a 12-digit personal INN with its two check digits.
inn() {
	local d=$1 w11=(7 2 4 10 3 5 9 4 6 8) w12=(3 7 2 4 10 3 5 9 4 6 8) s=0 i
	for i in "${!w11[@]}"; do s=$((s + ${d:i:1} * w11[i])); done
	d="$d$((s % 11 % 10))"
	s=0
	for i in "${!w12[@]}"; do s=$((s + ${d:i:1} * w12[i])); done
	printf '%s%d' "$d" "$((s % 11 % 10))"
}

# citizen NAME CA EXT ALG PARAMSET SURNAME GIVEN [ca options…]
citizen() {
	local name=$1 ca=$2 ext=$3 alg=$4 ps=$5 sn=$6 gn=$7
	shift 7
	local n
	seq=$((seq + 1))
	n=$(printf '%02d%06d' "$seq" $((seq * 7919 + 100000)))
	key "$name" "$alg" "$ps"
	ssl req -engine gost -new -utf8 -key "$work/$name.key" -out "$work/$name.csr" \
		-subj "/C=RU/L=Москва/SN=$sn/GN=$gn/CN=$sn $gn/SNILS=$(snils "1$n")/INN=$(inn "77$n")"
	ssl ca -engine gost -batch -utf8 -name "$ca" -extensions "$ext" -rand_serial -notext \
		-in "$work/$name.csr" -out "$work/$name.pem" "$@"
}

seq=0
selfsigned root "/C=RU/O=Госид тест/CN=Госид тестовый корневой УЦ" TCA
newca intermediate
key intermediate gost2012_512 A
cp "$work/intermediate.key" "$work/intermediate/ca.key"
ssl req -engine gost -new -utf8 -key "$work/intermediate.key" -out "$work/intermediate.csr" \
	-subj "/C=RU/O=Госид тест/CN=Госид тестовый УЦ 2"
ssl ca -engine gost -batch -utf8 -name root -extensions intermediate_ext -rand_serial -notext \
	-days 5475 -in "$work/intermediate.csr" -out "$work/intermediate/ca.pem"
cp "$work/intermediate/ca.pem" "$work/intermediate.pem"

citizen citizen256 intermediate citizen_ext gost2012_256 A "Иванов" "Иван Иванович" -days 3650
citizen citizen256b intermediate citizen_ext gost2012_256 B "Петров" "Пётр Петрович" -days 3650
citizen citizen512 intermediate citizen_ext gost2012_512 C "Сидорова" "Анна Сергеевна" -days 3650
citizen citizenrsa intermediate citizen_ext rsa - "Смирнов" "Олег Павлович" -days 3650
citizen citizenecdsa intermediate citizen_ext ecdsa - "Кузнецова" "Мария Ильинична" -days 3650
citizen expired intermediate citizen_ext gost2012_256 A "Попов" "Илья Олегович" \
	-startdate 20150101000000Z -enddate 20160101000000Z
citizen revoked intermediate citizen_ext gost2012_256 A "Волков" "Денис Юрьевич" -days 3650
citizen nodigsig intermediate nodigsig_ext gost2012_256 A "Соколов" "Артём Ильич" -days 3650

selfsigned rogue "/C=RU/O=Не аккредитован/CN=Посторонний УЦ" A
cp "$work/rogue/ca.pem" "$work/rogue.pem"
citizen untrusted rogue citizen_ext gost2012_256 A "Лебедев" "Роман Игоревич" -days 3650

# fake: the intermediate's subject and key identifier on another key.
newca fake
key fake gost2012_512 A
cp "$work/fake.key" "$work/fake/ca.key"
ski=$(ssl x509 -in "$work/intermediate.pem" -noout -ext subjectKeyIdentifier | sed -n '2s/[ :]//gp')
cat >>"$OPENSSL_CONF" <<EOF

[fake_ext]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = $ski
EOF
ssl req -engine gost -new -x509 -utf8 -days 5475 -key "$work/fake.key" \
	-subj "/C=RU/O=Госид тест/CN=Госид тестовый УЦ 2" -extensions fake_ext -out "$work/fake/ca.pem"
citizen broken fake citizen_ext gost2012_256 A "Новиков" "Глеб Андреевич" -days 3650

ssl ca -engine gost -name intermediate -revoke "$work/revoked.pem" -crl_reason keyCompromise
ssl ca -engine gost -name intermediate -gencrl -crldays 3650 -out "$work/ca.crl.pem"
ssl ca -engine gost -name root -gencrl -crldays 3650 -out "$work/root.crl.pem"

rm -rf "$out/trust"
mkdir -p "$out/trust"
cp "$work/root/ca.pem" "$out/trust/root.pem"
cp "$work/root/ca.pem" "$out/root.pem"
cp "$work/intermediate.pem" "$work/rogue.pem" "$out/"
cp "$work/fake/ca.pem" "$out/fake.pem"
ssl crl -in "$work/ca.crl.pem" -outform DER -out "$out/ca.crl"
ssl crl -in "$work/root.crl.pem" -outform DER -out "$out/root.crl"
printf 'gosid sign-in challenge 7f3a9c21-5be0-4d2e-9a61-0c8d44e1b2f7\n' >"$out/challenge.txt"

for c in citizen256 citizen256b citizen512 citizenrsa citizenecdsa expired revoked nodigsig untrusted broken; do
	cp "$work/$c.pem" "$work/$c.key" "$out/"
	chain="$work/intermediate.pem"
	case $c in
	untrusted) chain="$work/rogue.pem" ;;
	broken) chain="$work/intermediate.pem" ;;
	esac
	for attrs in "" noattr; do
		suffix=${attrs:+.$attrs}
		ssl cms -sign -engine gost -binary -in "$out/challenge.txt" -signer "$work/$c.pem" \
			-inkey "$work/$c.key" -certfile "$chain" ${attrs:+-noattr} -outform DER -out "$out/$c$suffix.cms.der"
		ssl cms -cmsout -inform DER -in "$out/$c$suffix.cms.der" -outform PEM -out "$out/$c$suffix.cms.pem"
	done
done
ssl cms -sign -engine gost -binary -nodetach -in "$out/challenge.txt" -signer "$work/citizen256.pem" \
	-inkey "$work/citizen256.key" -certfile "$work/intermediate.pem" -outform DER -out "$out/citizen256.attached.cms.der"

for c in citizenrsa citizenecdsa citizen256; do
	ssl pkcs12 -export -engine gost -inkey "$work/$c.key" -in "$work/$c.pem" -certfile "$work/intermediate.pem" \
		-name "$c" -passout pass:test -out "$out/$c.p12"
done
# The older PKCS #12 scheme (3DES, SHA-1 MAC) and an encrypted PKCS #8 key.
ssl pkcs12 -export -engine gost -inkey "$work/citizenecdsa.key" -in "$work/citizenecdsa.pem" \
	-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -passout pass:test -out "$out/citizenecdsa.legacy.p12"
ssl pkcs8 -engine gost -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -in "$work/citizen512.key" \
	-passout pass:test -out "$out/citizen512.enc.key"

# Self-check: OpenSSL itself accepts the good signatures and refuses the
# revoked one when asked to check CRLs.
for c in citizen256 citizen256b citizen512 citizenrsa citizenecdsa; do
	ssl cms -verify -engine gost -binary -inform DER -in "$out/$c.cms.der" -content "$out/challenge.txt" \
		-CAfile "$out/root.pem" -purpose any -out /dev/null
done
echo "fixtures written to $out" >&2
