#!/bin/bash
# Throwaway TLS material for the fake kube-apiserver (tests/fakes/).
#
#   make-certs.sh OUTDIR
#
# Writes into OUTDIR:
#   ca.crt ca.key              the CA that tests trust
#   server.crt server.key      signed by ca, SAN IP:127.0.0.1, DNS:localhost
#   rogue-ca.crt rogue-ca.key  an unrelated CA
#   rogue-server.crt rogue-server.key
#                              same SAN, signed by the rogue CA, so a test can
#                              prove that a client refuses a server whose
#                              certificate chains to another CA
#
# EC P-256 keys because they take milliseconds, where RSA-2048 takes a good
# fraction of a second each.  Idempotent: if every file is already there the
# script does nothing, and each file is written to X.tmp and renamed, so an
# interrupted run never leaves a half-written key that a later run would
# mistake for a good one.
set -euo pipefail

die() { echo "make-certs.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: make-certs.sh OUTDIR"
out=$1
mkdir -p "$out"

files=(ca.crt ca.key server.crt server.key
       rogue-ca.crt rogue-ca.key rogue-server.crt rogue-server.key)
all_there=1
for f in "${files[@]}"; do
    [ -s "$out/$f" ] || all_there=0
done
[ "$all_there" = 1 ] && exit 0

tmp=$(mktemp -d "$out/.make-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# genkey NAME: a P-256 private key in PKCS#8, which both OpenSSL and
# python's ssl module load without a passphrase prompt.
genkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$tmp/$1.key" 2>/dev/null
}

# mkca NAME SUBJECT
mkca() {
    genkey "$1"
    openssl req -x509 -new -key "$tmp/$1.key" -sha256 -days 3650 \
        -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$tmp/$1.crt"
}

# mkserver NAME CA
mkserver() {
    genkey "$1"
    openssl req -new -key "$tmp/$1.key" -subj "/CN=localhost" \
        -out "$tmp/$1.csr"
    # The serial is random so that two runs never mint two different
    # certificates with the same issuer and serial.
    openssl x509 -req -in "$tmp/$1.csr" -sha256 -days 3650 \
        -CA "$tmp/$2.crt" -CAkey "$tmp/$2.key" -set_serial "0x$(openssl rand -hex 16)" \
        -extfile <(printf '%s\n' \
            "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost") \
        -out "$tmp/$1.crt" 2>/dev/null
}

mkca ca "/CN=v2v-kubevirt fake cluster CA"
mkserver server ca
mkca rogue-ca "/CN=v2v-kubevirt rogue CA"
mkserver rogue-server rogue-ca

# Keys stay private even in a temporary directory on a shared machine.
chmod 600 "$tmp"/*.key
for f in "${files[@]}"; do
    mv -f "$tmp/$f" "$out/$f.tmp"
    mv -f "$out/$f.tmp" "$out/$f"
done
