/*
 * trust.c - trust anchors from PEM, the host check for IP literals, and
 * BearSSL error names. See trust.h.
 */
#include "trust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable byte buffer; BearSSL's decoders hand out bytes by callback. */
typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} bytes;

static void bytes_append(void *ctx, const void *data, size_t len)
{
    bytes *b = ctx;
    if (b->oom)
        return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t len)
{
    unsigned char *q = malloc(len ? len : 1);
    if (q != NULL && len > 0)
        memcpy(q, p, len);
    return q;
}

static void anchor_free(br_x509_trust_anchor *ta)
{
    free(ta->dn.data);
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
        free(ta->pkey.key.rsa.n);
        free(ta->pkey.key.rsa.e);
    } else if (ta->pkey.key_type == BR_KEYTYPE_EC) {
        free(ta->pkey.key.ec.q);
    }
}

/* One DER certificate -> one anchor: its subject DN, its public key, and
 * the CA flag (a non-CA anchor is only trusted for that exact server
 * certificate, "direct trust"). */
static bool anchor_from_der(br_x509_trust_anchor *ta, const unsigned char *der,
                            size_t len)
{
    br_x509_decoder_context dc;
    bytes dn = {0};

    br_x509_decoder_init(&dc, bytes_append, &dn);
    br_x509_decoder_push(&dc, der, len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL || dn.oom) {
        free(dn.p);
        return false;
    }
    memset(ta, 0, sizeof *ta);
    ta->dn.data = dn.p;
    ta->dn.len = dn.len;
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta->pkey.key_type = pk->key_type;
    switch (pk->key_type) {
    case BR_KEYTYPE_RSA:
        ta->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
        if (ta->pkey.key.rsa.n && ta->pkey.key.rsa.e)
            return true;
        break;
    case BR_KEYTYPE_EC:
        ta->pkey.key.ec.curve = pk->key.ec.curve;
        ta->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.qlen = pk->key.ec.qlen;
        if (ta->pkey.key.ec.q)
            return true;
        break;
    default:
        break;
    }
    anchor_free(ta);
    return false;
}

bool trust_store_load(trust_store *ts, const char *path, char *err,
                      size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open CA file %s: %s", path, strerror(errno));
        return false;
    }

    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    bytes der = {0};
    bool in_cert = false, ok = true;
    size_t capacity = 0;
    unsigned char buf[4096];
    size_t n;
    bool at_eof = false;

    while (ok && !at_eof) {
        n = fread(buf, 1, sizeof buf, f);
        if (n == 0) {
            /* BearSSL's PEM decoder needs a final newline to see the end
             * of the last line; a file may lack one. */
            at_eof = true;
            buf[0] = '\n';
            n = 1;
        }
        const unsigned char *p = buf;
        while (n > 0) {
            size_t used = br_pem_decoder_push(&pc, p, n);
            p += used;
            n -= used;
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                in_cert = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0
                    || strcmp(br_pem_decoder_name(&pc), "X509 CERTIFICATE") == 0;
                der.len = 0;
                br_pem_decoder_setdest(&pc, bytes_append, &der);
                break;
            case BR_PEM_END_OBJ:
                if (in_cert && !der.oom) {
                    if (ts->count == capacity) {
                        size_t cap = capacity ? capacity * 2 : 64;
                        void *a = realloc(ts->anchors, cap * sizeof *ts->anchors);
                        if (a == NULL) {
                            ok = false;
                            break;
                        }
                        ts->anchors = a;
                        capacity = cap;
                    }
                    /* Certificates with keys BearSSL cannot use are
                     * skipped, as other TLS stacks do. */
                    if (anchor_from_der(&ts->anchors[ts->count], der.p, der.len))
                        ts->count++;
                }
                in_cert = false;
                break;
            case BR_PEM_ERROR:
                snprintf(err, errlen, "%s: malformed PEM", path);
                ok = false;
                n = 0;
                break;
            default:
                break;
            }
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read CA file %s", path);
        ok = false;
    }
    fclose(f);
    if (der.oom) {
        snprintf(err, errlen, "out of memory reading %s", path);
        ok = false;
    }
    free(der.p);
    if (ok && ts->count == 0) {
        snprintf(err, errlen, "%s holds no usable certificate", path);
        ok = false;
    }
    if (!ok)
        trust_store_free(ts);
    return ok;
}

void trust_store_free(trust_store *ts)
{
    for (size_t i = 0; i < ts->count; i++)
        anchor_free(&ts->anchors[i]);
    free(ts->anchors);
    ts->anchors = NULL;
    ts->count = 0;
}

bool host_is_ip_literal(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* ---- The IP-literal host check ------------------------------------------
 * A tiny DER walker: just enough to reach tbsCertificate.extensions and the
 * subjectAltName's iPAddress ([7] OCTET STRING) entries. */

static bool der_next(const unsigned char **p, const unsigned char *end,
                     unsigned *tag, const unsigned char **val, size_t *len)
{
    const unsigned char *q = *p;
    if (end - q < 2)
        return false;
    *tag = *q++;
    size_t l = *q++;
    if (l & 0x80) {
        unsigned nb = l & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
            return false;
        for (l = 0; nb > 0; nb--)
            l = (l << 8) | *q++;
    }
    if ((size_t)(end - q) < l)
        return false;
    *val = q;
    *len = l;
    *p = q + l;
    return true;
}

static bool cert_has_ip_san(const unsigned char *der, size_t der_len,
                            const unsigned char *ip, size_t ip_len)
{
    static const unsigned char san_oid[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */
    const unsigned char *p = der, *end = der + der_len, *v;
    unsigned tag;
    size_t len;

    if (!der_next(&p, end, &tag, &v, &len) || tag != 0x30) /* Certificate */
        return false;
    p = v;
    end = v + len;
    if (!der_next(&p, end, &tag, &v, &len) || tag != 0x30) /* tbsCertificate */
        return false;
    p = v;
    end = v + len;
    while (der_next(&p, end, &tag, &v, &len)) {
        if (tag != 0xa3) /* [3] extensions */
            continue;
        const unsigned char *e = v, *eend = v + len;
        if (!der_next(&e, eend, &tag, &v, &len) || tag != 0x30)
            return false;
        e = v;
        eend = v + len;
        while (der_next(&e, eend, &tag, &v, &len)) { /* one Extension */
            const unsigned char *x = v, *xend = v + len, *xv;
            size_t xl;
            if (!der_next(&x, xend, &tag, &xv, &xl) || tag != 0x06)
                return false;
            if (xl != sizeof san_oid || memcmp(xv, san_oid, xl) != 0)
                continue;
            if (!der_next(&x, xend, &tag, &xv, &xl))
                return false;
            if (tag == 0x01 && !der_next(&x, xend, &tag, &xv, &xl)) /* critical */
                return false;
            if (tag != 0x04) /* extnValue OCTET STRING */
                return false;
            const unsigned char *g = xv, *gend = xv + xl;
            if (!der_next(&g, gend, &tag, &xv, &xl) || tag != 0x30)
                return false;
            g = xv;
            gend = xv + xl;
            while (der_next(&g, gend, &tag, &xv, &xl))
                if (tag == 0x87 && xl == ip_len && memcmp(xv, ip, ip_len) == 0)
                    return true;
            return false;
        }
        return false;
    }
    return false;
}

#define MINIMAL(ctx) (&((host_checking_x509 *)(void *)(ctx))->minimal.vtable)
#define SELF(ctx) ((host_checking_x509 *)(void *)(ctx))

static void hc_start_chain(const br_x509_class **ctx, const char *server_name)
{
    host_checking_x509 *hc = SELF(ctx);
    hc->cert_index = 0;
    hc->ee_len = 0;
    /* For an IP literal the name check is ours (in end_chain). */
    hc->minimal.vtable->start_chain(MINIMAL(ctx), hc->ip_len ? NULL : server_name);
}

static void hc_start_cert(const br_x509_class **ctx, uint32_t length)
{
    SELF(ctx)->minimal.vtable->start_cert(MINIMAL(ctx), length);
}

static void hc_append(const br_x509_class **ctx, const unsigned char *buf,
                      size_t len)
{
    host_checking_x509 *hc = SELF(ctx);
    hc->minimal.vtable->append(MINIMAL(ctx), buf, len);
    if (hc->ip_len == 0 || hc->cert_index != 0)
        return;
    /* Keep the end-entity certificate (the first one) for the SAN check;
     * 64 KiB is far more than any real certificate. */
    if (hc->ee_len + len > hc->ee_cap) {
        size_t cap = hc->ee_cap ? hc->ee_cap : 4096;
        while (cap < hc->ee_len + len)
            cap *= 2;
        unsigned char *p = cap <= 65536 ? realloc(hc->ee, cap) : NULL;
        if (p == NULL) {
            hc->ee_len = SIZE_MAX; /* marks "too big": the check fails */
            return;
        }
        hc->ee = p;
        hc->ee_cap = cap;
    }
    if (hc->ee_len != SIZE_MAX) {
        memcpy(hc->ee + hc->ee_len, buf, len);
        hc->ee_len += len;
    }
}

static void hc_end_cert(const br_x509_class **ctx)
{
    SELF(ctx)->minimal.vtable->end_cert(MINIMAL(ctx));
    SELF(ctx)->cert_index++;
}

static unsigned hc_end_chain(const br_x509_class **ctx)
{
    host_checking_x509 *hc = SELF(ctx);
    unsigned r = hc->minimal.vtable->end_chain(MINIMAL(ctx));
    /* end_chain returns 0 on success (not BR_ERR_X509_OK). */
    if (r == 0 && hc->ip_len != 0
        && (hc->ee_len == SIZE_MAX
            || !cert_has_ip_san(hc->ee, hc->ee_len, hc->ip, hc->ip_len)))
        r = BR_ERR_X509_BAD_SERVER_NAME;
    return r;
}

static const br_x509_pkey *hc_get_pkey(const br_x509_class *const *ctx,
                                       unsigned *usages)
{
    const host_checking_x509 *hc = (const host_checking_x509 *)(const void *)ctx;
    /* get_pkey must fail when the chain did not validate; minimal does
     * that for its part, and for ours we never reach here: the engine
     * stops on end_chain's error. */
    return hc->minimal.vtable->get_pkey(&hc->minimal.vtable, usages);
}

static const br_x509_class host_checking_vtable = {
    sizeof(host_checking_x509), hc_start_chain, hc_start_cert, hc_append,
    hc_end_cert, hc_end_chain, hc_get_pkey,
};

void tls_client_setup(br_ssl_client_context *sc, host_checking_x509 *xc,
                      const trust_store *ts, const char *host,
                      unsigned char *iobuf, size_t iobuf_len)
{
    memset(xc, 0, sizeof *xc);
    if (inet_pton(AF_INET, host, xc->ip) == 1)
        xc->ip_len = 4;
    else if (inet_pton(AF_INET6, host, xc->ip) == 1)
        xc->ip_len = 16;

    /* "full": every cipher suite and algorithm BearSSL has, with the
     * minimal X.509 engine loaded with our anchors. */
    br_ssl_client_init_full(sc, &xc->minimal, ts->anchors, ts->count);
    xc->vtable = &host_checking_vtable;
    br_ssl_engine_set_x509(&sc->eng, &xc->vtable);
    br_ssl_engine_set_buffer(&sc->eng, iobuf, iobuf_len, 1);
    /* The name given here is sent as SNI and handed to start_chain for
     * the certificate name check. No session resumption (0). */
    br_ssl_client_reset(sc, xc->ip_len ? NULL : host, 0);
}

void tls_client_cleanup(host_checking_x509 *xc)
{
    free(xc->ee);
    xc->ee = NULL;
    xc->ee_cap = xc->ee_len = 0;
}

/* ---- Error names ------------------------------------------------------ */

static const struct {
    int code;
    const char *name;
    const char *text;
} br_errors[] = {
#define E(name, text) {name, #name, text}
    E(BR_ERR_OK, "no error"),
    E(BR_ERR_BAD_PARAM, "bad parameter"),
    E(BR_ERR_BAD_STATE, "bad state"),
    E(BR_ERR_UNSUPPORTED_VERSION, "unsupported TLS version"),
    E(BR_ERR_BAD_VERSION, "wrong TLS version in a record"),
    E(BR_ERR_BAD_LENGTH, "bad record length"),
    E(BR_ERR_TOO_LARGE, "record too large"),
    E(BR_ERR_BAD_MAC, "bad record MAC"),
    E(BR_ERR_NO_RANDOM, "no random source"),
    E(BR_ERR_UNKNOWN_TYPE, "unknown record type"),
    E(BR_ERR_UNEXPECTED, "unexpected message"),
    E(BR_ERR_BAD_CCS, "bad ChangeCipherSpec"),
    E(BR_ERR_BAD_ALERT, "bad alert"),
    E(BR_ERR_BAD_HANDSHAKE, "bad handshake message"),
    E(BR_ERR_OVERSIZED_ID, "oversized session ID"),
    E(BR_ERR_BAD_CIPHER_SUITE, "server chose an unsupported cipher suite"),
    E(BR_ERR_BAD_COMPRESSION, "server chose an unsupported compression"),
    E(BR_ERR_BAD_FRAGLEN, "bad maximum fragment length"),
    E(BR_ERR_BAD_SECRENEG, "secure renegotiation failure"),
    E(BR_ERR_EXTRA_EXTENSION, "unexpected extension"),
    E(BR_ERR_BAD_SNI, "bad SNI"),
    E(BR_ERR_BAD_HELLO_DONE, "bad ServerHelloDone"),
    E(BR_ERR_LIMIT_EXCEEDED, "limit exceeded"),
    E(BR_ERR_BAD_FINISHED, "bad Finished"),
    E(BR_ERR_RESUME_MISMATCH, "session resumption mismatch"),
    E(BR_ERR_INVALID_ALGORITHM, "unsupported algorithm"),
    E(BR_ERR_BAD_SIGNATURE, "bad signature"),
    E(BR_ERR_WRONG_KEY_USAGE, "key usage forbids this use"),
    E(BR_ERR_NO_CLIENT_AUTH, "no client certificate"),
    E(BR_ERR_IO, "I/O error"),
    E(BR_ERR_X509_INVALID_VALUE, "invalid value in a certificate"),
    E(BR_ERR_X509_TRUNCATED, "truncated certificate"),
    E(BR_ERR_X509_EMPTY_CHAIN, "the server sent no certificate"),
    E(BR_ERR_X509_INNER_TRUNC, "truncated certificate element"),
    E(BR_ERR_X509_BAD_TAG_CLASS, "bad ASN.1 tag class"),
    E(BR_ERR_X509_BAD_TAG_VALUE, "bad ASN.1 tag value"),
    E(BR_ERR_X509_INDEFINITE_LENGTH, "indefinite length"),
    E(BR_ERR_X509_EXTRA_ELEMENT, "extra element"),
    E(BR_ERR_X509_UNEXPECTED, "unexpected element"),
    E(BR_ERR_X509_NOT_CONSTRUCTED, "expected a constructed element"),
    E(BR_ERR_X509_NOT_PRIMITIVE, "expected a primitive element"),
    E(BR_ERR_X509_PARTIAL_BYTE, "partial byte in BIT STRING"),
    E(BR_ERR_X509_BAD_BOOLEAN, "bad BOOLEAN"),
    E(BR_ERR_X509_OVERFLOW, "value overflow"),
    E(BR_ERR_X509_BAD_DN, "bad distinguished name"),
    E(BR_ERR_X509_BAD_TIME, "bad time"),
    E(BR_ERR_X509_UNSUPPORTED, "unsupported certificate feature"),
    E(BR_ERR_X509_LIMIT_EXCEEDED, "certificate limit exceeded"),
    E(BR_ERR_X509_WRONG_KEY_TYPE, "wrong key type"),
    E(BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature"),
    E(BR_ERR_X509_TIME_UNKNOWN, "current time unknown"),
    E(BR_ERR_X509_EXPIRED, "certificate expired or not yet valid"),
    E(BR_ERR_X509_DN_MISMATCH, "issuer/subject name mismatch in the chain"),
    E(BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match the host name"),
    E(BR_ERR_X509_CRITICAL_EXTENSION, "unsupported critical extension"),
    E(BR_ERR_X509_NOT_CA, "an issuing certificate is not a CA"),
    E(BR_ERR_X509_FORBIDDEN_KEY_USAGE, "key usage forbids server authentication"),
    E(BR_ERR_X509_WEAK_PUBLIC_KEY, "public key too weak"),
    E(BR_ERR_X509_NOT_TRUSTED, "certificate chain not signed by a trusted CA"),
#undef E
};

static int find_error(int err)
{
    for (size_t i = 0; i < sizeof br_errors / sizeof br_errors[0]; i++)
        if (br_errors[i].code == err)
            return (int)i;
    return -1;
}

const char *br_error_name(int err)
{
    if (err >= BR_ERR_SEND_FATAL_ALERT)
        return "BR_ERR_SEND_FATAL_ALERT";
    if (err >= BR_ERR_RECV_FATAL_ALERT)
        return "BR_ERR_RECV_FATAL_ALERT";
    int i = find_error(err);
    return i < 0 ? "BR_ERR_UNKNOWN" : br_errors[i].name;
}

const char *br_error_text(int err)
{
    if (err >= BR_ERR_SEND_FATAL_ALERT)
        return "we sent a fatal alert";
    if (err >= BR_ERR_RECV_FATAL_ALERT)
        return "the server sent a fatal alert";
    int i = find_error(err);
    return i < 0 ? "unknown error" : br_errors[i].text;
}

bool br_error_is_x509(int err)
{
    return err > BR_ERR_X509_OK && err < BR_ERR_RECV_FATAL_ALERT;
}
