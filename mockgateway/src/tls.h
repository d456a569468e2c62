/* TLS server side with BearSSL: certificate/key loading and per-connection
 * engines. The engine is driven by conn.c; nothing here touches sockets. */
#ifndef MG_TLS_H
#define MG_TLS_H

#include <bearssl.h>
#include <stddef.h>

typedef struct mg_tls_config {
    br_x509_certificate *chain;
    size_t chain_len;
    int key_type;              /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    unsigned issuer_key_type;  /* signer of the leaf certificate */
    br_skey_decoder_context key; /* owns the decoded key material */
} mg_tls_config;

/* Loads a PEM certificate chain (leaf first) and a PEM private key (RSA or
 * EC, PKCS#1/SEC1/PKCS#8). Returns 0, or -1 with a message in err. */
int mg_tls_config_load(mg_tls_config *cfg, const char *cert_file, const char *key_file, char *err,
                       size_t errlen);
void mg_tls_config_free(mg_tls_config *cfg);

typedef struct mg_tls_conn {
    br_ssl_server_context sc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} mg_tls_conn;

/* A fresh server engine for one connection (malloc'ed), or NULL. */
mg_tls_conn *mg_tls_conn_new(const mg_tls_config *cfg);
void mg_tls_conn_free(mg_tls_conn *t);

#endif
