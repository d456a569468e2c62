#include "harness.h"

#include "etf.h"
#include "testkit.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef DGW_HAVE_ZSTD
#include <zstd.h>
#endif

static void rng_fill(void *user, uint8_t *b, size_t n)
{
    ts *t = user;
    for (size_t i = 0; i < n; i++) {
        t->rng ^= t->rng << 13;
        t->rng ^= t->rng >> 7;
        t->rng ^= t->rng << 17;
        b[i] = (uint8_t)(t->rng >> 24);
    }
}

static void *count_alloc(void *user, size_t size)
{
    ts *t = user;
    if (t->fail_after >= 0 && (long)t->alloc_calls >= t->fail_after)
        return NULL;
    t->alloc_calls++;
    void *p = malloc(size);
    if (p) {
        t->alloc_now += size;
        if (t->alloc_now > t->alloc_peak)
            t->alloc_peak = t->alloc_now;
    }
    return p;
}

static void *count_realloc(void *user, void *p, size_t old, size_t size)
{
    ts *t = user;
    if (t->fail_after >= 0 && (long)t->alloc_calls >= t->fail_after)
        return NULL;
    t->alloc_calls++;
    void *q = realloc(p, size);
    if (q) {
        t->alloc_now = t->alloc_now - old + size;
        if (t->alloc_now > t->alloc_peak)
            t->alloc_peak = t->alloc_now;
    }
    return q;
}

static void count_free(void *user, void *p, size_t size)
{
    ts *t = user;
    t->alloc_now -= size;
    free(p);
}

void ts_init(ts *t, dgw_compress comp)
{
    memset(t, 0, sizeof *t);
    t->comp = comp;
    t->rng = 0x9E3779B97F4A7C15ull;
    t->now = 1000000;
    t->fail_after = -1;
    t->allocator = (dgw_allocator){count_alloc, count_realloc, count_free, t};
    t->cfg.url = "ws://gateway.test/";
    t->cfg.compress = comp;
    t->cfg.identify.token = "secret-token";
    t->cfg.identify.intents = 513;
    t->cfg.random = rng_fill;
    t->cfg.random_user = t;
    t->cfg.allocator = &t->allocator;
    ts_recreate(t);
}

static void reset_compressor(ts *t)
{
    if (t->zdef) {
        deflateEnd(t->zdef);
        free(t->zdef);
        t->zdef = NULL;
    }
#ifdef DGW_HAVE_ZSTD
    if (t->zstd) {
        ZSTD_freeCStream(t->zstd);
        t->zstd = NULL;
    }
#endif
    if (t->comp == DGW_COMPRESS_ZLIB_STREAM) {
        z_stream *z = calloc(1, sizeof *z);
        cr_assert(deflateInit(z, 6) == Z_OK);
        t->zdef = z;
    }
#ifdef DGW_HAVE_ZSTD
    if (t->comp == DGW_COMPRESS_ZSTD_STREAM) {
        t->zstd = ZSTD_createCStream();
        ZSTD_initCStream(t->zstd, 3);
    }
#endif
}

void ts_recreate(ts *t)
{
    if (t->c)
        dgw_conn_free(t->c);
    dgw_err err;
    t->c = dgw_conn_new(&t->cfg, &err);
    cr_assert_not_null(t->c, "dgw_conn_new failed: %s", dgw_strerror(err));
}

void ts_free(ts *t)
{
    dgw_conn_free(t->c);
    t->c = NULL;
    t->comp = DGW_COMPRESS_NONE;
    reset_compressor(t);
    for (size_t i = 0; i < t->nev; i++) {
        free(t->ev[i].name);
        free(t->ev[i].data);
        free(t->ev[i].body);
        free(t->ev[i].headers);
    }
    for (size_t i = 0; i < t->nout; i++)
        free(t->out[i].payload);
    free(t->wire);
    cr_assert_eq(t->alloc_now, 0, "connection leaked %zu bytes", t->alloc_now);
}

static void record_event(ts *t, const dgw_event *e)
{
    cr_assert_lt(t->nev, TS_MAX_EVENTS);
    ts_event *r = &t->ev[t->nev++];
    memset(r, 0, sizeof *r);
    r->type = e->type;
    r->op = e->op;
    r->seq = e->seq;
    r->name = malloc(e->name_len + 1);
    if (e->name)
        memcpy(r->name, e->name, e->name_len);
    r->name[e->name_len] = '\0';
    r->name_len = e->name_len;
    if (e->data) {
        r->data = malloc(e->data_len + 1);
        memcpy(r->data, e->data, e->data_len);
        r->data[e->data_len] = '\0';
        r->data_len = e->data_len;
    }
    r->interval = e->heartbeat_interval_ms;
    r->latency = e->latency_ms;
    r->resumable = e->resumable;
    r->fatal = e->fatal;
    r->by_server = e->closed_by_server;
    r->close_code = e->close_code;
    r->dropped = e->dropped;
    if (e->close_reason && e->close_reason_len < sizeof r->reason) {
        memcpy(r->reason, e->close_reason, e->close_reason_len);
        r->reason[e->close_reason_len] = '\0';
    }
    r->error = e->error;
    r->http_status = e->http_status;
    if (e->http_body) {
        r->body = malloc(e->http_body_len + 1);
        memcpy(r->body, e->http_body, e->http_body_len);
        r->body[e->http_body_len] = '\0';
        r->body_len = e->http_body_len;
    }
    if (e->http_headers) {
        r->headers = malloc(e->http_headers_len + 1);
        memcpy(r->headers, e->http_headers, e->http_headers_len);
        r->headers[e->http_headers_len] = '\0';
        r->headers_len = e->http_headers_len;
    }
}

/* An ETF frame the client sent, read back as JSON with the library's own
 * decoder (the Erlang cross-check in test_etf.c vouches for both ways). */
static void etf_to_json(ts_frame_out *f)
{
    dgw_mem m;
    dgw_mem_init(&m, NULL);
    dgw_etf_decoder d;
    dgw_etf_decoder_init(&d, &m);
    dgw_buf out = {0};
    const char *why = NULL;
    int r = dgw_etf_decode(&d, (const uint8_t *)f->payload, f->len, &out, 1 << 20, &why);
    cr_assert_eq(r, DGW_OK, "client sent a binary frame that is not ETF: %s", why);
    free(f->payload);
    f->len = dgw_buf_live(&out);
    f->payload = malloc(f->len + 1);
    memcpy(f->payload, out.p + out.off, f->len);
    f->payload[f->len] = '\0';
    dgw_buf_free(&m, &out);
    dgw_etf_decoder_free(&d);
}

/* Parses the client's masked frames out of t->wire. */
static void parse_client_frames(ts *t)
{
    size_t pos = 0;
    for (;;) {
        uint8_t *p = t->wire + pos;
        size_t n = t->wire_len - pos;
        if (n < 2)
            break;
        cr_assert(p[0] & 0x80, "client sent a fragmented frame");
        cr_assert_eq(p[0] & 0x70, 0, "client set RSV bits");
        cr_assert(p[1] & 0x80, "client frame is not masked");
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (n < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (n < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            h = 10;
        }
        if (n < h + 4 + len)
            break;
        const uint8_t *mask = p + h;
        cr_assert_lt(t->nout, TS_MAX_SENT);
        ts_frame_out *f = &t->out[t->nout++];
        f->opcode = p[0] & 0x0f;
        f->len = f->wire_len = (size_t)len;
        f->payload = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            f->payload[i] = (char)(p[h + 4 + i] ^ mask[i % 4]);
        f->payload[len] = '\0';
        f->etf = f->opcode == 2 && t->cfg.encoding == DGW_ENCODING_ETF;
        if (f->etf)
            etf_to_json(f);
        f->at = t->now;
        pos += h + 4 + len;
    }
    memmove(t->wire, t->wire + pos, t->wire_len - pos);
    t->wire_len -= pos;
}

void ts_collect(ts *t)
{
    dgw_event e;
    while (dgw_conn_poll_event(t->c, &e))
        record_event(t, &e);
    const uint8_t *o;
    size_t n = dgw_conn_peek_output(t->c, &o);
    if (n == 0)
        return;
    if (dgw_conn_state(t->c) == DGW_STATE_UPGRADING && t->request[0] == 0) {
        cr_assert_lt(n, sizeof t->request);
        memcpy(t->request, o, n);
        t->request[n] = '\0';
    } else {
        t->wire = realloc(t->wire, t->wire_len + n);
        memcpy(t->wire + t->wire_len, o, n);
        t->wire_len += n;
        parse_client_frames(t);
    }
    dgw_conn_consume_output(t->c, n);
}

void ts_start(ts *t)
{
    /* A new connection: ACKs on their way over the old one are lost. */
    t->nack_due = 0;
    t->beats_acked = ts_count_op(t, 1, 0);
    t->request[0] = '\0';
    t->wire_len = 0;
    reset_compressor(t);
    cr_assert_eq(dgw_conn_start(t->c, t->now), DGW_OK, "start: %s",
                 dgw_conn_last_error(t->c));
    ts_collect(t);
    cr_assert(strncmp(t->request, "GET ", 4) == 0);
}

void ts_build_101(ts *t, char *out, size_t cap)
{
    cr_assert_gt(tk_101_response(t->request, out, cap), 0,
                 "upgrade request without a key:\n%s", t->request);
}

void ts_connect(ts *t)
{
    ts_start(t);
    char resp[512];
    ts_build_101(t, resp, sizeof resp);
    ts_feed(t, resp, strlen(resp));
    cr_assert_eq(dgw_conn_state(t->c), DGW_STATE_WAIT_HELLO, "state %s: %s",
                 dgw_state_name(dgw_conn_state(t->c)),
                 dgw_conn_last_error(t->c));
}

void ts_feed_split(ts *t, const void *p, size_t n, size_t split)
{
    const uint8_t *b = p;
    size_t off = 0;
    t->last_recv = 0;
    while (off < n) {
        size_t chunk = split && split < n - off ? split : n - off;
        size_t done = 0;
        int spins = 0;
        while (done < chunk) {
            long r = dgw_conn_recv(t->c, b + off + done, chunk - done, t->now);
            if (r < 0) {
                t->last_recv = r;
                ts_collect(t);
                return;
            }
            done += (size_t)r;
            ts_collect(t);
            cr_assert_lt(++spins, 100000, "recv makes no progress");
        }
        off += chunk;
    }
    ts_collect(t);
}

void ts_feed(ts *t, const void *p, size_t n)
{
    ts_feed_split(t, p, n, 0);
}

void ts_eof(ts *t)
{
    dgw_conn_recv_eof(t->c, t->now);
    ts_collect(t);
}

size_t ts_frame(uint8_t *out, bool fin, uint8_t opcode, const void *p,
                size_t n, const uint8_t *mask)
{
    return tk_frame(out, fin, opcode, p, n, mask);
}

size_t ts_compress(ts *t, const char *json, uint8_t **out)
{
    size_t n = strlen(json);
    uint8_t *etf = NULL;
    if (t->cfg.encoding == DGW_ENCODING_ETF) {
        /* As Discord sends it: atom keys, snowflakes as integers. */
        size_t cap = 4 * n + 64, len;
        etf = malloc(cap);
        const char *why = NULL;
        cr_assert_eq(dgw_etf_encode(json, n, DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS,
                                    etf, cap, &len, &why),
                     DGW_OK, "cannot encode the test payload as ETF: %s", why);
        json = (const char *)etf;
        n = len;
    }
    if (t->comp == DGW_COMPRESS_ZLIB_STREAM) {
        z_stream *z = t->zdef;
        size_t cap = deflateBound(z, n) + 64;
        *out = malloc(cap);
        z->next_in = (Bytef *)json;
        z->avail_in = (uInt)n;
        z->next_out = *out;
        z->avail_out = (uInt)cap;
        cr_assert_eq(deflate(z, Z_SYNC_FLUSH), Z_OK);
        free(etf);
        return cap - z->avail_out;
    }
#ifdef DGW_HAVE_ZSTD
    if (t->comp == DGW_COMPRESS_ZSTD_STREAM) {
        size_t cap = ZSTD_compressBound(n) + 64;
        *out = malloc(cap);
        ZSTD_inBuffer in = {json, n, 0};
        ZSTD_outBuffer ob = {*out, cap, 0};
        size_t r;
        do {
            r = ZSTD_compressStream2(t->zstd, &ob, &in, ZSTD_e_flush);
            cr_assert(!ZSTD_isError(r));
        } while (r != 0);
        free(etf);
        return ob.pos;
    }
#endif
    *out = malloc(n + 1);
    memcpy(*out, json, n);
    free(etf);
    return n;
}

void ts_send_zlib_payload(ts *t, const char *json, long cut)
{
    uLong n = (uLong)strlen(json);
    uLongf cap = compressBound(n) + 16;
    uint8_t *z = malloc(cap + 16);
    cr_assert_eq(compress2(z, &cap, (const Bytef *)json, n, 6), Z_OK);
    size_t len = cap;
    if (cut > 0)
        len -= (size_t)cut < len ? (size_t)cut : len;
    for (long i = 0; i < -cut; i++)
        z[len++] = (uint8_t)(0x5a + i);
    ts_send_frame(t, true, 2, z, len);
    free(z);
}

void ts_send_json_frag(ts *t, const char *json, size_t frag)
{
    uint8_t *body;
    size_t n = ts_compress(t, json, &body);
    uint8_t op = t->comp == DGW_COMPRESS_NONE && t->cfg.encoding != DGW_ENCODING_ETF ? 1 : 2;
    uint8_t *wire = malloc(n + 14 * (frag ? n / frag + 2 : 1));
    size_t w = 0;
    if (!frag || frag >= n) {
        w = ts_frame(wire, true, op, body, n, NULL);
    } else {
        for (size_t off = 0; off < n; off += frag) {
            size_t k = n - off < frag ? n - off : frag;
            w += ts_frame(wire + w, off + k == n, off ? 0 : op, body + off, k,
                          NULL);
        }
    }
    ts_feed(t, wire, w);
    free(wire);
    free(body);
}

void ts_send_json(ts *t, const char *json)
{
    ts_send_json_frag(t, json, 0);
}

void ts_hello(ts *t, uint32_t interval)
{
    char b[96];
    snprintf(b, sizeof b, "{\"op\":10,\"d\":{\"heartbeat_interval\":%u}}",
             interval);
    ts_send_json(t, b);
}

void ts_dispatch(ts *t, int64_t seq, const char *name, const char *d)
{
    size_t n = strlen(d) + strlen(name) + 64;
    char *b = malloc(n);
    snprintf(b, n, "{\"t\":\"%s\",\"s\":%lld,\"op\":0,\"d\":%s}", name,
             (long long)seq, d);
    ts_send_json(t, b);
    free(b);
}

void ts_ready(ts *t, const char *session_id, const char *resume_url)
{
    char d[512];
    snprintf(d, sizeof d,
             "{\"v\":10,\"user\":{\"id\":\"1\"},\"guilds\":[],"
             "\"session_id\":\"%s\",\"resume_gateway_url\":\"%s\"}",
             session_id, resume_url);
    ts_dispatch(t, 1, "READY", d);
}

void ts_establish(ts *t, uint32_t interval)
{
    ts_connect(t);
    ts_hello(t, interval);
    cr_assert_eq(ts_count_op(t, 2, 0), 1, "no IDENTIFY after HELLO");
    ts_ready(t, "sess-1", "ws://resume.test/");
    cr_assert_eq(dgw_conn_state(t->c), DGW_STATE_CONNECTED);
}

void ts_establish_stable(ts *t, uint32_t interval)
{
    ts_establish(t, interval);
    ts_advance_acking(t, t->cfg.backoff_stable_ms ? t->cfg.backoff_stable_ms
                                                  : 60000);
    cr_assert_eq(dgw_conn_state(t->c), DGW_STATE_CONNECTED);
}

void ts_advance(ts *t, uint64_t ms)
{
    uint64_t target = t->now + ms;
    for (int guard = 0; guard < 10000000; guard++) {
        uint64_t next = dgw_conn_next_timeout(t->c);
        if (next == DGW_NO_TIMEOUT || next > target)
            break;
        if (next > t->now)
            t->now = next;
        dgw_conn_handle_timeout(t->c, t->now);
        ts_collect(t);
        if (dgw_conn_next_timeout(t->c) <= t->now &&
            dgw_conn_state(t->c) == DGW_STATE_CLOSED)
            break;
    }
    t->now = target;
    dgw_conn_handle_timeout(t->c, t->now);
    ts_collect(t);
}

/* Text frames, or under ETF binary ones: gateway payloads. */
static bool payload_frame(const ts_frame_out *f)
{
    return f->opcode == 1 || f->etf;
}

static int op_of(const ts_frame_out *f)
{
    const char *p = strstr(f->payload, "\"op\":");
    return p ? atoi(p + 5) : -1;
}

size_t ts_count_op(const ts *t, int op, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < t->nout; i++)
        if (payload_frame(&t->out[i]) && op_of(&t->out[i]) == op)
            n++;
    return n;
}

const ts_frame_out *ts_last_op(const ts *t, int op)
{
    for (size_t i = t->nout; i-- > 0;)
        if (payload_frame(&t->out[i]) && op_of(&t->out[i]) == op)
            return &t->out[i];
    return NULL;
}

const ts_frame_out *ts_last_close(const ts *t)
{
    for (size_t i = t->nout; i-- > 0;)
        if (t->out[i].opcode == 8)
            return &t->out[i];
    return NULL;
}

uint16_t ts_close_code_of(const ts_frame_out *f)
{
    if (!f || f->len < 2)
        return 0;
    return (uint16_t)((uint8_t)f->payload[0] << 8 | (uint8_t)f->payload[1]);
}

const ts_event *ts_last_event(const ts *t, dgw_event_type type)
{
    for (size_t i = t->nev; i-- > 0;)
        if (t->ev[i].type == type)
            return &t->ev[i];
    return NULL;
}

size_t ts_count_events(const ts *t, dgw_event_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nev; i++)
        if (t->ev[i].type == type)
            n++;
    return n;
}

/* --- Additions for the unit suites. --- */

void ts_send_frame(ts *t, bool fin, uint8_t opcode, const void *p, size_t n)
{
    uint8_t *wire = malloc(n + 14);
    size_t w = ts_frame(wire, fin, opcode, p, n, NULL);
    ts_feed(t, wire, w);
    free(wire);
}

void ts_server_close(ts *t, uint16_t code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;
    if (code) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        size_t rl = reason ? strlen(reason) : 0;
        cr_assert_leq(rl, 123);
        memcpy(p + 2, reason ? reason : "", rl);
        n += rl;
    }
    ts_send_frame(t, true, 8, p, n);
}

/* Schedules an ACK for every beat not answered yet, rtt_ms after it left. */
static void note_beats(ts *t)
{
    for (size_t i = 0, n = 0; i < t->nout; i++) {
        if (ts_op_of(&t->out[i]) != 1)
            continue;
        if (n++ < t->beats_acked)
            continue;
        cr_assert_lt(t->nack_due, sizeof t->ack_due / sizeof t->ack_due[0]);
        t->ack_due[t->nack_due++] = t->out[i].at + t->rtt_ms;
        t->beats_acked++;
    }
}

static void deliver_acks(ts *t)
{
    size_t k = 0;
    while (k < t->nack_due && t->ack_due[k] <= t->now)
        k++;
    memmove(t->ack_due, t->ack_due + k, (t->nack_due - k) * sizeof *t->ack_due);
    t->nack_due -= k;
    for (; k > 0; k--)
        if (dgw_conn_state(t->c) != DGW_STATE_CLOSED)
            ts_send_json(t, "{\"op\":11}");
}

void ts_advance_acking(ts *t, uint64_t ms)
{
    uint64_t target = t->now + ms;
    for (int guard = 0; guard < 10000000; guard++) {
        note_beats(t);
        deliver_acks(t);
        note_beats(t);
        uint64_t next = dgw_conn_next_timeout(t->c);
        if (t->nack_due && t->ack_due[0] < next)
            next = t->ack_due[0];
        if (next == DGW_NO_TIMEOUT || next > target ||
            dgw_conn_state(t->c) == DGW_STATE_CLOSED)
            break;
        if (next > t->now)
            t->now = next;
        dgw_conn_handle_timeout(t->c, t->now);
        ts_collect(t);
    }
    t->now = target;
    dgw_conn_handle_timeout(t->c, t->now);
    ts_collect(t);
    note_beats(t);
    deliver_acks(t);
}

size_t ts_count_opcode(const ts *t, uint8_t opcode, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < t->nout; i++)
        if (t->out[i].opcode == opcode)
            n++;
    return n;
}

int ts_op_of(const ts_frame_out *f)
{
    return f && payload_frame(f) ? op_of(f) : -1;
}

long ts_find_event(const ts *t, dgw_event_type type, size_t from)
{
    for (size_t i = from; i < t->nev; i++)
        if (t->ev[i].type == type)
            return (long)i;
    return -1;
}

dgw_err ts_try_start(ts *t)
{
    t->request[0] = '\0';
    t->wire_len = 0;
    reset_compressor(t);
    dgw_err e = dgw_conn_start(t->c, t->now);
    if (e == DGW_OK)
        ts_collect(t);
    return e;
}
