#include "fuzz_common.h"

#include "etf.h"

#include "testkit.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef DGW_HAVE_ZSTD
#include <zstd.h>
#endif

void fz_fail(const char *file, int line, const char *cond, const char *fmt,
             ...)
{
    va_list ap;
    fprintf(stderr, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== ",
            file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ------------------------------------------------------------------------ */

uint8_t fz_u8(fz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)(hi << 8 | fz_u8(in));
}

uint32_t fz_u32(fz_in *in)
{
    uint32_t hi = fz_u16(in);
    return hi << 16 | fz_u16(in);
}

size_t fz_take(fz_in *in, size_t n, const uint8_t **out)
{
    if (n > in->n)
        n = in->n;
    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

size_t fz_chunk(fz_in *in, const uint8_t **out)
{
    size_t n = fz_u8(in);
    if (n == 0xff)
        n = fz_u16(in);
    return fz_take(in, n, out);
}

/* ------------------------------------------------------------------------ */
/* Independent checks (not the library's own code)                          */

bool fz_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

static bool has_surrogate_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 < n; i++)
        if (s[i] == '\\' && s[i + 1] == 'u' && (s[i + 2] | 0x20) == 'd' &&
            strchr("89abcdefABCDEF", s[i + 3]) && s[i + 3])
            return true;
    return false;
}

bool fz_cjson_accepts(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, false);
    bool ok = j != NULL;
    cJSON_Delete(j);
    if (ok) {
        for (const char *q = end; q < s + n; q++)
            if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
                return false;
        return true;
    }
    return has_surrogate_escape(s, n);
}

static bool contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    const uint8_t *h = hay;
    for (size_t i = 0; i + k <= n; i++)
        if (h[i] == (uint8_t)needle[0] && memcmp(h + i, needle, k) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Allocator and random source                                              */

static void rng_fill(void *user, uint8_t *b, size_t n)
{
    fz_peer *p = user;
    for (size_t i = 0; i < n; i++) {
        p->rng ^= p->rng << 13;
        p->rng ^= p->rng >> 7;
        p->rng ^= p->rng << 17;
        b[i] = (uint8_t)(p->rng >> 24);
    }
}

static bool injected_failure(fz_peer *p)
{
    return p->fail_after >= 0 && (long)p->alloc_calls++ >= p->fail_after;
}

static void *a_alloc(void *user, size_t size)
{
    fz_peer *p = user;
    if (injected_failure(p))
        return NULL;
    void *r = malloc(size ? size : 1);
    if (r)
        p->alloc_now += size;
    return r;
}

static void *a_realloc(void *user, void *ptr, size_t old, size_t size)
{
    fz_peer *p = user;
    FZ_CHECK(old <= p->alloc_now, "realloc of %zu bytes, only %zu out", old,
             p->alloc_now);
    if (injected_failure(p))
        return NULL;
    void *r = realloc(ptr, size ? size : 1);
    if (r)
        p->alloc_now = p->alloc_now - old + size;
    return r;
}

static void a_free(void *user, void *ptr, size_t size)
{
    fz_peer *p = user;
    if (!ptr)
        return;
    FZ_CHECK(size <= p->alloc_now, "free of %zu bytes, only %zu out", size,
             p->alloc_now);
    p->alloc_now -= size;
    free(ptr);
}

/* ------------------------------------------------------------------------ */

void fz_reset_compressor(fz_peer *p)
{
    if (p->zdef) {
        deflateEnd(p->zdef);
        free(p->zdef);
        p->zdef = NULL;
    }
#ifdef DGW_HAVE_ZSTD
    if (p->zstd) {
        ZSTD_freeCCtx(p->zstd);
        p->zstd = NULL;
    }
#endif
    if (p->comp == DGW_COMPRESS_ZLIB_STREAM) {
        z_stream *z = calloc(1, sizeof *z);
        if (z && deflateInit(z, 6) == Z_OK)
            p->zdef = z;
        else
            free(z);
    }
#ifdef DGW_HAVE_ZSTD
    if (p->comp == DGW_COMPRESS_ZSTD_STREAM) {
        p->zstd = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(p->zstd, ZSTD_c_compressionLevel, 3);
    }
#endif
}

void fz_peer_init(fz_peer *p, dgw_compress comp, size_t max_message,
                  void (*tweak)(dgw_config *cfg, void *u), void *u)
{
    memset(p, 0, sizeof *p);
    p->comp = comp;
    p->rng = 0x9E3779B97F4A7C15ull;
    p->now = 1000000;
    p->fail_after = -1;
    p->strict_rate = true;
    p->check_token = true;
    p->mem_bound = 64u << 20;
    p->allocator = (dgw_allocator){a_alloc, a_realloc, a_free, p};
    p->cfg.url = "ws://gateway.test/";
    p->cfg.compress = comp;
    p->cfg.identify.token = FZ_TOKEN;
    p->cfg.identify.intents = 513;
    p->cfg.random = rng_fill;
    p->cfg.random_user = p;
    p->cfg.allocator = &p->allocator;
    p->cfg.max_message_size = max_message;
    if (tweak)
        tweak(&p->cfg, u);
    dgw_err err;
    p->c = dgw_conn_new(&p->cfg, &err);
    FZ_CHECK(p->c || err != DGW_OK, "dgw_conn_new returned NULL with DGW_OK");
    if (!p->c)
        FZ_CHECK(p->alloc_now == 0, "failed dgw_conn_new leaked %zu bytes",
                 p->alloc_now);
}

void fz_peer_free(fz_peer *p)
{
    dgw_conn_free(p->c);
    p->c = NULL;
    FZ_CHECK(p->alloc_now == 0, "connection leaked %zu bytes", p->alloc_now);
    p->comp = DGW_COMPRESS_NONE;
    fz_reset_compressor(p);
    free(p->wire);
    p->wire = NULL;
}

static void new_transport(fz_peer *p)
{
    p->request_len = 0;
    p->request_done = false;
    p->wire_len = 0;
    p->close_frame_seen = false;
    p->ntext = 0;
    p->frames = 0;
    p->nevents = p->nclosed = p->nupgraded = 0;
    p->last_event = DGW_EV_NONE;
    fz_reset_compressor(p);
}

bool fz_start(fz_peer *p)
{
    new_transport(p);
    dgw_err e = dgw_conn_start(p->c, p->now);
    fz_collect(p);
    if (e != DGW_OK)
        return false;
    FZ_CHECK(dgw_conn_state(p->c) == DGW_STATE_UPGRADING,
             "start() returned OK in state %s",
             dgw_state_name(dgw_conn_state(p->c)));
    return true;
}

size_t fz_build_101(const fz_peer *p, char *out, size_t cap)
{
    size_t n = tk_101_response(p->request, out, cap);
    FZ_CHECK(n > 0, "upgrade request without a key:\n%s", p->request);
    return n;
}

bool fz_connect(fz_peer *p)
{
    if (!fz_start(p))
        return false;
    char resp[256];
    size_t n = fz_build_101(p, resp, sizeof resp);
    fz_feed(p, (const uint8_t *)resp, n, NULL, 0);
    return dgw_conn_state(p->c) == DGW_STATE_WAIT_HELLO;
}

/* ------------------------------------------------------------------------ */
/* Checking what the client writes                                           */

static void check_text(fz_peer *p, const char *s, size_t n)
{
    FZ_CHECK(n <= DGW_MAX_SEND_PAYLOAD, "client sent a %zu-byte payload", n);
    FZ_CHECK(fz_utf8_valid((const uint8_t *)s, n),
             "client text frame is not UTF-8: %.*s", (int)n, s);
    FZ_CHECK(fz_cjson_accepts(s, n), "client sent non-JSON: %.*s", (int)n, s);
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (j) {
        cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
        FZ_CHECK(cJSON_IsObject(j) && cJSON_IsNumber(op) &&
                     cJSON_GetObjectItemCaseSensitive(j, "d"),
                 "client payload is not {\"op\":N,\"d\":...}: %.*s", (int)n,
                 s);
        int o = op->valueint;
        if (p->check_token && o != 2 && o != 6)
            FZ_CHECK(!contains(s, n, FZ_TOKEN),
                     "token in an op %d payload: %.*s", o, (int)n, s);
        cJSON_Delete(j);
    }
    /* The gateway's limit: 120 per 60 s on one connection. */
    if (p->ntext < FZ_MAX_TEXT_SENT)
        p->text_at[p->ntext] = p->now;
    p->ntext++;
    if (p->strict_rate && p->ntext > 120 && p->ntext <= FZ_MAX_TEXT_SENT) {
        uint64_t first = p->text_at[p->ntext - 121];
        FZ_CHECK(p->now - first >= 60000,
                 "121 text frames within %llu ms (frame %zu at t=%llu): %.*s",
                 (unsigned long long)(p->now - first), p->ntext,
                 (unsigned long long)p->now, (int)n, s);
    }
}

static void check_frame(fz_peer *p, uint8_t b0, const uint8_t *pl, size_t n)
{
    uint8_t op = b0 & 0x0f;
    p->frames++;
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "[t=%llu %s] client frame op %u: %.*s\n",
                (unsigned long long)p->now,
                dgw_state_name(dgw_conn_state(p->c)), op,
                (int)(op == 1 ? n : 0), (const char *)pl);
    FZ_CHECK(!p->close_frame_seen,
             "client sent a frame (opcode %u) after its close frame", op);
    FZ_CHECK(b0 & 0x80, "client sent a fragmented frame");
    FZ_CHECK((b0 & 0x70) == 0, "client set RSV bits");
    switch (op) {
    case 1:
        FZ_CHECK(p->cfg.encoding == DGW_ENCODING_JSON,
                 "a text frame on an ETF connection");
        check_text(p, (const char *)pl, n);
        break;
    case 2: {
        /* Under ETF every payload is a binary frame: read it back with the
         * library's decoder (fuzz_etf and the Erlang cross-check vouch for
         * it) and hold it to the same rules as a text payload. */
        FZ_CHECK(p->cfg.encoding == DGW_ENCODING_ETF,
                 "a binary frame on a JSON connection");
        FZ_CHECK(n <= DGW_MAX_SEND_PAYLOAD, "ETF payload of %zu bytes", n);
        dgw_mem m;
        dgw_mem_init(&m, NULL);
        dgw_etf_decoder d;
        dgw_etf_decoder_init(&d, &m);
        dgw_buf json = {0};
        const char *why = NULL;
        int r = dgw_etf_decode(&d, pl, n, &json, 1u << 20, &why);
        FZ_CHECK(r == DGW_OK, "client sent ETF that does not decode: %s", why);
        check_text(p, json.p ? (const char *)json.p + json.off : "",
                   dgw_buf_live(&json));
        dgw_buf_free(&m, &json);
        dgw_etf_decoder_free(&d);
        break;
    }
    case 8:
        FZ_CHECK(n != 1 && n <= 125, "client close frame of %zu bytes", n);
        if (n >= 2) {
            unsigned code = (unsigned)pl[0] << 8 | pl[1];
            FZ_CHECK((code >= 1000 && code <= 1003) ||
                         (code >= 1007 && code <= 1014) ||
                         (code >= 3000 && code <= 4999),
                     "client sent close code %u", code);
            FZ_CHECK(fz_utf8_valid(pl + 2, n - 2), "close reason not UTF-8");
            if (p->check_token)
                FZ_CHECK(!contains(pl, n, FZ_TOKEN), "token in close reason");
        }
        p->close_frame_seen = true;
        break;
    case 10:
        FZ_CHECK(n <= 125, "client pong of %zu bytes", n);
        break;
    default:
        FZ_CHECK(0, "client sent opcode %u", op);
    }
}

static void parse_client_frames(fz_peer *p)
{
    size_t pos = 0;
    for (;;) {
        uint8_t *b = p->wire + pos;
        size_t n = p->wire_len - pos;
        if (n < 2)
            break;
        FZ_CHECK(b[1] & 0x80, "client frame is not masked");
        uint64_t len = b[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (n < 4)
                break;
            len = (uint64_t)b[2] << 8 | b[3];
            h = 4;
            FZ_CHECK(len >= 126, "non-minimal 16-bit length %llu",
                     (unsigned long long)len);
        } else if (len == 127) {
            if (n < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | b[2 + i];
            h = 10;
            FZ_CHECK(len >= 65536 && len < (1ull << 63),
                     "bad 64-bit length %llu", (unsigned long long)len);
        }
        FZ_CHECK(len <= (1u << 20), "client frame of %llu bytes",
                 (unsigned long long)len);
        if (n < h + 4 + len)
            break;
        const uint8_t *mask = b + h;
        uint8_t *pl = b + h + 4;
        for (size_t i = 0; i < len; i++)
            pl[i] ^= mask[i % 4];
        check_frame(p, b[0], pl, (size_t)len);
        pos += h + 4 + (size_t)len;
    }
    memmove(p->wire, p->wire + pos, p->wire_len - pos);
    p->wire_len -= pos;
}

static void take_output(fz_peer *p)
{
    const uint8_t *o;
    size_t n = dgw_conn_peek_output(p->c, &o);
    if (n == 0)
        return;
    if (!p->request_done) {
        /* The upgrade request: everything up to the blank line. */
        size_t k = 0;
        while (k < n && !p->request_done) {
            FZ_CHECK(p->request_len < sizeof p->request - 1,
                     "upgrade request over %zu bytes", sizeof p->request);
            p->request[p->request_len++] = (char)o[k++];
            p->request[p->request_len] = '\0';
            if (p->request_len >= 4 &&
                memcmp(p->request + p->request_len - 4, "\r\n\r\n", 4) == 0)
                p->request_done = true;
        }
        FZ_CHECK(p->request_len < 4 || memcmp(p->request, "GET ", 4) == 0,
                 "request does not start with GET: %s", p->request);
        if (p->check_token)
            FZ_CHECK(!strstr(p->request, FZ_TOKEN), "token in the request");
        o += k;
        n -= k;
        dgw_conn_consume_output(p->c, k);
        if (n == 0)
            return;
    }
    if (p->wire_len + n > p->wire_cap) {
        size_t cap = (p->wire_len + n) * 2;
        uint8_t *w = realloc(p->wire, cap);
        FZ_CHECK(w != NULL, "out of memory in the harness");
        p->wire = w;
        p->wire_cap = cap;
    }
    memcpy(p->wire + p->wire_len, o, n);
    p->wire_len += n;
    dgw_conn_consume_output(p->c, n);
    parse_client_frames(p);
}

static void touch(fz_peer *p, const void *b, size_t n)
{
    const uint8_t *q = b;
    for (size_t i = 0; i < n; i++)
        p->sink += q[i];
}

static void check_event(fz_peer *p, const dgw_event *e)
{
    dgw_state st = dgw_conn_state(p->c);
    FZ_CHECK(e->type > DGW_EV_NONE && e->type <= DGW_EV_IDENTIFY_WANTED,
             "event type %d", (int)e->type);
    FZ_CHECK(p->nclosed == 0, "event %d after DGW_EV_CLOSED", (int)e->type);
    p->nevents++;
    p->last_event = e->type;
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "[t=%llu %s] event %d op %d err %d code %u: %s\n",
                (unsigned long long)p->now, dgw_state_name(st), (int)e->type,
                e->op, (int)e->error, e->close_code,
                dgw_conn_last_error(p->c));
    switch (e->type) {
    case DGW_EV_UPGRADED:
        FZ_CHECK(++p->nupgraded == 1, "second UPGRADED event");
        return;
    case DGW_EV_REJECTED:
        FZ_CHECK(e->http_status >= 100 && e->http_status <= 999 &&
                     e->http_status != 101,
                 "REJECTED with status %d", e->http_status);
        FZ_CHECK(e->http_body_len <= p->cfg.max_http_body_size ||
                     (p->cfg.max_http_body_size == 0 &&
                      e->http_body_len <= 4096),
                 "REJECTED body of %zu bytes", e->http_body_len);
        touch(p, e->http_headers, e->http_headers_len);
        touch(p, e->http_body, e->http_body_len);
        return;
    case DGW_EV_COMMANDS_DROPPED:
        FZ_CHECK(e->dropped > 0, "COMMANDS_DROPPED of nothing");
        return;
    case DGW_EV_IDENTIFY_WANTED:
        FZ_CHECK(st == DGW_STATE_IDENTIFYING || st == DGW_STATE_CLOSING ||
                     st == DGW_STATE_CLOSED,
                 "IDENTIFY_WANTED in state %s", dgw_state_name(st));
        return;
    case DGW_EV_CLOSED:
        p->nclosed++;
        FZ_CHECK(st == DGW_STATE_CLOSED, "DGW_EV_CLOSED in state %s",
                 dgw_state_name(st));
        FZ_CHECK(e->close_reason_len <= 123, "close reason of %zu bytes",
                 e->close_reason_len);
        touch(p, e->close_reason, e->close_reason_len);
        FZ_CHECK(e->close_reason_len == 0 ||
                     fz_utf8_valid((const uint8_t *)e->close_reason,
                                e->close_reason_len),
                 "close reason is not UTF-8");
        FZ_CHECK(e->error <= 0, "CLOSED with error %d", (int)e->error);
        FZ_CHECK(!e->fatal || dgw_close_code_is_fatal(e->close_code),
                 "fatal close with code %u", e->close_code);
        FZ_CHECK(!e->fatal || e->closed_by_server,
                 "fatal close that the server did not send");
        FZ_CHECK(e->resumable == dgw_conn_can_resume(p->c),
                 "CLOSED says resumable=%d, can_resume()=%d", e->resumable,
                 dgw_conn_can_resume(p->c));
        p->closed_fatal = e->fatal;
        return;
    default:
        break;
    }
    /* Payload events. */
    FZ_CHECK(e->data && e->data_len > 0, "payload event without d");
    touch(p, e->data, e->data_len);
    touch(p, e->payload, e->payload_len);
    FZ_CHECK(fz_cjson_accepts(e->data, e->data_len),
             "event d is not JSON: %.*s", (int)e->data_len, e->data);
    FZ_CHECK(e->op >= 0 && e->op <= 255, "event op %d", e->op);
    if (e->name) {
        FZ_CHECK(strlen(e->name) == e->name_len, "event name of %zu bytes "
                 "says name_len %zu", strlen(e->name), e->name_len);
        FZ_CHECK(e->name_len <= e->payload_len, "event name longer than the "
                 "payload");
    } else {
        FZ_CHECK(e->name_len == 0, "name_len without a name");
    }
    if (e->type == DGW_EV_HELLO)
        FZ_CHECK(e->heartbeat_interval_ms >= 1 &&
                     e->heartbeat_interval_ms <= 600000,
                 "HELLO interval %u", e->heartbeat_interval_ms);
    if (e->type == DGW_EV_DISPATCH)
        FZ_CHECK(e->seq >= -1, "dispatch seq %lld", (long long)e->seq);
}

void fz_collect(fz_peer *p)
{
    dgw_event e;
    take_output(p);
    for (int guard = 0;; guard++) {
        /* poll_event only hands over what is decided: it never decodes
         * bytes or queues output (dgw.h). */
        const uint8_t *o;
        size_t before = dgw_conn_peek_output(p->c, &o);
        if (!dgw_conn_poll_event(p->c, &e))
            break;
        FZ_CHECK(dgw_conn_peek_output(p->c, &o) == before,
                 "poll_event produced output (event %d)", (int)e.type);
        FZ_CHECK(guard < 100000, "poll_event never runs dry");
        check_event(p, &e);
        take_output(p);
    }
    take_output(p);
    FZ_CHECK(!dgw_conn_has_events(p->c), "has_events after poll ran dry");
    dgw_state st = dgw_conn_state(p->c);
    FZ_CHECK(st >= DGW_STATE_IDLE && st <= DGW_STATE_CLOSED, "state %d",
             (int)st);
    size_t mem = dgw_conn_memory(p->c);
    FZ_CHECK(mem == p->alloc_now,
             "dgw_conn_memory() says %zu, the allocator has %zu out", mem,
             p->alloc_now);
    FZ_CHECK(mem <= p->mem_bound, "connection holds %zu bytes (bound %zu)",
             mem, p->mem_bound);
    if (p->check_token)
        FZ_CHECK(!strstr(dgw_conn_last_error(p->c), FZ_TOKEN),
                 "token in last_error");
}

void fz_feed(fz_peer *p, const uint8_t *b, size_t n, const uint8_t *splits,
             size_t nsplits)
{
    size_t off = 0, si = 0;
    int idle = 0;
    while (off < n) {
        size_t chunk = n - off;
        if (nsplits) {
            size_t s = splits[si++ % nsplits];
            if (s && s < chunk)
                chunk = s;
        }
        size_t done = 0;
        while (done < chunk) {
            size_t before = p->nevents;
            dgw_state st = dgw_conn_state(p->c);
            long r = dgw_conn_recv(p->c, b + off + done, chunk - done, p->now);
            if (r < 0) {
                FZ_CHECK(r >= DGW_ERR_FATAL_CLOSE, "recv returned %ld", r);
                fz_collect(p);
                FZ_CHECK(st == DGW_STATE_IDLE ||
                             dgw_conn_state(p->c) == DGW_STATE_CLOSED,
                         "recv failed (%ld: %s) but state is %s", r,
                         dgw_conn_last_error(p->c),
                         dgw_state_name(dgw_conn_state(p->c)));
                return;
            }
            FZ_CHECK((size_t)r <= chunk - done, "recv consumed %ld of %zu", r,
                     chunk - done);
            done += (size_t)r;
            fz_collect(p);
            if (r == 0 && p->nevents == before &&
                dgw_conn_state(p->c) == st)
                FZ_CHECK(++idle < 4, "recv makes no progress in state %s",
                         dgw_state_name(st));
            else
                idle = 0;
        }
        off += chunk;
    }
    fz_collect(p);
}

void fz_eof(fz_peer *p)
{
    dgw_state st = dgw_conn_state(p->c);
    dgw_conn_recv_eof(p->c, p->now);
    fz_collect(p);
    if (st != DGW_STATE_IDLE)
        FZ_CHECK(dgw_conn_state(p->c) == DGW_STATE_CLOSED,
                 "EOF in state %s left state %s", dgw_state_name(st),
                 dgw_state_name(dgw_conn_state(p->c)));
}

static void timeout_at(fz_peer *p)
{
    dgw_state st = dgw_conn_state(p->c);
    dgw_conn_handle_timeout(p->c, p->now);
    fz_collect(p);
    uint64_t next = dgw_conn_next_timeout(p->c);
    if (dgw_conn_state(p->c) == st)
        FZ_CHECK(next > p->now,
                 "next_timeout %llu not after now %llu in state %s",
                 (unsigned long long)next, (unsigned long long)p->now,
                 dgw_state_name(st));
}

void fz_advance(fz_peer *p, uint64_t ms)
{
    uint64_t target = p->now + ms;
    for (int guard = 0; guard < 100000; guard++) {
        uint64_t next = dgw_conn_next_timeout(p->c);
        if (next == DGW_NO_TIMEOUT || next > target)
            break;
        if (next > p->now)
            p->now = next;
        timeout_at(p);
        if (dgw_conn_state(p->c) == DGW_STATE_CLOSED)
            break;
    }
    p->now = target;
    timeout_at(p);
}

/* ------------------------------------------------------------------------ */
/* Server side                                                               */

size_t fz_frame(uint8_t *out, bool fin, uint8_t opcode, const void *b,
                size_t n)
{
    return tk_frame(out, fin, opcode, b, n, NULL);
}

size_t fz_compress(fz_peer *p, const void *json, size_t n, uint8_t **out)
{
    if (p->comp == DGW_COMPRESS_ZLIB_STREAM && p->zdef) {
        z_stream *z = p->zdef;
        size_t cap = deflateBound(z, (uLong)n) + 64;
        *out = malloc(cap);
        FZ_CHECK(*out != NULL, "out of memory in the harness");
        z->next_in = (Bytef *)(uintptr_t)json;
        z->avail_in = (uInt)n;
        z->next_out = *out;
        z->avail_out = (uInt)cap;
        int r = deflate(z, Z_SYNC_FLUSH);
        FZ_CHECK(r == Z_OK || r == Z_BUF_ERROR, "deflate: %d", r);
        return cap - z->avail_out;
    }
#ifdef DGW_HAVE_ZSTD
    if (p->comp == DGW_COMPRESS_ZSTD_STREAM && p->zstd) {
        size_t cap = ZSTD_compressBound(n) + 64;
        *out = malloc(cap);
        FZ_CHECK(*out != NULL, "out of memory in the harness");
        ZSTD_inBuffer in = {json, n, 0};
        ZSTD_outBuffer ob = {*out, cap, 0};
        size_t r;
        do {
            r = ZSTD_compressStream2(p->zstd, &ob, &in, ZSTD_e_flush);
            FZ_CHECK(!ZSTD_isError(r), "zstd: %s", ZSTD_getErrorName(r));
        } while (r != 0);
        return ob.pos;
    }
#endif
    *out = malloc(n + 1);
    FZ_CHECK(*out != NULL, "out of memory in the harness");
    if (n)
        memcpy(*out, json, n);
    return n;
}

void fz_send_payload(fz_peer *p, const void *json, size_t n, size_t frag)
{
    uint8_t *body;
    size_t len = fz_compress(p, json, n, &body);
    uint8_t op = p->comp == DGW_COMPRESS_NONE ? 1 : 2;
    size_t nframes = frag && frag < len ? len / frag + 1 : 1;
    uint8_t *wire = malloc(len + 14 * nframes + 14);
    FZ_CHECK(wire != NULL, "out of memory in the harness");
    size_t w = 0;
    if (!frag || frag >= len) {
        w = fz_frame(wire, true, op, body, len);
    } else {
        for (size_t off = 0; off < len; off += frag) {
            size_t k = len - off < frag ? len - off : frag;
            w += fz_frame(wire + w, off + k == len, off ? 0 : op, body + off,
                          k);
        }
    }
    fz_feed(p, wire, w, NULL, 0);
    free(wire);
    free(body);
}

void fz_send_str(fz_peer *p, const char *json)
{
    fz_send_payload(p, json, strlen(json), 0);
}
