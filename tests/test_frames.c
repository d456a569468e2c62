/* WebSocket framing: every bad-input item of RFC 6455's receive rules gives a
 * clear error and the right close code; pings, fragments, splits and the
 * close handshake work. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(frames, .fini = teardown);

static void open_conn(void)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
}

static void feed_bytes(const uint8_t *p, size_t n) { ts_feed(&T, p, n); }

/* The connection failed with err, told the server with ws_code, and says
 * why. */
static void expect_fail(dgw_err err, uint16_t ws_code)
{
    cr_assert_eq(T.last_recv, err, "recv returned %ld, want %d (%s); last error: %s",
                 T.last_recv, err, dgw_strerror(err), dgw_conn_last_error(T.c));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_eq(e->error, err, "CLOSED carries %d", e->error);
    cr_assert(!e->by_server);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0, "empty last_error");
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl, "no close frame from the client");
    cr_assert_eq(ts_close_code_of(cl), ws_code, "close code %u, want %u",
                 ts_close_code_of(cl), ws_code);
    cr_assert_eq(e->close_code, ws_code);
    /* Further bytes are ignored, not parsed. */
    size_t nev = T.nev;
    ts_send_json(&T, "{\"op\":11}");
    cr_assert_eq(T.nev, nev);
    cr_assert_eq(T.last_recv, 0);
}

Test(frames, masked_server_frame_is_protocol_error)
{
    open_conn();
    uint8_t w[64];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t n = ts_frame(w, true, 1, "{\"op\":11}", 9, mask);
    feed_bytes(w, n);
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
    cr_assert(strstr(dgw_conn_last_error(T.c), "mask"), "%s",
              dgw_conn_last_error(T.c));
}

Test(frames, masked_empty_server_frame_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t n = ts_frame(w, true, 10, "", 0, mask); /* masked empty pong */
    feed_bytes(w, n);
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
}

Test(frames, reserved_bits_are_protocol_error)
{
    static const uint8_t rsv[] = {0x40, 0x20, 0x10};
    for (size_t i = 0; i < sizeof rsv; i++) {
        open_conn();
        uint8_t w[64];
        size_t n = ts_frame(w, true, (uint8_t)(rsv[i] | 1), "{\"op\":11}", 9, NULL);
        feed_bytes(w, n);
        expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
        ts_free(&T);
    }
    open_conn(); /* for teardown */
}

Test(frames, unknown_data_opcode_3_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 3, "abc", 3, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
    cr_assert(strstr(dgw_conn_last_error(T.c), "opcode"), "%s",
              dgw_conn_last_error(T.c));
}

Test(frames, unknown_control_opcode_0xB_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 0xB, "abc", 3, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
}

Test(frames, unknown_control_opcode_0xB_empty_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 0xB, "", 0, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
}

Test(frames, fragmented_ping_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, false, 9, "ab", 2, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
}

Test(frames, control_frame_over_125_bytes_is_protocol_error)
{
    open_conn();
    uint8_t p[126], w[200];
    memset(p, 'p', sizeof p);
    feed_bytes(w, ts_frame(w, true, 9, p, sizeof p, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
    cr_assert_eq(ts_count_opcode(&T, 10, 0), 0, "answered an oversized ping");
}

Test(frames, length_beyond_cap_is_too_large)
{
    open_conn();
    /* 64-bit length 2^40 with a few payload bytes following. */
    uint8_t w[32] = {0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0, '{', '"', 'o', 'p'};
    feed_bytes(w, 14);
    expect_fail(DGW_ERR_WS_TOO_LARGE, 1009);
}

Test(frames, length_beyond_cap_refused_at_the_header)
{
    open_conn();
    /* The frame is judged as soon as its header is complete: nothing of
     * the announced 2^40 bytes is waited for or buffered. */
    uint8_t w[10] = {0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0};
    feed_bytes(w, 9);
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    feed_bytes(w + 9, 1);
    expect_fail(DGW_ERR_WS_TOO_LARGE, 1009);
    cr_assert_lt(dgw_conn_memory(T.c), 64 * 1024);
}

Test(frames, frame_over_configured_max_message_size)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.max_message_size = 1024;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    char *big = malloc(2048);
    memset(big, ' ', 2047);
    memcpy(big, "{\"op\":11}", 9);
    uint8_t *w = malloc(2100);
    size_t n = ts_frame(w, true, 1, big, 2047, NULL);
    feed_bytes(w, n);
    free(w);
    free(big);
    expect_fail(DGW_ERR_WS_TOO_LARGE, 1009);
}

Test(frames, fragments_summing_past_max_message_size)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.max_message_size = 1024;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    char part[600];
    memset(part, ' ', sizeof part);
    uint8_t w[700];
    feed_bytes(w, ts_frame(w, false, 1, part, sizeof part, NULL));
    cr_assert_eq(T.last_recv, 0);
    feed_bytes(w, ts_frame(w, true, 0, part, sizeof part, NULL));
    expect_fail(DGW_ERR_WS_TOO_LARGE, 1009);
}

Test(frames, length_with_top_bit_is_protocol_error)
{
    open_conn();
    uint8_t w[16] = {0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 'x', 'y'};
    feed_bytes(w, 12);
    cr_assert_lt(T.last_recv, 0);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->error == DGW_ERR_WS_PROTOCOL || e->error == DGW_ERR_WS_TOO_LARGE,
              "error %d", e->error);
    uint16_t code = ts_close_code_of(ts_last_close(&T));
    cr_assert(code == 1002 || code == 1009, "code %u", code);
}

Test(frames, invalid_utf8_in_text_is_1007)
{
    open_conn();
    const char bad[] = "{\"op\":0,\"t\":\"X\",\"s\":2,\"d\":\"\xc3\x28\"}";
    uint8_t w[64];
    feed_bytes(w, ts_frame(w, true, 1, bad, sizeof bad - 1, NULL));
    expect_fail(DGW_ERR_WS_UTF8, 1007);
    cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 1, "only READY");
}

Test(frames, overlong_and_surrogate_utf8_is_1007)
{
    static const char *bad[] = {
        "{\"op\":11,\"d\":\"\xc0\xaf\"}",         /* overlong '/' */
        "{\"op\":11,\"d\":\"\xed\xa0\x80\"}",     /* U+D800 */
        "{\"op\":11,\"d\":\"\xf4\x90\x80\x80\"}", /* > U+10FFFF */
        "{\"op\":11,\"d\":\"\xff\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        open_conn();
        uint8_t w[64];
        feed_bytes(w, ts_frame(w, true, 1, bad[i], strlen(bad[i]), NULL));
        expect_fail(DGW_ERR_WS_UTF8, 1007);
        ts_free(&T);
    }
    open_conn();
}

Test(frames, text_ending_inside_utf8_sequence_is_1007)
{
    open_conn();
    /* Valid JSON bytes up to a dangling lead byte at the very end. */
    const char bad[] = "{\"op\":11}\xe2\x82";
    uint8_t w[64];
    feed_bytes(w, ts_frame(w, true, 1, bad, sizeof bad - 1, NULL));
    expect_fail(DGW_ERR_WS_UTF8, 1007);
}

Test(frames, utf8_split_across_fragments_is_valid)
{
    open_conn();
    /* "€" = E2 82 AC split 1|2 and "😀" = F0 9F 98 80 split 3|1. */
    const char *a = "{\"op\":0,\"t\":\"U\",\"s\":2,\"d\":\"\xe2";
    const char *b = "\x82\xac \xf0\x9f\x98";
    const char *c = "\x80\"}";
    uint8_t w[128];
    feed_bytes(w, ts_frame(w, false, 1, a, strlen(a), NULL));
    feed_bytes(w, ts_frame(w, false, 0, b, strlen(b), NULL));
    feed_bytes(w, ts_frame(w, true, 0, c, strlen(c), NULL));
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "U");
    cr_assert_str_eq(e->data, "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(frames, close_with_one_byte_payload_is_protocol_error)
{
    open_conn();
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 8, "\x03", 1, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
}

Test(frames, close_with_invalid_codes_is_protocol_error)
{
    static const uint16_t codes[] = {1005, 999, 0, 1004, 1006, 1015, 1016,
                                     2999, 5000};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        open_conn();
        uint8_t p[2] = {(uint8_t)(codes[i] >> 8), (uint8_t)codes[i]};
        uint8_t w[16];
        feed_bytes(w, ts_frame(w, true, 8, p, 2, NULL));
        cr_expect_eq(T.last_recv, DGW_ERR_WS_PROTOCOL, "code %u accepted",
                     codes[i]);
        expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
        ts_free(&T);
    }
    open_conn();
}

Test(frames, close_reason_invalid_utf8_is_1007)
{
    open_conn();
    uint8_t p[] = {0x0f, 0xa0, 'b', 'a', 'd', 0xc3};
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 8, p, sizeof p, NULL));
    expect_fail(DGW_ERR_WS_UTF8, 1007);
}

Test(frames, continuation_without_start_is_protocol_error)
{
    open_conn();
    uint8_t w[32];
    feed_bytes(w, ts_frame(w, true, 0, "{\"op\":11}", 9, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
    cr_assert(strstr(dgw_conn_last_error(T.c), "continuation"), "%s",
              dgw_conn_last_error(T.c));
}

Test(frames, new_text_frame_inside_fragmented_message)
{
    open_conn();
    uint8_t w[32];
    feed_bytes(w, ts_frame(w, false, 1, "{\"op\":", 6, NULL));
    cr_assert_eq(T.last_recv, 0);
    feed_bytes(w, ts_frame(w, true, 1, "{\"op\":11}", 9, NULL));
    expect_fail(DGW_ERR_WS_PROTOCOL, 1002);
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 0);
}

/* ---- what must work ---- */

Test(frames, ping_answered_with_same_payload)
{
    open_conn();
    size_t from = T.nout;
    uint8_t w[160];
    feed_bytes(w, ts_frame(w, true, 9, "hello-ping", 10, NULL));
    cr_assert_eq(ts_count_opcode(&T, 10, from), 1);
    const ts_frame_out *f = &T.out[T.nout - 1];
    cr_assert_eq(f->opcode, 10);
    cr_assert_eq(f->len, 10);
    cr_assert_eq(memcmp(f->payload, "hello-ping", 10), 0);
    /* Largest allowed ping, binary payload, and an empty one. */
    uint8_t p[125];
    for (int i = 0; i < 125; i++)
        p[i] = (uint8_t)(i * 7);
    feed_bytes(w, ts_frame(w, true, 9, p, 125, NULL));
    f = &T.out[T.nout - 1];
    cr_assert_eq(f->opcode, 10);
    cr_assert_eq(f->len, 125);
    cr_assert_eq(memcmp(f->payload, p, 125), 0);
    feed_bytes(w, ts_frame(w, true, 9, "", 0, NULL));
    f = &T.out[T.nout - 1];
    cr_assert_eq(f->opcode, 10);
    cr_assert_eq(f->len, 0);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(frames, unsolicited_pong_ignored)
{
    open_conn();
    size_t nev = T.nev, nout = T.nout;
    uint8_t w[32];
    feed_bytes(w, ts_frame(w, true, 10, "x", 1, NULL));
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(T.nev, nev);
    cr_assert_eq(T.nout, nout);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(frames, ping_between_fragments_and_message_reassembled)
{
    open_conn();
    const char *a = "{\"op\":0,\"t\":\"FRAG\",";
    const char *b = "\"s\":5,\"d\":{\"k\":";
    const char *c = "[1,2,3]}}";
    uint8_t w[128];
    size_t from = T.nout;
    feed_bytes(w, ts_frame(w, false, 1, a, strlen(a), NULL));
    feed_bytes(w, ts_frame(w, true, 9, "mid", 3, NULL));
    cr_assert_eq(ts_count_opcode(&T, 10, from), 1, "ping inside a message unanswered");
    cr_assert_eq(memcmp(T.out[T.nout - 1].payload, "mid", 3), 0);
    feed_bytes(w, ts_frame(w, false, 0, b, strlen(b), NULL));
    feed_bytes(w, ts_frame(w, true, 9, "m2", 2, NULL));
    feed_bytes(w, ts_frame(w, true, 0, c, strlen(c), NULL));
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "FRAG");
    cr_assert_eq(e->seq, 5);
    cr_assert_str_eq(e->data, "{\"k\":[1,2,3]}");
    cr_assert_eq(dgw_conn_last_seq(T.c), 5);
}

Test(frames, fragmented_text_with_empty_fragments)
{
    open_conn();
    uint8_t w[64];
    feed_bytes(w, ts_frame(w, false, 1, "", 0, NULL));
    feed_bytes(w, ts_frame(w, false, 0, "{\"op\":", 6, NULL));
    feed_bytes(w, ts_frame(w, false, 0, "", 0, NULL));
    feed_bytes(w, ts_frame(w, false, 0, "11", 2, NULL));
    feed_bytes(w, ts_frame(w, true, 0, "}", 1, NULL));
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
}

Test(frames, large_message_16bit_and_64bit_lengths)
{
    open_conn();
    size_t sizes[] = {125, 126, 65535, 65536, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char *j = malloc(n + 1);
        const char *head = "{\"op\":0,\"t\":\"BIG\",\"s\":9,\"d\":\"";
        size_t h = strlen(head);
        memcpy(j, head, h);
        memset(j + h, 'z', n - h - 2);
        memcpy(j + n - 2, "\"}", 2);
        j[n] = 0;
        size_t before = ts_count_events(&T, DGW_EV_DISPATCH);
        ts_send_json(&T, j);
        cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), before + 1, "size %zu", n);
        cr_assert_eq(ts_last_event(&T, DGW_EV_DISPATCH)->data_len, n - h + 1 - 2 + 1,
                     "size %zu", n);
        free(j);
    }
}

/* A stream of frames (pings, fragments, payloads) and the server's close. */
static size_t build_stream(uint8_t *w)
{
    size_t n = 0;
    const char *p1 = "{\"op\":0,\"t\":\"A\",\"s\":2,\"d\":{\"x\":\"\xc3\xa9\xe2\x82\xac\"}}";
    n += ts_frame(w + n, true, 1, p1, strlen(p1), NULL);
    n += ts_frame(w + n, true, 9, "pp", 2, NULL);
    n += ts_frame(w + n, false, 1, "{\"op\":0,\"t\":\"B\",", 16, NULL);
    n += ts_frame(w + n, true, 9, "", 0, NULL);
    n += ts_frame(w + n, true, 0, "\"s\":3,\"d\":[1]}", 14, NULL);
    n += ts_frame(w + n, true, 1, "{\"op\":11}", 9, NULL);
    char big[400];
    int k = snprintf(big, sizeof big, "{\"op\":0,\"t\":\"C\",\"s\":4,\"d\":\"");
    memset(big + k, 'q', 300);
    memcpy(big + k + 300, "\"}", 3);
    n += ts_frame(w + n, true, 1, big, strlen(big), NULL);
    n += ts_frame(w + n, true, 1, "{\"op\":42,\"d\":null}", 18, NULL);
    n += ts_frame(w + n, true, 8, "\x0f\xa0" "bye", 5, NULL);
    return n;
}

static char *event_signature(void)
{
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    s[0] = 0;
    for (size_t i = 0; i < T.nev; i++)
        len += (size_t)snprintf(s + len, cap - len, "%d/%d/%lld/%s/%s/%u|", T.ev[i].type,
                                T.ev[i].op, (long long)T.ev[i].seq, T.ev[i].name,
                                T.ev[i].data ? T.ev[i].data : "-", T.ev[i].close_code);
    for (size_t i = 0; i < T.nout; i++)
        len += (size_t)snprintf(s + len, cap - len, "o%u:%zu|", T.out[i].opcode,
                                T.out[i].len);
    return s;
}

Test(frames, every_split_size_gives_same_events)
{
    uint8_t w[2048];
    size_t n = build_stream(w);
    char *ref = NULL;
    for (size_t split = 1; split <= n; split++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        ts_establish(&T, 41250);
        ts_feed_split(&T, w, n, split);
        cr_assert_eq(T.last_recv, 0, "split %zu: %s", split, dgw_conn_last_error(T.c));
        char *sig = event_signature();
        if (!ref) {
            ref = sig;
            cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 4);
            cr_assert_eq(ts_count_events(&T, DGW_EV_PAYLOAD), 1);
            cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 1);
            cr_assert_eq(ts_count_opcode(&T, 10, 0), 2);
        } else {
            cr_assert_str_eq(sig, ref, "split %zu differs", split);
            free(sig);
        }
        ts_free(&T);
    }
    free(ref);
    open_conn();
}

Test(frames, server_close_is_echoed)
{
    open_conn();
    ts_server_close(&T, 4000, "oops");
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl, "server close not echoed");
    cr_assert_eq(ts_close_code_of(cl), 4000);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->by_server);
    cr_assert_eq(e->close_code, 4000);
    cr_assert_eq(e->error, DGW_OK);
    cr_assert(e->resumable);
}

Test(frames, server_close_reason_delivered)
{
    open_conn();
    uint8_t w[64];
    feed_bytes(w, ts_frame(w, true, 8, "\x0f\xa1" "Unknown opcode.", 17, NULL));
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->close_code, 4001);
    cr_assert_str_eq(e->reason, "Unknown opcode.");
}

Test(frames, server_close_without_code_is_1005)
{
    open_conn();
    ts_server_close(&T, 0, NULL);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->by_server);
    cr_assert_eq(e->close_code, 1005);
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl);
    cr_assert_eq(cl->len, 0, "1005 must not go on the wire");
}

Test(frames, client_close_waits_for_server_close)
{
    open_conn();
    cr_assert_eq(dgw_conn_close(&*T.c, 4000, "bye", T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSING);
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl);
    cr_assert_eq(ts_close_code_of(cl), 4000);
    cr_assert_eq(cl->len, 5);
    cr_assert_eq(memcmp(cl->payload + 2, "bye", 3), 0);
    cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 0);
    /* Data still arriving is processed while we wait. */
    ts_dispatch(&T, 2, "LATE", "{}");
    cr_assert_eq(ts_count_events(&T, DGW_EV_DISPATCH), 2);
    size_t nout = T.nout;
    ts_server_close(&T, 4000, NULL);
    cr_assert_eq(T.nout, nout, "client closed twice");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(!e->by_server);
    cr_assert_eq(e->close_code, 4000);
    cr_assert_eq(e->error, DGW_OK);
}

Test(frames, client_close_times_out)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.close_timeout_ms = 2000;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    uint64_t t0 = T.now;
    cr_assert_eq(dgw_conn_close(T.c, 4000, NULL, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(dgw_conn_next_timeout(T.c), t0 + 2000);
    ts_advance(&T, 1999);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSING);
    ts_advance(&T, 1);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_TIMEOUT);
    cr_assert_eq(ts_count_op(&T, 1, 0), 0, "heartbeat sent while closing");
}

Test(frames, ping_while_closing_not_answered)
{
    open_conn();
    cr_assert_eq(dgw_conn_close(T.c, 4000, NULL, T.now), DGW_OK);
    ts_collect(&T);
    size_t from = T.nout;
    uint8_t w[16];
    feed_bytes(w, ts_frame(w, true, 9, "x", 1, NULL));
    cr_assert_eq(ts_count_opcode(&T, 10, from), 0,
                 "no frame may follow our close frame");
}

Test(frames, eof_without_close_is_eof_error)
{
    open_conn();
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_EOF);
    cr_assert_eq(e->close_code, 1006);
    cr_assert(e->resumable);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
}

Test(frames, empty_text_message_is_a_payload_error)
{
    /* Found by fuzz_frames: an empty message before any buffer existed
     * did pointer arithmetic on NULL (UB). It is simply not JSON. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    const uint8_t w[2] = {0x81, 0x00};
    ts_feed(&T, w, sizeof w);
    cr_assert_eq(T.last_recv, DGW_ERR_PAYLOAD);
    cr_assert_eq(ts_last_event(&T, DGW_EV_CLOSED)->error, DGW_ERR_PAYLOAD);
}
