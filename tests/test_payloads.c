/* Gateway payloads: what is refused (not JSON, no op, odd ops, bad HELLO
 * or READY, deep nesting), what events carry, and the JSON scanner. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(payloads, .fini = teardown);

static void expect_fail(dgw_err err)
{
    cr_assert_eq(T.last_recv, err, "recv returned %ld, want %d; %s", T.last_recv, err,
                 dgw_conn_last_error(T.c));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, err);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl, "no close frame");
    uint16_t code = ts_close_code_of(cl);
    cr_assert(code != 1000 && code != 1001 && code != 0, "code %u", code);
}

/* Each bad payload on a fresh, established connection. */
static void each_fails(const char *const *bad, size_t n, dgw_err err)
{
    for (size_t i = 0; i < n; i++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        ts_establish(&T, 41250);
        ts_send_json(&T, bad[i]);
        cr_expect_eq(T.last_recv, err, "payload %s: got %ld", bad[i], T.last_recv);
        expect_fail(err);
        ts_free(&T);
    }
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(payloads, not_json_is_refused)
{
    static const char *bad[] = {"hello", "", "[1,2]", "\"op\"", "{\"op\":11",
                                "{op:11}", "{\"op\":11,}", "{\"op\":tru}"};
    each_fails(bad, sizeof bad / sizeof bad[0], DGW_ERR_PAYLOAD);
}

Test(payloads, missing_op_is_refused)
{
    static const char *bad[] = {"{}", "{\"d\":{\"op\":11}}", "{\"t\":null,\"s\":null}"};
    each_fails(bad, sizeof bad / sizeof bad[0], DGW_ERR_PAYLOAD);
}

Test(payloads, non_integer_op_is_refused)
{
    static const char *bad[] = {"{\"op\":1.5}", "{\"op\":\"1\"}", "{\"op\":1e3}",
                                "{\"op\":null}", "{\"op\":-1}", "{\"op\":99999999999999999999}",
                                "{\"op\":[11]}", "{\"op\":true}", "{\"op\":11.0}"};
    each_fails(bad, sizeof bad / sizeof bad[0], DGW_ERR_PAYLOAD);
}

Test(payloads, trailing_garbage_is_refused)
{
    static const char *bad[] = {"{\"op\":11} x", "{\"op\":11}{\"op\":11}", "{\"op\":11}}",
                                "{\"op\":11}\x01"};
    each_fails(bad, sizeof bad / sizeof bad[0], DGW_ERR_PAYLOAD);
}

Test(payloads, trailing_whitespace_is_fine)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, " \r\n\t{ \"op\" : 11 } \r\n\t");
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
}

static void hello_fails(const char *hello)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_send_json(&T, hello);
    cr_expect_eq(T.last_recv, DGW_ERR_HELLO, "HELLO %s: got %ld", hello, T.last_recv);
    expect_fail(DGW_ERR_HELLO);
    cr_assert_eq(ts_count_op(&T, 2, 0), 0, "IDENTIFY after a bad HELLO");
    ts_free(&T);
}

Test(payloads, hello_interval_missing)
{
    hello_fails("{\"op\":10,\"d\":{}}");
    hello_fails("{\"op\":10}");
    hello_fails("{\"op\":10,\"d\":null}");
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":\"41250\"}}");
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(payloads, hello_interval_zero_negative_fraction)
{
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":0}}");
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":-41250}}");
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":41250.5}}");
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(payloads, hello_interval_absurd)
{
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":100000000}}");
    hello_fails("{\"op\":10,\"d\":{\"heartbeat_interval\":18446744073709551616}}");
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(payloads, hello_interval_bounds_accepted)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_send_json(&T, "{\"op\":10,\"d\":{\"heartbeat_interval\":1}}");
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(dgw_conn_heartbeat_interval(T.c), 1);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_send_json(&T, "{\"op\":10,\"d\":{\"heartbeat_interval\":600000}}");
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(dgw_conn_heartbeat_interval(T.c), 600000);
}

Test(payloads, ready_without_session_id)
{
    static const char *ds[] = {
        "{\"v\":10,\"resume_gateway_url\":\"ws://r.test/\"}",
        "{\"session_id\":42}",
        "{\"session_id\":\"\"}",
        "null",
    };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        ts_connect(&T);
        ts_hello(&T, 41250);
        ts_dispatch(&T, 1, "READY", ds[i]);
        cr_expect_eq(T.last_recv, DGW_ERR_READY, "READY d=%s", ds[i]);
        expect_fail(DGW_ERR_READY);
        cr_assert_null(dgw_conn_session_id(T.c));
        cr_assert(!dgw_conn_can_resume(T.c));
        ts_free(&T);
    }
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(payloads, ready_with_bad_resume_url_falls_back_to_gateway)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_dispatch(&T, 1, "READY", "{\"session_id\":\"s\\u00e9\",\"resume_gateway_url\":\"ftp://x\"}");
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_str_eq(dgw_conn_session_id(T.c), "s\xc3\xa9");
    cr_assert_null(dgw_conn_resume_url(T.c));
    ts_eof(&T);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    ts_start(&T);
    cr_assert(strstr(T.request, "Host: gateway.test\r\n"), "%s", T.request);
}

Test(payloads, dispatch_event_fields)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    const char *d = "{\"a\":{\"b\":[1,2.5e3,{\"c\":\"x\\\"y\\\\z\\u00e9\\n\"}],\"n\":null},"
                    "\"e\":\"\\u2603\",\"t\":true,\"f\":false}";
    ts_dispatch(&T, 42, "GUILD_CREATE", d);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_eq(e->op, 0);
    cr_assert_eq(e->seq, 42);
    cr_assert_str_eq(e->name, "GUILD_CREATE");
    cr_assert_eq(e->data_len, strlen(d));
    cr_assert_str_eq(e->data, d);
    cr_assert_eq(dgw_conn_last_seq(T.c), 42);
}

Test(payloads, raw_d_keeps_inner_whitespace_and_any_key_order)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{ \"d\" :  { \"k\" : [ 1 , 2 ] }  , \"s\":7,\"op\" : 0 , \"t\" : \"X_Y\" }");
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->data, "{ \"k\" : [ 1 , 2 ] }");
    cr_assert_str_eq(e->name, "X_Y");
    cr_assert_eq(e->seq, 7);
}

Test(payloads, escaped_event_name_unescaped)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":0,\"t\":\"A\\u005fB\",\"s\":3,\"d\":1}");
    cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->name, "A_B");
}

Test(payloads, null_seq_keeps_last_seq)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_dispatch(&T, 9, "A", "{}");
    ts_send_json(&T, "{\"op\":0,\"t\":\"B\",\"s\":null,\"d\":{}}");
    cr_assert_eq(ts_last_event(&T, DGW_EV_DISPATCH)->seq, -1);
    cr_assert_eq(dgw_conn_last_seq(T.c), 9);
    ts_send_json(&T, "{\"op\":11,\"s\":50}");
    cr_assert_eq(dgw_conn_last_seq(T.c), 9, "s outside op 0 must not count");
}

Test(payloads, absent_d_is_null)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":11}");
    const ts_event *e = ts_last_event(&T, DGW_EV_HEARTBEAT_ACK);
    cr_assert_not_null(e);
    cr_assert_str_eq(e->data, "null");
}

Test(payloads, parse_data_gives_cjson_tree)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    const char *d = "{\"id\":\"123\",\"n\":5,\"nested\":{\"arr\":[true,\"\\u00e9\"]}}";
    char payload[256];
    snprintf(payload, sizeof payload, "{\"op\":0,\"t\":\"X\",\"s\":2,\"d\":%s}", d);
    ts_feed(&T, "", 0);
    /* Poll by hand: the event's slices are only valid until the next poll. */
    uint8_t w[300];
    size_t n = ts_frame(w, true, 1, payload, strlen(payload), NULL);
    long r = dgw_conn_recv(T.c, w, n, T.now);
    cr_assert_eq(r, (long)n);
    dgw_event ev;
    cr_assert(dgw_conn_poll_event(T.c, &ev));
    cr_assert_eq(ev.type, DGW_EV_DISPATCH);
    cr_assert_eq(ev.payload_len, strlen(payload));
    cr_assert_eq(memcmp(ev.payload, payload, ev.payload_len), 0);
    cJSON *j = dgw_event_parse_data(&ev);
    cr_assert_not_null(j);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "123");
    cr_assert_eq(cJSON_GetObjectItem(j, "n")->valueint, 5);
    cJSON *arr = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "nested"), "arr");
    cr_assert(cJSON_IsTrue(cJSON_GetArrayItem(arr, 0)));
    cr_assert_str_eq(cJSON_GetArrayItem(arr, 1)->valuestring, "\xc3\xa9");
    cJSON_Delete(j);
    cr_assert(!dgw_conn_poll_event(T.c, &ev));
    dgw_event none = {0};
    cr_assert_null(dgw_event_parse_data(&none));
    cr_assert_null(dgw_event_parse_data(NULL));
}

Test(payloads, unknown_op_is_payload_event)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":42,\"d\":{\"x\":[1]}}");
    cr_assert_eq(T.last_recv, 0);
    const ts_event *e = ts_last_event(&T, DGW_EV_PAYLOAD);
    cr_assert_not_null(e);
    cr_assert_eq(e->op, 42);
    cr_assert_str_eq(e->data, "{\"x\":[1]}");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(payloads, escaped_key_names_recognised)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"\\u006fp\":0,\"\\u0074\":\"ESC\",\"\\u0073\":12,\"\\u0064\":{\"z\":1}}");
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(e->name, "ESC");
    cr_assert_eq(e->seq, 12);
    cr_assert_str_eq(e->data, "{\"z\":1}");
    ts_send_json(&T, "{\"o\\u0070\":11}");
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 64);
    int n = sprintf(s, "{\"op\":0,\"t\":\"D\",\"s\":2,\"d\":");
    for (int i = 0; i < depth; i++)
        s[n++] = '[';
    for (int i = 0; i < depth; i++)
        s[n++] = ']';
    strcpy(s + n, "}");
    return s;
}

Test(payloads, deep_nesting_rejected_without_crash)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    char *s = nested(300);
    ts_send_json(&T, s);
    free(s);
    expect_fail(DGW_ERR_PAYLOAD);
}

Test(payloads, very_deep_nesting_rejected_without_crash)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    char *s = nested(200000);
    ts_send_json(&T, s);
    free(s);
    expect_fail(DGW_ERR_PAYLOAD);
}

Test(payloads, moderate_nesting_accepted)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    char *s = nested(200);
    ts_send_json(&T, s);
    free(s);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(ts_last_event(&T, DGW_EV_DISPATCH)->data_len, 400);
}

/* Any name is delivered whole, up to the payload's size: a connection
 * that refused one would refuse it again after every RESUME (the server
 * replays it), and loop forever. */
static void long_name_delivered(size_t len)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    char *name = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        name[i] = (char)('A' + i % 26);
    name[len] = 0;
    ts_dispatch(&T, 2, name, "{}");
    cr_assert_eq(T.last_recv, 0, "%zu-byte name: %s", len, dgw_conn_last_error(T.c));
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_eq(e->name_len, len);
    cr_assert_str_eq(e->name, name);
    cr_assert_eq(e->seq, 2);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    free(name);
    /* The next dispatch's short name is not polluted by the long one. */
    ts_dispatch(&T, 3, "SHORT", "{}");
    cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->name, "SHORT");
}

Test(payloads, event_name_of_63_bytes_delivered) { long_name_delivered(63); }
Test(payloads, event_name_of_64_bytes_delivered) { long_name_delivered(64); }
Test(payloads, event_name_of_200_bytes_delivered) { long_name_delivered(200); }
Test(payloads, event_name_of_100_kib_delivered) { long_name_delivered(100 * 1024); }

Test(payloads, escaped_event_name_unescaped_with_its_length)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":0,\"s\":2,\"t\":\"A\\u00e9B\",\"d\":{}}");
    const ts_event *e = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_eq(e->name_len, 4);
    cr_assert_str_eq(e->name, "A\xc3\xa9" "B");
}

/* ---- the JSON scanner ---- */

static dgw_span S(const char *s) { return (dgw_span){s, strlen(s)}; }

Test(payloads, json_is_value)
{
    const char *good[] = {"1", "-0", "0.5", "-1.5e-3", "1E+9", "\"\"", "\"\\u00e9\\/\"",
                          "true", "false", "null", "[]", "{}", " [1, {\"a\":[null]}] ",
                          "{\"a\":{\"b\":{}}}"};
    const char *bad[] = {"", " ", "01", "1.", ".5", "-", "1e", "+1", "\"abc", "\"\\x\"",
                         "\"\\u12g4\"", "\"a\nb\"", "tru", "nul", "[1,]", "[1 2]",
                         "{\"a\"}", "{\"a\":}", "{1:2}", "{\"a\":1,}", "1 2", "[", "]",
                         "{\"a\":1}}", "NaN", "Infinity"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect(dgw_json_is_value(good[i], strlen(good[i])), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect(!dgw_json_is_value(bad[i], strlen(bad[i])), "accepted %s", bad[i]);
}

Test(payloads, json_value_does_not_read_past_end)
{
    /* Bounded by `end`, not by a NUL. */
    const char buf[] = "[1,2]XXXX";
    cr_assert(dgw_json_is_value(buf, 5));
    cr_assert(!dgw_json_is_value(buf, 4));
    const char s[] = "\"abcdefghijklmnop\"";
    for (size_t n = 0; n < sizeof s - 1; n++)
        cr_assert(!dgw_json_is_value(s, n), "prefix %zu accepted", n);
    cr_assert(dgw_json_is_value(s, sizeof s - 1));
}

Test(payloads, json_get_and_types)
{
    dgw_span v;
    dgw_span o = S("{\"a\":1,\"b\":\"x\",\"c\":[1],\"d\":{\"e\":2},\"f\":null,\"g\":true}");
    cr_assert_eq(dgw_json_get(o, "a", &v), DGW_JSON_NUMBER);
    cr_assert_eq(v.n, 1);
    cr_assert_eq(dgw_json_get(o, "b", &v), DGW_JSON_STRING);
    cr_assert_eq(v.n, 3);
    cr_assert_eq(dgw_json_get(o, "c", &v), DGW_JSON_ARRAY);
    cr_assert_eq(dgw_json_get(o, "d", &v), DGW_JSON_OBJECT);
    cr_assert_eq(strncmp(v.p, "{\"e\":2}", v.n), 0);
    cr_assert_eq(dgw_json_get(o, "e", &v), DGW_JSON_INVALID, "nested key found at top");
    cr_assert_eq(dgw_json_get(o, "f", &v), DGW_JSON_NULL);
    cr_assert_eq(dgw_json_get(o, "g", &v), DGW_JSON_TRUE);
    cr_assert_eq(dgw_json_get(o, "zz", &v), DGW_JSON_INVALID);
    cr_assert_eq(dgw_json_get(S("[1]"), "a", &v), DGW_JSON_INVALID);
}

Test(payloads, json_int)
{
    int64_t x;
    cr_assert(dgw_json_int(S("0"), &x) && x == 0);
    cr_assert(dgw_json_int(S("-42"), &x) && x == -42);
    cr_assert(dgw_json_int(S("9223372036854775807"), &x) && x == INT64_MAX);
    cr_assert(dgw_json_int(S("-9223372036854775808"), &x) && x == INT64_MIN);
    cr_assert(!dgw_json_int(S("9223372036854775808"), &x));
    cr_assert(!dgw_json_int(S("-9223372036854775809"), &x));
    cr_assert(!dgw_json_int(S("1.0"), &x));
    cr_assert(!dgw_json_int(S("1e2"), &x));
    cr_assert(!dgw_json_int(S(""), &x));
    cr_assert(!dgw_json_int(S("-"), &x));
}

Test(payloads, json_unescape)
{
    char out[32];
    cr_assert_eq(dgw_json_unescape(S("\"a\\\"b\\\\c\\/\\n\\t\""), out, sizeof out), 8);
    cr_assert_str_eq(out, "a\"b\\c/\n\t");
    cr_assert_eq(dgw_json_unescape(S("\"\\u00e9\\u20ac\""), out, sizeof out), 5);
    cr_assert_str_eq(out, "\xc3\xa9\xe2\x82\xac");
    cr_assert_eq(dgw_json_unescape(S("\"\\ud83d\\ude00\""), out, sizeof out), 4);
    cr_assert_str_eq(out, "\xf0\x9f\x98\x80");
    cr_assert_eq(dgw_json_unescape(S("\"\\ud83d\""), out, sizeof out), -1, "lone high");
    cr_assert_eq(dgw_json_unescape(S("\"\\ude00\""), out, sizeof out), -1, "lone low");
    cr_assert_eq(dgw_json_unescape(S("\"\\u0000\""), out, sizeof out), -1, "NUL");
    cr_assert_eq(dgw_json_unescape(S("\"abcd\""), out, 4), -1, "no room for NUL");
    cr_assert_eq(dgw_json_unescape(S("\"abc\""), out, 4), 3);
    cr_assert_eq(dgw_json_unescape(S("abc"), out, sizeof out), -1);
    cr_assert_eq(dgw_json_unescape(S("\"\\q\""), out, sizeof out), -1);
}

Test(payloads, json_key_is)
{
    cr_assert(dgw_json_key_is(S("\"op\""), "op"));
    cr_assert(dgw_json_key_is(S("\"\\u006fp\""), "op"));
    cr_assert(dgw_json_key_is(S("\"\\u006F\\u0070\""), "op"));
    cr_assert(!dgw_json_key_is(S("\"opp\""), "op"));
    cr_assert(!dgw_json_key_is(S("\"o\""), "op"));
    cr_assert(!dgw_json_key_is(S("\"\\u006fpp\""), "op"));
}

Test(payloads, json_writer)
{
    char buf[64];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_str(&w, "a\"b\\c\n\x01");
    dgw_jw_lit(&w, ",");
    dgw_jw_int(&w, INT64_MIN);
    dgw_jw_lit(&w, ",");
    dgw_jw_bool(&w, true);
    cr_assert(!w.overflow);
    buf[w.len] = 0;
    cr_assert_str_eq(buf, "\"a\\\"b\\\\c\\u000a\\u0001\",-9223372036854775808,true");
    cr_assert(dgw_json_is_value(buf, strcspn(buf, ",")));
    dgw_jw_init(&w, buf, 4);
    dgw_jw_lit(&w, "abc");
    cr_assert(!w.overflow);
    dgw_jw_lit(&w, "de");
    cr_assert(w.overflow);
    dgw_jw_lit(&w, "");
    cr_assert(w.overflow, "overflow must stick");
}
