#include "http.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static mg_slice trim(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (mg_slice){p, n};
}

/* Finds the end of the head ("\r\n\r\n"; bare "\n\n" is tolerated). */
static size_t find_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

mg_http_status mg_http_parse_request(const char *buf, size_t len, mg_http_request *req)
{
    memset(req, 0, sizeof *req);
    size_t scan = len < MG_HTTP_MAX_REQUEST ? len : MG_HTTP_MAX_REQUEST;
    size_t end = find_head_end(buf, scan);
    if (end == 0) {
        /* Reject garbage early instead of waiting for 8 KiB of it. */
        for (size_t i = 0; i < scan; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c == '\n' || c == '\r')
                break;
            if (c < 0x20 && c != '\t')
                return MG_HTTP_BAD;
            if (c >= 0x7f)
                return MG_HTTP_BAD;
        }
        return len >= MG_HTTP_MAX_REQUEST ? MG_HTTP_TOO_LARGE : MG_HTTP_INCOMPLETE;
    }
    req->header_bytes = end;

    /* Request line: METHOD SP TARGET SP HTTP/1.x CRLF */
    const char *p = buf, *lim = buf + end;
    const char *eol = memchr(p, '\n', (size_t)(lim - p));
    if (!eol)
        return MG_HTTP_BAD;
    const char *le = eol;
    if (le > p && le[-1] == '\r')
        le--;
    const char *sp1 = memchr(p, ' ', (size_t)(le - p));
    if (!sp1 || sp1 == p)
        return MG_HTTP_BAD;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return MG_HTTP_BAD;
    req->method = (mg_slice){p, (size_t)(sp1 - p)};
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(le - t));
    if (!sp2 || sp2 == t)
        return MG_HTTP_BAD;
    for (const char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return MG_HTTP_BAD;
    req->target = (mg_slice){t, (size_t)(sp2 - t)};
    const char *qm = memchr(t, '?', (size_t)(sp2 - t));
    if (qm) {
        req->path = (mg_slice){t, (size_t)(qm - t)};
        req->query = (mg_slice){qm + 1, (size_t)(sp2 - qm - 1)};
    } else {
        req->path = req->target;
        req->query = (mg_slice){sp2, 0};
    }
    const char *ver = sp2 + 1;
    if ((size_t)(le - ver) != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || ver[7] < '0' || ver[7] > '9')
        return MG_HTTP_BAD;
    req->minor_version = ver[7] - '0';

    p = eol + 1;
    while (p < lim) {
        eol = memchr(p, '\n', (size_t)(lim - p));
        if (!eol)
            return MG_HTTP_BAD;
        le = eol;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p) /* the blank line */
            break;
        if (*p == ' ' || *p == '\t')
            return MG_HTTP_BAD; /* obsolete line folding: refuse, as RFC 7230 allows */
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p)
            return MG_HTTP_BAD;
        for (const char *q = p; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                return MG_HTTP_BAD;
        for (const char *q = colon + 1; q < le; q++) {
            unsigned char c = (unsigned char)*q;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return MG_HTTP_BAD;
        }
        if (req->nheaders == MG_HTTP_MAX_HEADERS)
            return MG_HTTP_TOO_LARGE;
        mg_http_header *h = &req->headers[req->nheaders++];
        h->name = (mg_slice){p, (size_t)(colon - p)};
        h->value = trim(colon + 1, (size_t)(le - colon - 1));
        p = eol + 1;
    }
    return MG_HTTP_OK;
}

const mg_slice *mg_http_header_get(const mg_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (mg_strieq_n(req->headers[i].name.p, req->headers[i].name.n, name))
            return &req->headers[i].value;
    return NULL;
}

int mg_http_header_has_token(const mg_http_request *req, const char *name, const char *token)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!mg_strieq_n(req->headers[i].name.p, req->headers[i].name.n, name))
            continue;
        const char *p = req->headers[i].value.p, *end = p + req->headers[i].value.n;
        while (p < end) {
            const char *c = memchr(p, ',', (size_t)(end - p));
            if (!c)
                c = end;
            mg_slice tok = trim(p, (size_t)(c - p));
            if (mg_strieq_n(tok.p, tok.n, token))
                return 1;
            p = c + 1;
        }
    }
    return 0;
}

int mg_query_get(mg_slice query, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    const char *p = query.p, *end = query.p + query.n;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *kend = eq ? eq : amp;
        if ((size_t)(kend - p) == kl && memcmp(p, key, kl) == 0) {
            const char *v = eq ? eq + 1 : amp;
            size_t vn = (size_t)(amp - v);
            if (outlen > 0) {
                if (vn > outlen - 1)
                    vn = outlen - 1;
                memcpy(out, v, vn);
                out[vn] = '\0';
            }
            return 1;
        }
        p = amp + 1;
    }
    return 0;
}

int mg_http_is_upgrade(const mg_http_request *req)
{
    return mg_http_header_has_token(req, "Upgrade", "websocket");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t mg_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

long mg_base64_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    if (n % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -1;
                v[k] = b64val(in[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        unsigned char bytes[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w};
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= outlen)
                return -1;
            out[o++] = bytes[k];
        }
    }
    return (long)o;
}

void mg_ws_accept_key(const char *key, size_t keylen, char out[32])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    br_sha1_context sc;
    unsigned char hash[br_sha1_SIZE];
    br_sha1_init(&sc);
    br_sha1_update(&sc, key, keylen);
    br_sha1_update(&sc, guid, sizeof guid - 1);
    br_sha1_out(&sc, hash);
    mg_base64_encode(hash, sizeof hash, out);
}

int mg_http_check_upgrade(const mg_http_request *req, int zstd_available,
                          mg_upgrade_info *out, char *reason, size_t reasonlen)
{
    memset(out, 0, sizeof *out);
#define FAIL(st, msg)                                   \
    do {                                                \
        snprintf(reason, reasonlen, "%s", msg);         \
        return st;                                      \
    } while (0)
    if (!mg_strieq_n(req->method.p, req->method.n, "GET"))
        FAIL(400, "upgrade must use GET");
    if (req->minor_version < 1)
        FAIL(400, "upgrade needs HTTP/1.1");
    if (!mg_http_header_get(req, "Host"))
        FAIL(400, "missing Host header");
    if (!mg_http_header_has_token(req, "Upgrade", "websocket"))
        FAIL(400, "missing or wrong Upgrade header (want websocket)");
    if (!mg_http_header_has_token(req, "Connection", "upgrade"))
        FAIL(400, "Connection header must contain Upgrade");
    const mg_slice *ver = mg_http_header_get(req, "Sec-WebSocket-Version");
    if (!ver || !mg_strieq_n(ver->p, ver->n, "13"))
        FAIL(426, "Sec-WebSocket-Version must be 13");
    const mg_slice *key = mg_http_header_get(req, "Sec-WebSocket-Key");
    unsigned char raw[32];
    if (!key || key->n != 24 || mg_base64_decode(key->p, key->n, raw, sizeof raw) != 16)
        FAIL(400, "Sec-WebSocket-Key must be base64 of 16 bytes");
    mg_ws_accept_key(key->p, key->n, out->accept);

    char v[16] = "";
    if (mg_query_get(req->query, "v", v, sizeof v)) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        out->version = (end && *end == '\0' && v[0] && n > 0 && n < 1000) ? (int)n : 0;
    }
    mg_query_get(req->query, "encoding", out->encoding, sizeof out->encoding);
    char comp[32] = "";
    if (mg_query_get(req->query, "compress", comp, sizeof comp)) {
        if (strcmp(comp, "zlib-stream") == 0)
            out->compress = MG_COMPRESS_ZLIB;
        else if (strcmp(comp, "zstd-stream") == 0 && zstd_available)
            out->compress = MG_COMPRESS_ZSTD;
        else if (strcmp(comp, "zstd-stream") == 0)
            FAIL(400, "compress=zstd-stream is not available in this build");
        else
            FAIL(400, "unknown compress= value (want zlib-stream or zstd-stream)");
    }
#undef FAIL
    return 0;
}
