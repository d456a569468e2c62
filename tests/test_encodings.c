/* The other wire forms (PROTOCOL.md 1 and 6): encoding=etf, payload
 * compression, and the combinations Discord forbids. The server side of
 * the harness encodes with the library's ETF encoder in the form Discord
 * uses (atom keys, snowflakes as integers); test_etf.c checks that codec
 * against Erlang itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(encodings, .fini = teardown);

static void init(dgw_compress comp, dgw_encoding enc, bool payload_compress)
{
    ts_init(&T, comp);
    T.cfg.encoding = enc;
    T.cfg.payload_compress = payload_compress;
    ts_recreate(&T);
}

static void expect_fail(dgw_err err, uint16_t code)
{
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "no CLOSED event (%s)", dgw_conn_last_error(T.c));
    cr_assert_eq(e->error, err, "error %d, want %d: %s", e->error, err, dgw_conn_last_error(T.c));
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), code);
}

/* ---- ETF ---------------------------------------------------------------- */

static void etf_session(dgw_compress comp)
{
    init(comp, DGW_ENCODING_ETF, false);
    ts_start(&T);
    cr_assert(strstr(T.request, "GET /?v=10&encoding=etf"), "%s", T.request);
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    ts_feed(&T, resp, strlen(resp));
    ts_hello(&T, 41250);
    const ts_frame_out *id = ts_last_op(&T, 2);
    cr_assert_not_null(id, "no IDENTIFY");
    cr_assert_eq(id->opcode, 2, "IDENTIFY must be a binary frame under ETF");
    cr_assert(strstr(id->payload, "\"token\":\"secret-token\""), "%s", id->payload);
    cr_assert_leq(id->wire_len, DGW_MAX_SEND_PAYLOAD);
    ts_ready(&T, "sess-etf", "ws://resume.test/");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    cr_assert_str_eq(dgw_conn_session_id(T.c), "sess-etf");
    cr_assert_str_eq(dgw_conn_resume_url(T.c), "ws://resume.test/");
    /* A snowflake is sent as a 64-bit integer and read back as the same
     * string JSON would carry. */
    ts_dispatch(&T, 2, "MESSAGE_CREATE",
                "{\"id\":\"1186458230485884928\",\"channel_id\":\"81384788765712384\","
                "\"content\":\"h\\u00e9llo\",\"mentions\":[],\"tts\":false,\"n\":7,\"x\":null}");
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "MESSAGE_CREATE");
    cr_assert_eq(e->seq, 2);
    cr_assert(strstr(e->data, "\"id\":\"1186458230485884928\""), "%s", e->data);
    cr_assert(strstr(e->data, "\"channel_id\":\"81384788765712384\""), "%s", e->data);
    cr_assert(strstr(e->data, "\"content\":\"h\xc3\xa9llo\""), "%s", e->data);
    cr_assert(strstr(e->data, "\"n\":7"), "%s", e->data);
    cr_assert(strstr(e->data, "\"x\":null"), "%s", e->data);
    /* Heartbeats and ACKs. */
    ts_advance_acking(&T, 45000);
    const ts_frame_out *hb = ts_last_op(&T, 1);
    cr_assert_not_null(hb);
    cr_assert_eq(hb->opcode, 2);
    cr_assert_str_eq(hb->payload, "{\"op\":1,\"d\":2}");
    cr_assert_gt(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 0);
    /* Resume over ETF. */
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    const ts_frame_out *r = ts_last_op(&T, 6);
    cr_assert_not_null(r);
    cr_assert(strstr(r->payload, "\"session_id\":\"sess-etf\""), "%s", r->payload);
    cr_assert(strstr(r->payload, "\"seq\":2"), "%s", r->payload);
}

Test(encodings, etf_session_plain) { etf_session(DGW_COMPRESS_NONE); }
Test(encodings, etf_session_over_zlib_stream) { etf_session(DGW_COMPRESS_ZLIB_STREAM); }
#ifdef DGW_HAVE_ZSTD
Test(encodings, etf_session_over_zstd_stream) { etf_session(DGW_COMPRESS_ZSTD_STREAM); }
#endif

Test(encodings, etf_payload_split_across_frames)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_ETF, false);
    ts_establish(&T, 41250);
    char d[600];
    snprintf(d, sizeof d, "{\"content\":\"%0400d\",\"id\":\"999999999999999999\"}", 7);
    char p[700];
    snprintf(p, sizeof p, "{\"op\":0,\"s\":2,\"t\":\"SPLIT\",\"d\":%s}", d);
    ts_send_json_frag(&T, p, 7);
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "SPLIT");
    cr_assert(strstr(e->data, "\"id\":\"999999999999999999\""), "%s", e->data);
}

Test(encodings, etf_commands_are_encoded_and_capped_on_the_wire)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_ETF, false);
    ts_establish(&T, 41250);
    dgw_presence pr = {.since_ms = -1, .status = "dnd"};
    cr_assert_eq(dgw_conn_update_presence(T.c, &pr, T.now), DGW_OK);
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "613425648685547541",
                                               DGW_CHANNEL_INFO_STATUS, T.now),
                 DGW_OK);
    ts_collect(&T);
    const ts_frame_out *f = ts_last_op(&T, 3);
    cr_assert_not_null(f);
    cr_assert_eq(f->opcode, 2);
    cr_assert(strstr(f->payload, "\"status\":\"dnd\""), "%s", f->payload);
    f = ts_last_op(&T, 43);
    cr_assert_not_null(f);
    cr_assert(strstr(f->payload, "\"guild_id\":\"613425648685547541\""), "%s", f->payload);
    /* JSON text of 5000 bytes of escapes is 1000 bytes of ETF: sent. */
    static char d[7000];
    strcpy(d, "\"");
    for (int i = 0; i < 1000; i++)
        strcat(d, "\\u00e9");
    strcat(d, "\"");
    cr_assert_gt(strlen(d), DGW_MAX_SEND_PAYLOAD);
    cr_assert_eq(dgw_conn_send(T.c, 3, d, strlen(d), T.now), DGW_OK,
                 "the limit is on what is sent: %s", dgw_conn_last_error(T.c));
    ts_collect(&T);
    f = ts_last_op(&T, 3);
    cr_assert_leq(f->wire_len, DGW_MAX_SEND_PAYLOAD);
    /* ... and 4000 ASCII bytes as a string are over 4096 as ETF. */
    memset(d, 'a', 4080);
    d[0] = '"';
    d[4079] = '"';
    d[4080] = 0;
    size_t n = T.nout;
    cr_assert_eq(dgw_conn_send(T.c, 3, d, 4080, T.now), DGW_ERR_SEND_TOO_LARGE);
    ts_collect(&T);
    cr_assert_eq(T.nout, n);
}

Test(encodings, etf_garbage_closes_1007)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_ETF, false);
    ts_establish(&T, 41250);
    static const uint8_t bad[] = {131, 116, 0xff, 0xff, 0xff, 0xff};
    ts_send_frame(&T, true, 2, bad, sizeof bad);
    expect_fail(DGW_ERR_PAYLOAD, 1007);
    cr_assert(strstr(dgw_conn_last_error(T.c), "ETF"), "%s", dgw_conn_last_error(T.c));
}

Test(encodings, etf_text_frames_still_read_as_json)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_ETF, false);
    ts_establish(&T, 41250);
    ts_send_frame(&T, true, 1, "{\"op\":0,\"s\":2,\"t\":\"TXT\",\"d\":{}}", 31);
    cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->name, "TXT");
}

/* ---- payload compression ---------------------------------------------------- */

Test(encodings, payload_compression_asks_and_reads_both_kinds)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_JSON, true);
    ts_connect(&T);
    cr_assert(strstr(T.request, "GET /?v=10&encoding=json HTTP"), "%s", T.request);
    ts_hello(&T, 41250);
    const ts_frame_out *id = ts_last_op(&T, 2);
    cr_assert(strstr(id->payload, "\"compress\":true"), "%s", id->payload);
    ts_send_zlib_payload(&T,
                         "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"z\","
                         "\"resume_gateway_url\":\"ws://r.test/\"}}",
                         0);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED, "%s", dgw_conn_last_error(T.c));
    ts_dispatch(&T, 2, "PLAIN", "{\"a\":1}");
    ts_send_zlib_payload(&T, "{\"op\":0,\"s\":3,\"t\":\"PACKED\",\"d\":{\"b\":2}}", 0);
    ts_dispatch(&T, 4, "PLAIN2", "{}");
    cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->name, "PLAIN2");
    long i = ts_find_event(&T, DGW_EV_DISPATCH, 0);
    const char *want[] = {"READY", "PLAIN", "PACKED", "PLAIN2"};
    for (int k = 0; k < 4; k++, i = ts_find_event(&T, DGW_EV_DISPATCH, (size_t)i + 1)) {
        cr_assert_geq(i, 0);
        cr_assert_str_eq(T.ev[i].name, want[k]);
    }
    cr_assert_eq(dgw_conn_last_seq(T.c), 4);
}

Test(encodings, truncated_compressed_payload_closes_1007)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_JSON, true);
    ts_establish(&T, 41250);
    ts_send_zlib_payload(&T, "{\"op\":0,\"s\":2,\"t\":\"X\",\"d\":{}}", 3);
    expect_fail(DGW_ERR_INFLATE_TRUNCATED, 1007);
}

Test(encodings, trailing_garbage_after_compressed_payload_closes_1007)
{
    init(DGW_COMPRESS_NONE, DGW_ENCODING_JSON, true);
    ts_establish(&T, 41250);
    ts_send_zlib_payload(&T, "{\"op\":0,\"s\":2,\"t\":\"X\",\"d\":{}}", -2);
    expect_fail(DGW_ERR_INFLATE, 1007);
}

Test(encodings, compressed_payload_over_the_cap_closes_1009)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.payload_compress = true;
    T.cfg.max_message_size = 4096;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    static char big[20000];
    int h = snprintf(big, 64, "{\"op\":0,\"s\":2,\"t\":\"X\",\"d\":\"");
    memset(big + h, 'z', 10000);
    strcpy(big + h + 10000, "\"}");
    ts_send_zlib_payload(&T, big, 0);
    expect_fail(DGW_ERR_INFLATE_TOO_LARGE, 1009);
}

/* ---- what Discord does not allow ---------------------------------------------- */

Test(encodings, forbidden_combinations_are_refused_with_a_reason)
{
    static const struct {
        dgw_compress comp;
        dgw_encoding enc;
    } bad[] = {
        {DGW_COMPRESS_ZLIB_STREAM, DGW_ENCODING_JSON},
        {DGW_COMPRESS_ZSTD_STREAM, DGW_ENCODING_JSON},
        {DGW_COMPRESS_NONE, DGW_ENCODING_ETF},
    };
    ts_init(&T, DGW_COMPRESS_NONE);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dgw_config cfg = T.cfg;
        cfg.compress = bad[i].comp;
        cfg.encoding = bad[i].enc;
        cfg.payload_compress = true;
        const char *why = NULL;
        cr_assert_eq(dgw_config_check(&cfg, &why), DGW_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_assert(why && strstr(why, "payload compression"), "case %zu: %s", i, why);
        dgw_err e = DGW_OK;
        cr_assert_null(dgw_conn_new(&cfg, &e));
        cr_assert_eq(e, DGW_ERR_INVALID_ARGUMENT);
    }
    const char *why;
    cr_assert_eq(dgw_config_check(&T.cfg, &why), DGW_OK);
}
