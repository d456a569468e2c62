/* Transport compression: zlib-stream and zstd-stream, split anywhere,
 * corrupt, oversized, truncated, and reset across connections. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(compression, .fini = teardown);

/* A dispatch payload with a recognisable, varying body. */
static char *make_payload(int64_t seq, size_t pad)
{
    size_t cap = pad + 128;
    char *p = malloc(cap);
    int n = snprintf(p, cap, "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":%lld,\"d\":{\"n\":%lld,\"c\":\"",
                     (long long)seq, (long long)seq * 7919);
    for (size_t i = 0; i < pad; i++)
        p[n + (int)i] = (char)('a' + (seq * 31 + (int64_t)i * (int64_t)i) % 26);
    snprintf(p + n + pad, cap - (size_t)n - pad, "\"}}");
    return p;
}

/* The "d" of make_payload(seq, pad). */
static char *expected_d(int64_t seq, size_t pad)
{
    char *p = make_payload(seq, pad);
    char *d = strstr(p, "\"d\":") + 4;
    char *r = strdup(d);
    r[strlen(r) - 1] = 0; /* drop the payload's closing brace */
    free(p);
    return r;
}

static void many_payloads(dgw_compress comp)
{
    ts_init(&T, comp);
    ts_establish(&T, 41250);
    for (int i = 0; i < 300; i++) {
        size_t pad = (size_t)(i * 37 % 900);
        char *p = make_payload(i + 2, pad);
        ts_send_json(&T, p);
        free(p);
        cr_assert_eq(T.last_recv, 0, "payload %d: %s", i, dgw_conn_last_error(T.c));
        const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
        cr_assert_eq(e->seq, i + 2);
        char *d = expected_d(i + 2, pad);
        cr_assert_str_eq(e->data, d, "payload %d", i);
        free(d);
    }
    cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 301);
    cr_assert_eq(dgw_conn_last_seq(T.c), 301);
}

/* Sends the compressed bytes of one payload as a message of two frames,
 * the first with k bytes. */
static void send_split_message(const uint8_t *body, size_t n, size_t k)
{
    uint8_t *w = malloc(n + 32);
    size_t len = ts_frame(w, false, 2, body, k, NULL);
    len += ts_frame(w + len, true, 0, body + k, n - k, NULL);
    ts_feed(&T, w, len);
    free(w);
}

static void split_at_every_offset(dgw_compress comp)
{
    /* A fresh stream for every offset, so each split hits the same bytes;
     * a payload before it makes the context non-trivial. */
    size_t n_first = 0;
    for (size_t k = 1;; k++) {
        ts_init(&T, comp);
        ts_establish(&T, 41250);
        char *warm = make_payload(2, 200);
        ts_send_json(&T, warm);
        free(warm);
        char *p = make_payload(3, 400);
        uint8_t *body;
        size_t n = ts_compress(&T, p, &body);
        if (k == 1)
            n_first = n;
        cr_assert_eq(n, n_first, "compressor is not deterministic");
        if (k >= n) {
            /* T stays live: the suite's teardown frees it. */
            free(body);
            free(p);
            break;
        }
        if (comp == DGW_COMPRESS_ZLIB_STREAM)
            cr_assert_eq(memcmp(body + n - 4, "\x00\x00\xff\xff", 4), 0);
        send_split_message(body, n, k);
        cr_assert_eq(T.last_recv, 0, "offset %zu/%zu: %s", k, n,
                     dgw_conn_last_error(T.c));
        cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 3, "offset %zu/%zu", k, n);
        char *d = expected_d(3, 400);
        cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->data, d, "offset %zu", k);
        free(d);
        free(body);
        free(p);
        ts_free(&T);
    }
    cr_assert_gt(n_first, 8);
}

static void tcp_split_every_size(dgw_compress comp)
{
    /* The same compressed message, fed at every read size. */
    for (size_t split = 1; split < 200; split += (split < 40 ? 1 : 13)) {
        ts_init(&T, comp);
        ts_establish(&T, 41250);
        char *p = make_payload(2, 500);
        uint8_t *body;
        size_t n = ts_compress(&T, p, &body);
        uint8_t *w = malloc(n + 16);
        size_t len = ts_frame(w, true, 2, body, n, NULL);
        ts_feed_split(&T, w, len, split);
        cr_assert_eq(T.last_recv, 0, "split %zu: %s", split, dgw_conn_last_error(T.c));
        cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 2, "split %zu", split);
        char *d = expected_d(2, 500);
        cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->data, d);
        free(d);
        free(w);
        free(body);
        free(p);
        ts_free(&T);
    }
    ts_init(&T, comp);
}

static void expect_fail(dgw_err err, uint16_t ws_code)
{
    cr_assert_eq(T.last_recv, err, "recv returned %ld, want %d; %s", T.last_recv, err,
                 dgw_conn_last_error(T.c));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, err);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), ws_code, "close code %u",
                 ts_close_code_of(ts_last_close(&T)));
}

static void corrupt(dgw_compress comp)
{
    ts_init(&T, comp);
    ts_establish(&T, 41250);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(0xA5 ^ (i * 29));
    memcpy(junk + sizeof junk - 4, "\x00\x00\xff\xff", 4);
    ts_send_frame(&T, true, 2, junk, sizeof junk);
    expect_fail(DGW_ERR_INFLATE, 1007);
    cr_assert(strstr(dgw_conn_last_error(T.c), "decompress"), "%s",
              dgw_conn_last_error(T.c));
}

static void over_cap(dgw_compress comp)
{
    ts_init(&T, comp);
    T.cfg.max_message_size = 64 * 1024;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    size_t big = 1 << 20;
    char *p = malloc(big + 64);
    int h = snprintf(p, 64, "{\"op\":0,\"t\":\"X\",\"s\":2,\"d\":\"");
    memset(p + h, 'A', big);
    strcpy(p + h + big, "\"}");
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    cr_assert_lt(n, 64 * 1024, "test payload must be small on the wire");
    ts_send_frame(&T, true, 2, body, n);
    free(body);
    free(p);
    expect_fail(DGW_ERR_INFLATE_TOO_LARGE, 1009);
    cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 1);
    /* The output cap bounds the message buffer; zstd's window is bounded
     * separately (window log 23 at most). */
    size_t bound = comp == DGW_COMPRESS_ZLIB_STREAM ? 256 * 1024 : (9u << 20);
    cr_log_info("peak during a refused 1 MiB payload (cap 64 KiB): %zu bytes",
                T.alloc_peak);
    cr_assert_lt(T.alloc_peak, bound, "peak %zu: the cap must bound memory",
                 T.alloc_peak);
}

/* A payload of exactly max_message_size bytes passes and one byte more
 * fails, whatever the compression: the cap is the same at its edge. */
static void cap_edge(dgw_compress comp, size_t size, bool fits)
{
    ts_init(&T, comp);
    T.cfg.max_message_size = 8192;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    char *p = malloc(size + 1);
    int h = snprintf(p, 64, "{\"op\":0,\"t\":\"X\",\"s\":2,\"d\":\"");
    memset(p + h, 'A', size - (size_t)h - 2);
    memcpy(p + size - 2, "\"}", 3);
    cr_assert_eq(strlen(p), size);
    ts_send_json(&T, p);
    free(p);
    if (!fits) {
        cr_assert_neq(T.last_recv, 0, "a %zu-byte payload passed a cap of 8192", size);
        return;
    }
    cr_assert_eq(T.last_recv, 0, "a %zu-byte payload refused by a cap of 8192: %s", size,
                 dgw_conn_last_error(T.c));
    cr_assert_eq(ts_last_event(&T, DGW_EV_DISPATCH)->seq, 2);
}

Test(compression, none_payload_of_exactly_the_cap_passes) { cap_edge(DGW_COMPRESS_NONE, 8192, true); }
Test(compression, none_payload_over_the_cap_fails) { cap_edge(DGW_COMPRESS_NONE, 8193, false); }
Test(compression, zlib_payload_of_exactly_the_cap_passes) { cap_edge(DGW_COMPRESS_ZLIB_STREAM, 8192, true); }
Test(compression, zlib_payload_over_the_cap_fails) { cap_edge(DGW_COMPRESS_ZLIB_STREAM, 8193, false); }
#ifdef DGW_HAVE_ZSTD
Test(compression, zstd_payload_of_exactly_the_cap_passes) { cap_edge(DGW_COMPRESS_ZSTD_STREAM, 8192, true); }
Test(compression, zstd_payload_over_the_cap_fails) { cap_edge(DGW_COMPRESS_ZSTD_STREAM, 8193, false); }
#endif

/* ---- zlib-stream ---- */

Test(compression, zlib_many_payloads_one_context)
{
    many_payloads(DGW_COMPRESS_ZLIB_STREAM);
}

Test(compression, zlib_message_split_into_frames_at_every_offset)
{
    split_at_every_offset(DGW_COMPRESS_ZLIB_STREAM);
}

Test(compression, zlib_reads_split_at_every_size)
{
    tcp_split_every_size(DGW_COMPRESS_ZLIB_STREAM);
}

Test(compression, zlib_payload_across_two_messages)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    /* The same kind of payload cut at several offsets (the middle, and
     * inside the suffix), each time as two complete WebSocket messages:
     * nothing until the second arrives. */
    for (size_t i = 0; i < 5; i++) {
        char *p = make_payload((int64_t)i + 2, 700);
        uint8_t *body;
        size_t n = ts_compress(&T, p, &body);
        size_t k = i == 0 ? n / 2 : n - i;
        size_t before = ts_count_events(&T, DGW_EV_DISPATCH);
        ts_send_frame(&T, true, 2, body, k);
        cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
        cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), before,
                     "delivered before the suffix (cut %zu of %zu)", k, n);
        ts_send_frame(&T, true, 2, body + k, n - k);
        cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
        cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), before + 1,
                     "not delivered once complete (cut %zu of %zu)", k, n);
        char *d = expected_d((int64_t)i + 2, 700);
        cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->data, d);
        free(d);
        free(body);
        free(p);
    }
}

Test(compression, zlib_many_small_payloads_back_to_back)
{
    /* Twenty small messages in a row, one payload each: none is lost or
     * merged with the next. */
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    for (int i = 0; i < 20; i++)
        ts_send_json(&T, "{\"op\":11}");
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 20);
}

Test(compression, zlib_corrupt_data)
{
    corrupt(DGW_COMPRESS_ZLIB_STREAM);
}

Test(compression, zlib_corrupt_midstream)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    char *p = make_payload(2, 300);
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    for (size_t i = 2; i < n - 4; i += 3)
        body[i] ^= 0x5A;
    ts_send_frame(&T, true, 2, body, n);
    free(body);
    free(p);
    expect_fail(DGW_ERR_INFLATE, 1007);
}

Test(compression, zlib_text_frame_payload_still_accepted)
{
    /* Discord may send uncompressed text frames on a compressed transport
     * (they are not part of the zlib stream). */
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    ts_send_frame(&T, true, 1, "{\"op\":11}", 9);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
    ts_dispatch(&T, 2, "AFTER", "{}");
    cr_assert_eq(ts_last_event(&T, DGW_EV_DISPATCH)->seq, 2);
}

Test(compression, zlib_inflate_past_cap_is_1009)
{
    over_cap(DGW_COMPRESS_ZLIB_STREAM);
}

Test(compression, zlib_eof_mid_payload)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    char *p = make_payload(2, 700);
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    ts_send_frame(&T, true, 2, body, n / 2); /* a message without the suffix */
    free(body);
    free(p);
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->error == DGW_ERR_INFLATE_TRUNCATED || e->error == DGW_ERR_EOF,
              "error %d", e->error);
    cr_assert(e->resumable);
    cr_assert(strstr(dgw_conn_last_error(T.c), "inside"), "last_error: %s",
              dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 1);
}

Test(compression, zlib_eof_mid_payload_is_truncated_error)
{
    /* dgw.h documents DGW_ERR_INFLATE_TRUNCATED for "the stream ended
     * inside a payload": that is what a caller must see here. */
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    char *p = make_payload(2, 700);
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    ts_send_frame(&T, true, 2, body, n / 2);
    free(body);
    free(p);
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_INFLATE_TRUNCATED, "error %d (%s)", e->error,
                 dgw_strerror(e->error));
}

Test(compression, zlib_eof_mid_frame)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    char *p = make_payload(2, 700);
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    uint8_t *w = malloc(n + 16);
    size_t len = ts_frame(w, true, 2, body, n, NULL);
    ts_feed(&T, w, len - 10);
    free(w);
    free(body);
    free(p);
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_neq(e->error, DGW_OK);
    cr_assert(strstr(dgw_conn_last_error(T.c), "inside"), "%s",
              dgw_conn_last_error(T.c));
}

static char *big_ready(size_t target)
{
    char *d = malloc(target + 512);
    size_t n = (size_t)sprintf(d, "{\"t\":\"READY\",\"s\":1,\"op\":0,\"d\":{\"v\":10,\"guilds\":[");
    int g = 0;
    while (n < target) {
        n += (size_t)sprintf(d + n, "%s{\"id\":\"%d\",\"name\":\"guild \\\"%d\\\"\",\"unavailable\":true}",
                             g ? "," : "", 100000 + g, g);
        g++;
    }
    sprintf(d + n, "],\"session_id\":\"big-session\",\"resume_gateway_url\":\"ws://resume.test/\"}}");
    return d;
}

Test(compression, zlib_one_mib_ready)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_connect(&T);
    ts_hello(&T, 41250);
    char *r = big_ready(1 << 20);
    size_t rl = strlen(r);
    cr_assert_geq(rl, 1u << 20);
    ts_send_json_frag(&T, r, 3000);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_str_eq(dgw_conn_session_id(T.c), "big-session");
    cr_assert_str_eq(dgw_conn_resume_url(T.c), "ws://resume.test/");
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "READY");
    cr_assert_gt(e->data_len, 1u << 20);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    free(r);
}

Test(compression, zlib_reconnect_resets_inflate_context)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    for (int i = 0; i < 5; i++) {
        char *p = make_payload(i + 2, 100);
        ts_send_json(&T, p);
        free(p);
    }
    ts_eof(&T);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    ts_connect(&T); /* the harness starts a new zlib stream here */
    ts_hello(&T, 41250);
    cr_assert_eq(T.last_recv, 0, "new stream refused: %s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_HELLO), 2);
    cr_assert_not_null(ts_last_op(&T, 6), "no RESUME on the new connection");
    ts_dispatch(&T, 7, "RESUMED", "{}");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

/* The old connection died inside a payload: its half must not leak into
 * the new stream, and the session is resumed on the new connection. */
static void reconnect_mid_payload(dgw_compress comp)
{
    ts_init(&T, comp);
    ts_establish(&T, 41250);
    char *p = make_payload(2, 500);
    uint8_t *body;
    size_t n = ts_compress(&T, p, &body);
    ts_send_frame(&T, true, 2, body, n / 2);
    free(body);
    free(p);
    ts_eof(&T);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    ts_connect(&T); /* the harness starts a new stream here */
    ts_hello(&T, 41250);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_HELLO), 2);
    cr_assert_not_null(ts_last_op(&T, 6), "no RESUME on the new connection");
}

Test(compression, zlib_reconnect_mid_payload_resets)
{
    reconnect_mid_payload(DGW_COMPRESS_ZLIB_STREAM);
}

/* ---- zstd-stream ---- */

#ifdef DGW_HAVE_ZSTD
Test(compression, zstd_many_payloads_one_context)
{
    many_payloads(DGW_COMPRESS_ZSTD_STREAM);
}

Test(compression, zstd_message_split_into_frames_at_every_offset)
{
    split_at_every_offset(DGW_COMPRESS_ZSTD_STREAM);
}

Test(compression, zstd_reads_split_at_every_size)
{
    tcp_split_every_size(DGW_COMPRESS_ZSTD_STREAM);
}

Test(compression, zstd_corrupt_data)
{
    corrupt(DGW_COMPRESS_ZSTD_STREAM);
}

Test(compression, zstd_decompress_past_cap_is_1009)
{
    over_cap(DGW_COMPRESS_ZSTD_STREAM);
}

Test(compression, zstd_one_mib_ready)
{
    ts_init(&T, DGW_COMPRESS_ZSTD_STREAM);
    ts_connect(&T);
    ts_hello(&T, 41250);
    char *r = big_ready(1 << 20);
    ts_send_json_frag(&T, r, 3000);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_str_eq(dgw_conn_session_id(T.c), "big-session");
    free(r);
}

Test(compression, zstd_reconnect_resets_context)
{
    reconnect_mid_payload(DGW_COMPRESS_ZSTD_STREAM);
}
#endif
