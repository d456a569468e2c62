/*
 * trust.h - certificate checking for the example client, with BearSSL.
 *
 * Trust anchors are loaded at run time from a PEM bundle (the system one,
 * or --cafile); nothing is hard-coded. BearSSL's "minimal" X.509 engine
 * checks the chain, the validity dates and the host name; the wrapper
 * here adds the one check it lacks: a host given as an IP literal
 * (wss://127.0.0.1:8443) is matched against the certificate's iPAddress
 * subjectAltName entries, since br_x509_minimal only knows dNSName.
 */
#ifndef EXAMPLE_TRUST_H
#define EXAMPLE_TRUST_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

typedef struct trust_store {
    br_x509_trust_anchor *anchors;
    size_t count;
} trust_store;

/* Loads every CERTIFICATE object of a PEM file as a trust anchor (RSA and
 * EC keys). Returns false and writes a reason to err when the file cannot
 * be read or holds no usable certificate. */
bool trust_store_load(trust_store *ts, const char *path, char *err,
                      size_t errlen);
void trust_store_free(trust_store *ts);

/* An X.509 engine: br_x509_minimal plus an iPAddress SAN check for hosts
 * that are IP literals. Install with br_ssl_engine_set_x509(). */
typedef struct host_checking_x509 {
    const br_x509_class *vtable;     /* must come first */
    br_x509_minimal_context minimal; /* does the real work */
    unsigned char ip[16];            /* the host as an address, if it is one */
    size_t ip_len;                   /* 0: host is a DNS name */
    unsigned char *ee;               /* DER of the server's own certificate */
    size_t ee_len, ee_cap;
    int cert_index;
} host_checking_x509;

/* Sets up sc for a client connection to host with the anchors of ts:
 * full cipher suite list, certificate checks, and SNI (names only; RFC
 * 6066 forbids IP literals in SNI). */
void tls_client_setup(br_ssl_client_context *sc, host_checking_x509 *xc,
                      const trust_store *ts, const char *host,
                      unsigned char *iobuf, size_t iobuf_len);
void tls_client_cleanup(host_checking_x509 *xc);

/* True when host is an IPv4 or IPv6 literal. */
bool host_is_ip_literal(const char *host);

/* "BR_ERR_X509_EXPIRED" and friends; "BR_ERR_UNKNOWN" for codes not in the
 * table. Fatal alerts come back as "BR_ERR_RECV_FATAL_ALERT". */
const char *br_error_name(int err);
/* A few words about the error, for people. */
const char *br_error_text(int err);
/* True for certificate errors (BR_ERR_X509_*): these are never retried. */
bool br_error_is_x509(int err);

#endif
