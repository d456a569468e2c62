#!/bin/sh
# Makes throwaway test certificates for the mock gateway and the example
# client's TLS tests. Usage: make-test-certs.sh OUTDIR
#   ca.pem                      test CA
#   server.pem, server.key      CN/SAN localhost + IP 127.0.0.1, signed by ca
#   expired.pem, expired.key    same names, validity entirely in the past
#   wronghost.pem, wronghost.key  SAN other.invalid only
#   other-ca.pem                an unrelated CA (must not validate server.pem)
# Keys are EC P-256. Nothing here is secret; never commit the output.
set -eu
out=${1:?usage: make-test-certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

make_ca() { # name subject
    key "$tmp/$1.key"
    openssl req -x509 -new -key "$tmp/$1.key" -sha256 -days 3650 -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.pem" 2>/dev/null
}

make_leaf() { # name san extra-x509-args...
    name=$1; san=$2; shift 2
    key "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=localhost" -out "$tmp/$name.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$tmp/$name.ext"
    openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial \
        -sha256 -extfile "$tmp/$name.ext" -out "$name.pem" "$@" 2>/dev/null
}

make_ca ca "/CN=mockgateway test CA"
make_ca other-ca "/CN=mockgateway unrelated CA"
make_leaf server "DNS:localhost,IP:127.0.0.1" -days 825
# An expired certificate. OpenSSL 3.4+ can set a window in the past; older
# versions (Debian 12 has 3.0) accept negative -days, which makes notAfter
# one day before notBefore (now): expired for any verifier either way.
if openssl x509 -help 2>&1 | grep -q -- '-not_after'; then
    make_leaf expired "DNS:localhost,IP:127.0.0.1" -not_before 20200101000000Z -not_after 20200201000000Z
else
    make_leaf expired "DNS:localhost,IP:127.0.0.1" -days -1
fi
make_leaf wronghost "DNS:other.invalid" -days 825
rm -f ca.srl
chmod 600 ./*.key
echo "$out: ca.pem server.pem server.key expired.pem expired.key wronghost.pem wronghost.key other-ca.pem"
