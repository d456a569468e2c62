#include "handshake.h"

#include "json.h"

#include <bearssl.h>
#include <string.h>
#include <strings.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void dgw_base64(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

void dgw_ws_accept(const char *key, char out[DGW_WS_ACCEPT_LEN + 1])
{
    br_sha1_context sha;
    uint8_t digest[br_sha1_SIZE];
    br_sha1_init(&sha);
    br_sha1_update(&sha, key, strlen(key));
    br_sha1_update(&sha, ws_guid, sizeof ws_guid - 1);
    br_sha1_out(&sha, digest);
    dgw_base64(digest, sizeof digest, out);
}

int dgw_http_build_request(dgw_mem *m, dgw_buf *out, const dgw_url *url,
                           const char *query, const char *key)
{
    char req[2048];
    dgw_jw w;
    dgw_jw_init(&w, req, sizeof req);
    dgw_jw_lit(&w, "GET ");
    dgw_jw_lit(&w, url->path);
    dgw_jw_lit(&w, "?");
    dgw_jw_lit(&w, query);
    dgw_jw_lit(&w, " HTTP/1.1\r\nHost: ");
    if (url->host_is_ipv6)
        dgw_jw_lit(&w, "[");
    dgw_jw_lit(&w, url->host);
    if (url->host_is_ipv6)
        dgw_jw_lit(&w, "]");
    if (url->port != (url->tls ? 443 : 80)) {
        dgw_jw_lit(&w, ":");
        dgw_jw_int(&w, url->port);
    }
    dgw_jw_lit(&w, "\r\nUser-Agent: libdgw/" DGW_VERSION "\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: ");
    dgw_jw_lit(&w, key);
    dgw_jw_lit(&w, "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    if (w.overflow)
        return DGW_ERR_URL;
    return dgw_buf_append(m, out, req, w.len, SIZE_MAX);
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool value_is(const char *v, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(v, want, n) == 0;
}

/* True if the comma-separated list v has the token `want`. */
static bool list_has(const char *v, size_t n, const char *want)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && value_is(v + s, e - s, want))
            return true;
    }
    return false;
}

/* A non-negative decimal of at most 15 digits; -1 when it is not one. */
static long long decimal(const char *v, size_t n)
{
    if (n == 0 || n > 15)
        return -1;
    long long x = 0;
    for (size_t k = 0; k < n; k++) {
        if (v[k] < '0' || v[k] > '9')
            return -1;
        x = x * 10 + (v[k] - '0');
    }
    return x;
}

static int parse_field(const char *line, size_t n, dgw_http_response *r,
                       const char **err)
{
    size_t i = 0;
    while (i < n && line[i] != ':') {
        if (!is_tchar((unsigned char)line[i])) {
            *err = line[0] == ' ' || line[0] == '\t'
                       ? "folded header lines are not allowed"
                       : "invalid character in a header name";
            return -1;
        }
        i++;
    }
    if (i == 0 || i == n) {
        *err = "header line without a name or a colon";
        return -1;
    }
    const char *name = line;
    size_t name_len = i;
    const char *v = line + i + 1;
    size_t vn = n - i - 1;
    while (vn && (*v == ' ' || *v == '\t')) {
        v++;
        vn--;
    }
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    for (size_t k = 0; k < vn; k++) {
        unsigned char c = (unsigned char)v[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *err = "control character in a header value";
            return -1;
        }
    }
    if (value_is(name, name_len, "Upgrade")) {
        r->upgrade_websocket = value_is(v, vn, "websocket");
    } else if (value_is(name, name_len, "Connection")) {
        r->connection_upgrade = r->connection_upgrade || list_has(v, vn, "upgrade");
    } else if (value_is(name, name_len, "Sec-WebSocket-Accept")) {
        if (r->has_accept) {
            *err = "Sec-WebSocket-Accept given twice";
            return -1;
        }
        r->has_accept = true;
        if (vn == DGW_WS_ACCEPT_LEN) {
            memcpy(r->accept, v, vn);
            r->accept[vn] = '\0';
        } else {
            r->accept[0] = '\0';
        }
    } else if (value_is(name, name_len, "Sec-WebSocket-Extensions")) {
        r->has_extensions = true;
    } else if (value_is(name, name_len, "Sec-WebSocket-Protocol")) {
        r->has_protocol = true;
    } else if (value_is(name, name_len, "Content-Length")) {
        long long cl = decimal(v, vn);
        if (cl < 0) {
            *err = "Content-Length is not a number";
            return -1;
        }
        if (r->content_length >= 0 && r->content_length != cl) {
            *err = "conflicting Content-Length headers";
            return -1;
        }
        r->content_length = cl;
    } else if (value_is(name, name_len, "Retry-After")) {
        /* Seconds; an HTTP date is not understood and counts as absent. */
        r->retry_after = decimal(v, vn);
    } else if (value_is(name, name_len, "Transfer-Encoding")) {
        r->chunked = list_has(v, vn, "chunked");
    }
    return 0;
}

int dgw_http_parse_response(const uint8_t *p, size_t n, dgw_http_response *r,
                            const char **err)
{
    const char *s = (const char *)p;
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    r->retry_after = -1;

    /* Judge the status line as soon as it is there, so that garbage is
     * refused without waiting for a blank line that may never come. */
    static const char proto[] = "HTTP/1.";
    size_t cmp = n < sizeof proto - 1 ? n : sizeof proto - 1;
    if (memcmp(s, proto, cmp) != 0) {
        *err = "response does not start with HTTP/1.x";
        return -1;
    }
    const char *eol = memchr(s, '\n', n);
    if (!eol)
        return 0;
    size_t line_len = (size_t)(eol - s);
    if (line_len < 12 || s[line_len - 1] != '\r' ||
        (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
        s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
        s[11] < '0' || s[11] > '9' || (line_len > 13 && s[12] != ' ')) {
        *err = "malformed HTTP status line";
        return -1;
    }
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');

    size_t pos = line_len + 1;
    r->fields_off = pos;
    for (;;) {
        const char *line = s + pos;
        const char *e = memchr(line, '\n', n - pos);
        if (!e)
            return 0;
        size_t ll = (size_t)(e - line);
        if (ll == 0 || line[ll - 1] != '\r') {
            *err = "header line not terminated by CRLF";
            return -1;
        }
        if (ll == 1) {
            r->fields_len = pos - r->fields_off;
            r->head_len = pos + 2;
            return 1;
        }
        if (parse_field(line, ll - 1, r, err) < 0)
            return -1;
        pos += ll + 1;
    }
}

const char *dgw_http_check_upgrade(const dgw_http_response *r,
                                   const char *key)
{
    if (r->status != 101)
        return "status is not 101";
    if (!r->upgrade_websocket)
        return "101 without \"Upgrade: websocket\"";
    if (!r->connection_upgrade)
        return "101 without \"Connection: Upgrade\"";
    if (!r->has_accept)
        return "101 without Sec-WebSocket-Accept";
    char want[DGW_WS_ACCEPT_LEN + 1];
    dgw_ws_accept(key, want);
    if (strcmp(want, r->accept) != 0)
        return "Sec-WebSocket-Accept does not match our key";
    if (r->has_extensions)
        return "server selected a WebSocket extension we did not offer";
    if (r->has_protocol)
        return "server selected a subprotocol we did not offer";
    return NULL;
}
