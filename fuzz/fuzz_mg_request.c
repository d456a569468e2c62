/* fuzz_mg_request - the mock gateway's request path, and after an upgrade
 * its frame path, through the real connection code.
 *
 * 1. The HTTP parser (mockgateway/src/http.c) on the whole input:
 *    mg_http_parse_request(), then on a complete head the header lookups,
 *    the query parser, the upgrade check (with and without zstd) and the
 *    base64 helpers. Slices must stay inside the input; a complete head is
 *    at most MG_HTTP_MAX_REQUEST bytes and parses the same when given alone.
 * 2. One connection of a detached server (no socket: tests/memio.c is its
 *    transport, the same mg_conn_io seam the socket uses) running the
 *    default mode: a request head, then client frames built by a script
 *    (fuzz_mg_request.h), delivered as reads of chosen sizes, with loop
 *    turns, a client that stops reading, and EOF. Checked:
 *    - the app is never entered from inside itself (issue 12: a close from
 *      wslay's message callback re-entered wslay_event_recv and aborted);
 *    - at most MG_TURN_FRAMES + 1 client frames reach the app per turn;
 *    - the output accounting matches the queue, buffered input stays under
 *      its high-water mark plus one read;
 *    - what the server wrote is an HTTP response, and after a 101 only
 *      well-formed server frames (FIN, no RSV, unmasked, shortest length,
 *      opcode text/binary/close/pong), text frames are strict JSON (and
 *      binary ones, under ETF without compression, ETF of strict JSON), at most
 *      one close frame, with a valid code, and nothing after it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"
#include "default_mode.h"
#include "encoding.h"
#include "etf.h"
#include "fuzz_mg_request.h"
#include "http.h"
#include "memio.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_mg_request: %s failed (line %d)\n", #c,     \
                    __LINE__);                                                \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- 1. the HTTP parser --------------------------------------------------- */

static void in_buf(const char *b, size_t n, mg_slice s)
{
    CHECK(s.n == 0 || (s.p >= b && s.p + s.n <= b + n));
}

static void check_http(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    mg_http_request req;
    memset(&req, 0, sizeof req);
    mg_http_status st = mg_http_parse_request(b, size, &req);
    CHECK(st == MG_HTTP_OK || st == MG_HTTP_INCOMPLETE || st == MG_HTTP_BAD ||
          st == MG_HTTP_TOO_LARGE);
    if (st == MG_HTTP_OK) {
        CHECK(req.header_bytes > 0 && req.header_bytes <= size &&
              req.header_bytes <= MG_HTTP_MAX_REQUEST);
        CHECK(req.nheaders <= MG_HTTP_MAX_HEADERS);
        in_buf(b, size, req.method);
        in_buf(b, size, req.target);
        in_buf(b, size, req.path);
        in_buf(b, size, req.query);
        for (size_t i = 0; i < req.nheaders; i++) {
            in_buf(b, size, req.headers[i].name);
            in_buf(b, size, req.headers[i].value);
        }
        mg_http_request again;
        memset(&again, 0, sizeof again);
        CHECK(mg_http_parse_request(b, req.header_bytes, &again) ==
              MG_HTTP_OK);
        CHECK(again.header_bytes == req.header_bytes &&
              again.nheaders == req.nheaders);

        (void)mg_http_header_get(&req, "Host");
        (void)mg_http_header_has_token(&req, "Connection", "upgrade");
        char v[64];
        if (mg_query_get(req.query, "v", v, sizeof v))
            CHECK(strlen(v) < sizeof v);
        (void)mg_query_get(req.query, "compress", v, 1);
        (void)mg_http_is_upgrade(&req);
        for (int z = 0; z < 2; z++) {
            mg_upgrade_info info;
            char reason[128];
            memset(&info, 0, sizeof info);
            reason[0] = '\0';
            int r = mg_http_check_upgrade(&req, z, &info, reason,
                                          sizeof reason);
            CHECK(r == 0 || r == 400 || r == 426 || (r >= 400 && r < 600));
            CHECK(strlen(reason) < sizeof reason);
            if (r == 0)
                CHECK(strlen(info.accept) == 28 &&
                      strlen(info.encoding) < sizeof info.encoding &&
                      (z || info.compress != MG_COMPRESS_ZSTD));
        }
    }
    /* base64: decode the input, and encode/decode round trip. */
    size_t n = size > 4096 ? 4096 : size;
    unsigned char *dec = malloc(n + 3);
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    unsigned char *back = malloc(n + 3);
    if (dec && enc && back) {
        long d = mg_base64_decode(b, n, dec, n + 3);
        CHECK(d >= -1 && d <= (long)n);
        size_t e = mg_base64_encode(data, n, enc);
        CHECK(e == 4 * ((n + 2) / 3) && enc[e] == '\0');
        long r = mg_base64_decode(enc, e, back, n + 3);
        CHECK(r == (long)n && (n == 0 || memcmp(back, data, n) == 0));
        char acc[32];
        mg_ws_accept_key(b, n > 64 ? 64 : n, acc);
        CHECK(strlen(acc) == 28);
    }
    free(dec);
    free(enc);
    free(back);
}

/* ---- 2. one connection ------------------------------------------------------ */

static struct run {
    mg_server srv;
    mg_default_mode dm;
    mg_memio io;
    mg_conn *c;      /* NULL once reaped */
    mg_buf pending;  /* client bytes not yet delivered */
    int depth;       /* app callbacks on the stack */
    uint64_t turn;   /* the turn `frames` counts */
    unsigned frames; /* client frames that reached the app this turn */
    int etf_plain;   /* encoding=etf without transport compression: every
                        binary frame the server sends is one ETF term */
} R;

/* The default mode, wrapped: no callback may run inside another. */
static void enter(void)
{
    CHECK(R.depth == 0);
    R.depth++;
}

static void leave(void) { R.depth--; }

static void frame_reached_app(void)
{
    if (R.turn != R.srv.turn) {
        R.turn = R.srv.turn;
        R.frames = 0;
    }
    R.frames++;
    CHECK(R.frames <= MG_TURN_FRAMES + 1);
}

static int w_upgrade(void *a, mg_conn *c, const mg_http_request *req, const mg_upgrade_info *up)
{
    enter();
    int r = mg_default_mode_ops.on_upgrade(a, c, req, up);
    leave();
    return r;
}

static void w_open(void *a, mg_conn *c)
{
    enter();
    mg_default_mode_ops.on_open(a, c);
    leave();
}

static void w_message(void *a, mg_conn *c, int opcode, const uint8_t *d, size_t n)
{
    enter();
    frame_reached_app();
    mg_default_mode_ops.on_message(a, c, opcode, d, n);
    leave();
}

static void w_pong(void *a, mg_conn *c, const uint8_t *d, size_t n)
{
    (void)a, (void)c, (void)d, (void)n;
    enter();
    frame_reached_app(); /* the default mode has no on_pong */
    leave();
}

static void w_peer_close(void *a, mg_conn *c, int code, const uint8_t *reason, size_t n)
{
    enter();
    frame_reached_app();
    mg_default_mode_ops.on_peer_close(a, c, code, reason, n);
    leave();
}

static void w_closed(void *a, mg_conn *c, const mg_close_info *info)
{
    enter();
    mg_default_mode_ops.on_closed(a, c, info);
    if (c == R.c)
        R.c = NULL;
    leave();
}

static void w_tick(void *a, uint64_t now)
{
    enter();
    mg_default_mode_ops.on_tick(a, now);
    leave();
}

static void w_gateway_bot(void *a, uint64_t now, mg_gateway_bot *out)
{
    enter();
    mg_default_mode_ops.gateway_bot(a, now, out);
    leave();
}

static const mg_app_ops wrapped = {w_upgrade, w_open,  w_message, w_pong, w_peer_close,
                                   w_closed,  w_tick,  w_gateway_bot};

static void invariants(void)
{
    if (!R.c) {
        CHECK(R.srv.out_total == 0);
        return;
    }
    CHECK(R.srv.out_total == mg_buf_avail(&R.c->out));
    CHECK(mg_buf_avail(&R.c->wsin) <= MG_INPUT_HIGH_WATER + 16384 + MG_HTTP_MAX_REQUEST);
    CHECK(mg_buf_avail(&R.c->out) <= MG_MAX_PENDING_OUTPUT);
}

static void turns(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        mg_server_step(&R.srv, 0);
        invariants();
    }
}

static void deliver(void)
{
    if (R.c && mg_buf_avail(&R.pending) > 0)
        mg_memio_push(R.c, mg_buf_head(&R.pending), mg_buf_avail(&R.pending));
    mg_buf_reset(&R.pending);
    invariants();
    turns(1);
    if (R.c && R.c->etf && !R.c->comp)
        R.etf_plain = 1;
}

/* A client frame: masked with a fixed key. */
static void client_frame(int first_byte, const uint8_t *p, size_t n)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)first_byte;
    if (n < 126) {
        h[hl++] = (uint8_t)(0x80 | n);
    } else {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    }
    memcpy(h + hl, key, 4);
    hl += 4;
    mg_buf_append(&R.pending, h, hl);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i] ^ key[i % 4];
        mg_buf_append(&R.pending, &b, 1);
    }
}

/* A canned payload: JSON text, or on an ETF connection its ETF (what a
 * client writes: string keys) in a binary frame; the canned payloads that
 * are not JSON on purpose go as they are, in a binary frame. */
static void client_text(const char *json)
{
    if (R.c && R.c->etf) {
        uint8_t etf[1024];
        size_t n = 0;
        const char *why;
        if (dgw_etf_encode(json, strlen(json), 0, etf, sizeof etf, &n, &why) == DGW_OK)
            client_frame(0x82, etf, n);
        else
            client_frame(0x82, (const uint8_t *)json, strlen(json));
        return;
    }
    client_frame(0x81, (const uint8_t *)json, strlen(json));
}

static size_t take(const uint8_t **p, const uint8_t *end, size_t n, const uint8_t **out)
{
    size_t k = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;
    *out = *p;
    *p += k;
    return k;
}

static uint8_t byte(const uint8_t **p, const uint8_t *end) { return *p < end ? *(*p)++ : 0; }

static void run_script(const uint8_t *p, const uint8_t *end)
{
    static const char *const payloads[FZ_MG_NPAYLOADS] = FZ_MG_PAYLOADS;
    const uint8_t *chunk;
    size_t n;
    while (p < end && R.c) {
        switch (byte(&p, end) % FZ_MG_OPS) {
        case FZ_MG_RAW:
            n = take(&p, end, byte(&p, end), &chunk);
            mg_buf_append(&R.pending, chunk, n);
            break;
        case FZ_MG_FRAME: {
            int first = byte(&p, end);
            n = take(&p, end, byte(&p, end), &chunk);
            client_frame(first, chunk, n);
            break;
        }
        case FZ_MG_PAYLOAD:
            client_text(payloads[byte(&p, end) % FZ_MG_NPAYLOADS]);
            break;
        case FZ_MG_REPEAT:
            for (unsigned i = 0, k = 1u + byte(&p, end); i < k; i++)
                client_text(payloads[0]);
            break;
        case FZ_MG_DELIVER:
            deliver();
            break;
        case FZ_MG_TURNS:
            turns(1u + byte(&p, end) % 64);
            break;
        case FZ_MG_WINDOW:
            R.io.room = byte(&p, end) & 1 ? SIZE_MAX : 0;
            if (R.c && R.io.room)
                mg_conn_on_event(R.c, 0); /* writable again */
            break;
        case FZ_MG_EOF:
            deliver();
            R.io.eof = 1;
            if (R.c)
                mg_conn_on_event(R.c, EPOLLIN);
            break;
        }
    }
}

/* The canned upgrade request of byte 0 (fuzz_mg_request.h). */
static void canned_request(uint8_t b)
{
    static const char *const compress[] = {"", "&compress=zlib-stream", "&compress=zstd-stream", ""};
    static const char *const version[] = {"10", "9", "7", "10"};
    mg_buf_printf(&R.pending,
                  "GET /?v=%s&encoding=%s%s HTTP/1.1\r\nHost: gateway.test\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n",
                  version[(b >> 2) & 3], b & 0x80 ? "etf" : "json", compress[b & 3]);
    unsigned k = (b >> 4) & 7;
    R.io.chunk = k ? (size_t)1 << k : 0;
}

static int valid_close_code(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

/* What the server wrote: an HTTP response; after a 101, server frames. */
static void check_output(void)
{
    if (R.io.out.len == 0)
        return; /* (and data may be NULL) */
    const uint8_t *o = R.io.out.data, *end = o + R.io.out.len;
    CHECK(R.io.out.len >= 9 && memcmp(o, "HTTP/1.1 ", 9) == 0);
    const uint8_t *head_end = NULL;
    for (const uint8_t *q = o; q + 4 <= end && !head_end; q++)
        if (memcmp(q, "\r\n\r\n", 4) == 0)
            head_end = q + 4;
    if (!head_end || atoi((const char *)o + 9) != 101)
        return; /* REST answers and rejections end the connection */
    int closed = 0;
    for (const uint8_t *f = head_end; f + 2 <= end;) {
        CHECK(!closed); /* nothing after the close frame */
        int fin = f[0] >> 7, rsv = (f[0] >> 4) & 7, op = f[0] & 15;
        uint64_t n = f[1] & 0x7f;
        size_t h = 2;
        CHECK(fin && rsv == 0 && !(f[1] & 0x80));
        CHECK(op == 1 || op == 2 || op == 8 || op == 10);
        if (n == 126) {
            if (f + 4 > end)
                break;
            n = (uint64_t)f[2] << 8 | f[3];
            CHECK(n >= 126);
            h = 4;
        } else if (n == 127) {
            if (f + 10 > end)
                break;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | f[2 + i];
            CHECK(n >= 65536 && !(n >> 63));
            h = 10;
        }
        if ((uint64_t)(end - f) < h + n)
            break; /* cut short: the connection was cut with output queued */
        const uint8_t *pl = f + h;
        if (op == 8) {
            CHECK(n == 0 || (n >= 2 && n <= 125));
            if (n >= 2)
                CHECK(valid_close_code(pl[0] << 8 | pl[1]));
            closed = 1;
        } else if (op == 1) { /* with transport compression every frame is binary */
            const char *why;
            cJSON *j = mg_json_parse_strict((const char *)pl, (size_t)n, &why);
            CHECK(j != NULL);
            cJSON_Delete(j);
        } else if (op == 2 && R.etf_plain) {
            mg_buf json = {0};
            const char *why = "";
            CHECK(mg_etf_to_json(pl, (size_t)n, 1u << 24, &json, &why) == 0);
            cJSON *j = mg_json_parse_strict((const char *)json.data, json.len, &why);
            CHECK(j != NULL);
            cJSON_Delete(j);
            mg_buf_free(&json);
        }
        f += h + n;
    }
}

static void drive_connection(const uint8_t *data, size_t size)
{
    memset(&R, 0, sizeof R);
    static const char *const tokens[] = {"test-token", NULL};
    mg_server_config cfg = {.listen = "fuzz", .log = {.level = MG_LOG_ERROR}, .max_total_output = 256u << 10};
    mg_server_init_detached(&R.srv, &cfg);
    mg_default_config dc = {.tokens = tokens, .heartbeat_interval = 41250, .guilds = 2,
                            .granted_intents = MG_PRIVILEGED_INTENTS};
    mg_default_mode_init(&R.dm, &R.srv, &dc);
    mg_server_set_app(&R.srv, &wrapped, &R.dm);
    R.io.room = SIZE_MAX;

    const uint8_t *p = data, *end = size ? data + size : data;
    if (size > 0 && data[0] == 'G') {
        const uint8_t *head_end = end;
        for (const uint8_t *q = data; q + 4 <= end; q++)
            if (memcmp(q, "\r\n\r\n", 4) == 0) {
                head_end = q + 4;
                break;
            }
        mg_buf_append(&R.pending, data, (size_t)(head_end - data));
        p = head_end;
    } else if (size > 0) {
        canned_request(data[0]);
        p = data + 1;
    }
    R.c = mg_memio_connect(&R.srv, &R.io);
    CHECK(R.c != NULL);
    deliver();
    run_script(p, end);
    /* The rest: what is pending, the client reading again, turns until
     * nothing is left to do, then EOF. */
    deliver();
    R.io.room = SIZE_MAX;
    if (R.c)
        mg_conn_on_event(R.c, 0);
    for (int i = 0; i < 256 && R.c && (R.srv.nready > 0 || mg_buf_avail(&R.io.in) > 0); i++)
        turns(1);
    turns(2);
    check_output();
    R.io.eof = 1;
    if (R.c)
        mg_conn_on_event(R.c, EPOLLIN);
    turns(2);
    check_output();
    mg_server_free(&R.srv);
    mg_default_mode_free(&R.dm);
    mg_memio_free(&R.io);
    mg_buf_free(&R.pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_http(data, size);
    drive_connection(data, size);
    return 0;
}
