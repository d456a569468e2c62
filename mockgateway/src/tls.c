#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct pem_object {
    char name[128];
    mg_buf der;
} pem_object;

static void pem_append(void *ctx, const void *data, size_t len)
{
    mg_buf_append(ctx, data, len);
}

static int read_file(const char *path, mg_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char tmp[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (mg_buf_append(out, tmp, n) != 0)
            rc = -1;
    if (ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

/* Decodes every PEM object in data; returns the count or -1. */
static int pem_decode_all(const uint8_t *data, size_t len, pem_object *objs, int max)
{
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    int n = 0, inside = 0;
    size_t off = 0;
    while (off < len) {
        size_t used = br_pem_decoder_push(&pc, data + off, len - off);
        off += used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (n == max)
                return -1;
            snprintf(objs[n].name, sizeof objs[n].name, "%s", br_pem_decoder_name(&pc));
            memset(&objs[n].der, 0, sizeof objs[n].der);
            br_pem_decoder_setdest(&pc, pem_append, &objs[n].der);
            inside = 1;
            break;
        case BR_PEM_END_OBJ:
            if (inside)
                n++;
            inside = 0;
            break;
        case BR_PEM_ERROR:
            return -1;
        default:
            if (used == 0)
                off = len;
        }
    }
    return n;
}

int mg_tls_config_load(mg_tls_config *cfg, const char *cert_file, const char *key_file, char *err,
                       size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    mg_buf raw = {0};
    pem_object objs[8];
    int n = -1;
    if (read_file(cert_file, &raw) != 0) {
        snprintf(err, errlen, "cannot read certificate file %s", cert_file);
        goto fail;
    }
    n = pem_decode_all(raw.data, raw.len, objs, 8);
    mg_buf_free(&raw);
    if (n <= 0) {
        snprintf(err, errlen, "%s: no PEM certificate found", cert_file);
        goto fail;
    }
    cfg->chain = calloc((size_t)n, sizeof *cfg->chain);
    if (!cfg->chain)
        goto fail;
    for (int i = 0; i < n; i++) {
        if (strcmp(objs[i].name, "CERTIFICATE") != 0 && strcmp(objs[i].name, "X509 CERTIFICATE") != 0)
            continue;
        cfg->chain[cfg->chain_len].data = objs[i].der.data; /* ownership moves */
        cfg->chain[cfg->chain_len].data_len = objs[i].der.len;
        objs[i].der.data = NULL;
        cfg->chain_len++;
    }
    for (int i = 0; i < n; i++)
        mg_buf_free(&objs[i].der);
    n = -1;
    if (cfg->chain_len == 0) {
        snprintf(err, errlen, "%s: no CERTIFICATE object", cert_file);
        goto fail;
    }
    br_x509_decoder_context xd;
    br_x509_decoder_init(&xd, NULL, NULL);
    br_x509_decoder_push(&xd, cfg->chain[0].data, cfg->chain[0].data_len);
    if (br_x509_decoder_last_error(&xd) != 0) {
        snprintf(err, errlen, "%s: cannot decode the leaf certificate", cert_file);
        goto fail;
    }
    cfg->issuer_key_type = (unsigned)br_x509_decoder_get_signer_key_type(&xd);

    if (read_file(key_file, &raw) != 0) {
        snprintf(err, errlen, "cannot read key file %s", key_file);
        goto fail;
    }
    n = pem_decode_all(raw.data, raw.len, objs, 8);
    mg_buf_free(&raw);
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        if (strstr(objs[i].name, "PRIVATE KEY") == NULL)
            continue;
        br_skey_decoder_init(&cfg->key);
        br_skey_decoder_push(&cfg->key, objs[i].der.data, objs[i].der.len);
        if (br_skey_decoder_last_error(&cfg->key) == 0)
            found = 1;
    }
    for (int i = 0; i < n; i++) {
        mg_buf_free(&objs[i].der);
    }
    n = -1;
    if (!found) {
        snprintf(err, errlen, "%s: no usable RSA or EC private key", key_file);
        goto fail;
    }
    cfg->key_type = br_skey_decoder_key_type(&cfg->key);
    return 0;
fail:
    for (int i = 0; i < n; i++)
        mg_buf_free(&objs[i].der);
    mg_tls_config_free(cfg);
    return -1;
}

void mg_tls_config_free(mg_tls_config *cfg)
{
    for (size_t i = 0; i < cfg->chain_len; i++)
        free(cfg->chain[i].data);
    free(cfg->chain);
    cfg->chain = NULL;
    cfg->chain_len = 0;
}

mg_tls_conn *mg_tls_conn_new(const mg_tls_config *cfg)
{
    mg_tls_conn *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    if (cfg->key_type == BR_KEYTYPE_RSA)
        br_ssl_server_init_full_rsa(&t->sc, cfg->chain, cfg->chain_len,
                                    br_skey_decoder_get_rsa(&cfg->key));
    else
        br_ssl_server_init_full_ec(&t->sc, cfg->chain, cfg->chain_len, cfg->issuer_key_type,
                                   br_skey_decoder_get_ec(&cfg->key));
    br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof t->iobuf, 1);
    if (!br_ssl_server_reset(&t->sc)) {
        free(t);
        return NULL;
    }
    return t;
}

void mg_tls_conn_free(mg_tls_conn *t) { free(t); }
