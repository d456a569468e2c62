/* fuzz_upgrade - the HTTP upgrade response parser, alone and in a
 * connection.
 *
 * 1. dgw_http_parse_response() on the whole input (and on every prefix
 *    length the parser itself asks for), dgw_http_check_upgrade() on what it
 *    accepts; spans must stay inside the input.
 * 2. A connection after start(): the input's first byte picks the chunk
 *    size, the rest is the server's answer, then EOF. The generated seeds
 *    carry the right Sec-WebSocket-Accept for the connection's fixed random
 *    key, so mutations explore the accepted 101 too.
 * 3. dgw_url_parse() on the same bytes as a NUL-terminated string.
 * Input: [split][mode][bytes]; mode bit 0: let 31 s pass before EOF. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "handshake.h"
#include "url.h"

static void parse_alone(const uint8_t *data, size_t size)
{
    dgw_http_response r;
    const char *err = NULL;
    memset(&r, 0, sizeof r);
    int v = dgw_http_parse_response(data, size, &r, &err);
    FZ_CHECK(v >= -1 && v <= 1, "parse_response returned %d", v);
    if (v < 0)
        FZ_CHECK(err && *err, "malformed without a reason");
    if (v != 1)
        return;
    FZ_CHECK(r.head_len >= 4 && r.head_len <= size, "head_len %zu of %zu",
             r.head_len, size);
    FZ_CHECK(memcmp(data + r.head_len - 2, "\n", 1) == 0 ||
                 data[r.head_len - 1] == '\n',
             "head does not end at a line end");
    FZ_CHECK(r.fields_off <= r.head_len &&
                 r.fields_len <= r.head_len - r.fields_off,
             "fields %zu+%zu outside head %zu", r.fields_off, r.fields_len,
             r.head_len);
    FZ_CHECK(r.status >= 100 && r.status <= 999, "status %d", r.status);
    FZ_CHECK(r.content_length >= -1, "content_length %lld", r.content_length);
    if (r.has_accept)
        FZ_CHECK(strlen(r.accept) <= DGW_WS_ACCEPT_LEN, "accept too long");
    /* The head alone must parse the same way. */
    dgw_http_response r2;
    memset(&r2, 0, sizeof r2);
    FZ_CHECK(dgw_http_parse_response(data, r.head_len, &r2, &err) == 1 &&
                 r2.head_len == r.head_len && r2.status == r.status,
             "the head alone parses differently");
    /* One byte short of the head is incomplete (or malformed), never a
     * different complete head. */
    memset(&r2, 0, sizeof r2);
    int v2 = dgw_http_parse_response(data, r.head_len - 1, &r2, &err);
    FZ_CHECK(v2 != 1, "a prefix of %zu bytes is already a complete head",
             r.head_len - 1);
    const char *why = dgw_http_check_upgrade(&r, "dGhlIHNhbXBsZSBub25jZQ==");
    if (!why) {
        FZ_CHECK(r.status == 101 && r.upgrade_websocket &&
                     r.connection_upgrade && r.has_accept &&
                     strcmp(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
                 "upgrade accepted without its conditions");
    }
}

static void url_alone(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    dgw_url u;
    const char *why = NULL;
    if (dgw_url_parse(s, &u, &why)) {
        FZ_CHECK(strlen(u.host) < DGW_URL_HOST_MAX && u.host[0],
                 "empty or long host");
        FZ_CHECK(u.path[0] == '/' && strlen(u.path) < DGW_URL_PATH_MAX,
                 "bad path");
        FZ_CHECK(u.port != 0, "port 0");
    } else {
        FZ_CHECK(why && *why, "URL refused without a reason");
    }
    free(s);
}

static void through_conn(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t split = fz_u8(&in);
    uint8_t mode = fz_u8(&in);
    fz_peer p;
    fz_peer_init(&p, DGW_COMPRESS_NONE, 0, NULL, NULL);
    if (!p.c)
        return;
    if (fz_start(&p)) {
        fz_feed(&p, in.p, in.n, &split, 1);
        if (mode & 1)
            fz_advance(&p, 31000);
        fz_eof(&p);
        FZ_CHECK(dgw_conn_state(p.c) == DGW_STATE_CLOSED,
                 "state %s after EOF", dgw_state_name(dgw_conn_state(p.c)));
    }
    fz_peer_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* [split][mode][bytes]: the parser and the URL parser see the bytes. */
    if (size >= 2) {
        parse_alone(data + 2, size - 2);
        if (size <= 2050)
            url_alone(data + 2, size - 2);
    }
    through_conn(data, size);
    return 0;
}
