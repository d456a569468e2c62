/* The gateway's rules as pure functions: payloads, IDENTIFY, rate limit,
 * sessions and replay, HTTP parsing, framing helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "options.h"
#include "transcript.h"
#include "util.h"
#include "rules.h"
#include "session.h"
#include "sharding.h"
#include "ws.h"

static const char *const tokens[] = {"test-token", "other", NULL};
static const mg_identify_policy all_granted = {.tokens = tokens, .granted_intents = MG_PRIVILEGED_INTENTS};

static int identify(const char *d_json, const mg_identify_policy *pol)
{
    cJSON *d = cJSON_Parse(d_json);
    cr_assert_not_null(d, "bad test JSON: %s", d_json);
    mg_identify_info info;
    int rc = mg_identify_check(d, pol, &info);
    cJSON_Delete(d);
    return rc;
}

#define PROPS "\"properties\":{\"os\":\"linux\",\"browser\":\"t\",\"device\":\"t\"}"

Test(identify, accepts_a_good_identify)
{
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":513," PROPS "}", &all_granted), 0);
    cr_assert_eq(identify("{\"token\":\"Bot other\",\"intents\":0," PROPS ",\"shard\":[1,2]}", &all_granted), 0);
}

Test(identify, unknown_token_is_4004)
{
    cr_assert_eq(identify("{\"token\":\"nope\",\"intents\":1," PROPS "}", &all_granted), 4004);
}

Test(identify, missing_fields_are_4002)
{
    cr_assert_eq(identify("{\"intents\":1," PROPS "}", &all_granted), 4002);
    cr_assert_eq(identify("{\"token\":\"test-token\"," PROPS "}", &all_granted), 4002);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1}", &all_granted), 4002);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1,\"properties\":{\"os\":\"x\"}}", &all_granted), 4002);
    cr_assert_eq(identify("[]", &all_granted), 4002);
}

Test(identify, unknown_intent_bits_are_4013)
{
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":67108864," PROPS "}", &all_granted), 4013);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":-1," PROPS "}", &all_granted), 4013);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":33554432," PROPS "}", &all_granted), 0); /* bit 25 */
}

Test(identify, privileged_intents_not_granted_are_4014)
{
    mg_identify_policy none = {.tokens = tokens};
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":2," PROPS "}", &none), 4014);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":256," PROPS "}", &none), 4014);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":32768," PROPS "}", &none), 4014);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS "}", &none), 0);
}

Test(identify, bad_shards_are_4010)
{
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[2,2]}", &all_granted), 4010);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[0,0]}", &all_granted), 4010);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[-1,2]}", &all_granted), 4010);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[0]}", &all_granted), 4002);
}

Test(identify, a_sharded_bot_needs_its_shard_count_else_4010)
{
    mg_identify_policy sharded = {.tokens = tokens, .granted_intents = MG_PRIVILEGED_INTENTS, .shards = 4};
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[3,4]}", &sharded), 0);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS "}", &sharded), 4010, "no shard");
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[1,2]}", &sharded), 4010,
                 "another count");
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[4,4]}", &sharded), 4010,
                 "id >= count");
    /* A bot of one shard takes any valid shard, as before. */
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[1,2]}", &all_granted), 0);
}

Test(identify, more_guilds_than_a_shard_may_hold_is_4011)
{
    /* 10 guilds, at most 3 per shard: 1 or 2 shards are too few (10, 5
     * guilds), 4 are enough (3, 3, 2, 2 guilds). */
    mg_identify_policy need = {.tokens = tokens, .granted_intents = MG_PRIVILEGED_INTENTS, .guilds = 10,
                               .max_guilds_per_shard = 3};
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS "}", &need), 4011);
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[0,2]}", &need), 4011);
    for (int s = 0; s < 4; s++) {
        char j[256];
        snprintf(j, sizeof j, "{\"token\":\"test-token\",\"intents\":1," PROPS ",\"shard\":[%d,4]}", s);
        cr_assert_eq(identify(j, &need), 0, "shard %d of 4", s);
    }
    need.max_guilds_per_shard = 0; /* no limit */
    cr_assert_eq(identify("{\"token\":\"test-token\",\"intents\":1," PROPS "}", &need), 0);
}

/* Guild routing: the closed forms of sharding.c against the formula
 * (guild_id >> 22) % num_shards applied to every guild. */
Test(routing, every_guild_goes_to_the_shard_of_the_formula_and_to_no_other)
{
    for (int n = 1; n <= 9; n++) {
        for (int guilds = 0; guilds <= 40; guilds++) {
            int seen[40] = {0};
            for (int s = 0; s < n; s++) {
                int count = mg_shard_guild_count(guilds, s, n), want = 0;
                for (int i = 0; i < guilds; i++)
                    want += (int)((mg_guild_id(i) >> 22) % (uint64_t)n) == s;
                cr_assert_eq(count, want, "%d guilds, shard %d of %d: %d, want %d", guilds, s, n, count, want);
                for (int k = 0; k < count; k++) {
                    int i = mg_shard_guild(guilds, s, n, k);
                    cr_assert(i >= 0 && i < guilds, "guild %d of shard %d of %d: index %d", k, s, n, i);
                    cr_assert_eq(mg_guild_shard(mg_guild_id(i), n), s);
                    cr_assert(k == 0 || i > mg_shard_guild(guilds, s, n, k - 1), "in order");
                    seen[i]++;
                }
                cr_assert_eq(mg_shard_guild(guilds, s, n, count), -1, "no guild past the shard's last");
            }
            for (int i = 0; i < guilds; i++)
                cr_assert_eq(seen[i], 1, "guild %d of %d over %d shards is owned %d times", i, guilds, n, seen[i]);
        }
    }
    cr_assert_eq(mg_shard_guild_count(5, 2, 2), 0, "a shard outside its count owns nothing");
    cr_assert_eq(mg_guild_shard(mg_guild_id(6), 1), 0);
    /* The formula on a real snowflake: 175928847299117063 >> 22 = 41944705796. */
    cr_assert_eq(mg_guild_shard(175928847299117063ull, 16), (int)(41944705796ull % 16));
}

Test(start_limits, one_session_start_per_bucket_per_window)
{
    mg_start_limits l;
    cr_assert_eq(mg_start_limits_init(&l, 2, 300, 1000, 1000, 86400000, 86400000, 1000), 0);
    struct mg_bucket_last prev;
    cr_assert_eq(mg_start_check(&l, 0, 1000, &prev), MG_START_OK);
    cr_assert_eq(prev.used, 0);
    mg_start_spend(&l, 0, 7, 1000);
    cr_assert_eq(mg_start_check(&l, 1, 1000, NULL), MG_START_OK, "bucket 1 is another bucket");
    mg_start_spend(&l, 1, 8, 1000);
    cr_assert_eq(mg_start_check(&l, 2, 1299, &prev), MG_START_TOO_SOON, "shard 2 is in bucket 0");
    cr_assert(prev.used && prev.at == 1000 && prev.shard == 0 && prev.tag == 7);
    cr_assert_eq(mg_start_check(&l, 2, 1300, NULL), MG_START_OK, "a whole window later");
    cr_assert_eq(mg_start_bucket(&l, 5), 1);
    cr_assert_eq(l.remaining, 998);
    mg_start_limits_free(&l);
    /* Window 0: unchecked. */
    cr_assert_eq(mg_start_limits_init(&l, 1, 0, 10, 10, 1000, 1000, 0), 0);
    mg_start_spend(&l, 0, 0, 5);
    cr_assert_eq(mg_start_check(&l, 0, 5, NULL), MG_START_OK);
    mg_start_limits_free(&l);
}

Test(start_limits, the_budget_runs_out_and_refills_at_the_reset)
{
    mg_start_limits l;
    cr_assert_eq(mg_start_limits_init(&l, 4, 0, 3, 2, 500, 1000, 100), 0, "2 of 3 left, reset in 500 ms");
    uint64_t reset_after;
    cr_assert_eq(mg_start_remaining(&l, 100, &reset_after), 2);
    cr_assert_eq(reset_after, 500);
    mg_start_spend(&l, 0, 0, 200);
    mg_start_spend(&l, 1, 0, 200);
    cr_assert_eq(mg_start_check(&l, 2, 300, NULL), MG_START_BUDGET_SPENT);
    cr_assert_eq(mg_start_remaining(&l, 300, &reset_after), 0);
    cr_assert_eq(reset_after, 300);
    cr_assert_eq(mg_start_check(&l, 2, 600, NULL), MG_START_OK, "refilled to the total at 600");
    cr_assert_eq(mg_start_remaining(&l, 600, &reset_after), 3);
    cr_assert_eq(reset_after, 1000, "then every period");
    cr_assert_eq(mg_start_remaining(&l, 3700, &reset_after), 3);
    cr_assert_eq(reset_after, 900, "resets at 1600, 2600, 3600, 4600");
    mg_start_limits_free(&l);
}

Test(payload, decode_checks_size_json_and_op)
{
    mg_payload p;
    cr_assert_eq(mg_payload_decode("{\"op\":1,\"d\":null}", 17, &p), 0);
    cr_assert_eq(p.op, 1);
    mg_payload_free(&p);
    cr_assert_eq(mg_payload_decode("{\"op\":1", 7, &p), 4002);
    cr_assert_eq(mg_payload_decode("[1]", 3, &p), 4002);
    cr_assert_eq(mg_payload_decode("{\"op\":\"1\"}", 10, &p), 4002);
    cr_assert_eq(mg_payload_decode("{\"op\":1.5}", 10, &p), 4002);
    char big[5000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"op\":1}", 8);
    cr_assert_eq(mg_payload_decode(big, sizeof big, &p), 4002, "over 4096 bytes must be 4002");
    cr_assert(mg_op_is_client_command(31));
    cr_assert_not(mg_op_is_client_command(5));
    cr_assert_not(mg_op_is_client_command(10));
}

static int decode(const char *buf, size_t len)
{
    mg_payload p;
    int rc = mg_payload_decode(buf, len, &p);
    mg_payload_free(&p);
    return rc;
}
#define DECODE(lit) decode(lit, sizeof lit - 1)

/* cJSON stops at the first value and treats NUL as whitespace; the gateway
 * takes one JSON text and nothing else (issue 12). */
Test(payload, bytes_after_the_json_are_4002)
{
    cr_assert_eq(DECODE("{\"op\":1,\"d\":null} \r\n\t"), 0, "JSON whitespace after it is fine");
    cr_assert_eq(DECODE("{\"op\":1,\"d\":null}x"), 4002);
    cr_assert_eq(DECODE("{\"op\":1,\"d\":null}{\"op\":1}"), 4002);
    cr_assert_eq(DECODE("{\"op\":1,\"d\":null}\0"), 4002);
    cr_assert_eq(DECODE("{\"op\":\0 1}"), 4002, "NUL is not JSON whitespace");
}

/* A NUL inside a string would cut every C-string comparison short:
 * "test-token\u0000x" compared equal to "test-token" (issue 12). */
Test(payload, nul_inside_a_string_is_4002)
{
    cr_assert_eq(DECODE("{\"op\":2,\"d\":{\"token\":\"test-token\\u0000x\"}}"), 4002);
    cr_assert_eq(DECODE("{\"op\":2,\"d\":{\"token\":\"test-token\0x\"}}"), 4002, "raw NUL");
    cr_assert_eq(DECODE("{\"op\":2,\"d\":{\"token\":\"a\tb\"}}"), 4002, "raw control character");
    cr_assert_eq(DECODE("{\"op\":2,\"d\":{\"token\":\"x\\\\u0000\"}}"), 0, "an escaped backslash, then u0000");
    cr_assert_eq(DECODE("{\"op\":2,\"d\":{\"token\":\"\\u0001\\\"\"}}"), 0);
}

/* The check itself compares whole strings. */
Test(identify, token_with_a_suffix_is_4004)
{
    cr_assert_eq(identify("{\"token\":\"test-tokenx\",\"intents\":1," PROPS "}", &all_granted), 4004);
    cr_assert_eq(identify("{\"token\":\"Bot test-tokenx\",\"intents\":1," PROPS "}", &all_granted), 4004);
    cr_assert_eq(identify("{\"token\":\"test-toke\",\"intents\":1," PROPS "}", &all_granted), 4004);
    cr_assert_eq(identify("{\"token\":\"Bot \",\"intents\":1," PROPS "}", &all_granted), 4004);
    cr_assert_eq(identify("{\"token\":\"Bot Bot test-token\",\"intents\":1," PROPS "}", &all_granted), 4004,
                 "one \"Bot \" prefix at most");
}

Test(ratelimit, allows_120_then_refuses_until_the_window_slides)
{
    mg_ratelimit rl;
    mg_ratelimit_init(&rl, 120, 60000);
    for (int i = 0; i < 120; i++)
        cr_assert(mg_ratelimit_hit(&rl, 1000 + (uint64_t)i), "command %d refused", i);
    cr_assert_not(mg_ratelimit_hit(&rl, 2000), "121st command in the window must be refused");
    cr_assert_not(mg_ratelimit_hit(&rl, 60999));
    cr_assert(mg_ratelimit_hit(&rl, 61000), "oldest stamp left the window");
    cr_assert_not(mg_ratelimit_hit(&rl, 61000));
    cr_assert(mg_ratelimit_hit(&rl, 61001));
}

Test(ratelimit, small_limits_work)
{
    mg_ratelimit rl;
    mg_ratelimit_init(&rl, 2, 100);
    cr_assert(mg_ratelimit_hit(&rl, 0));
    cr_assert(mg_ratelimit_hit(&rl, 10));
    cr_assert_not(mg_ratelimit_hit(&rl, 50));
    cr_assert(mg_ratelimit_hit(&rl, 100));
}

static void collect(void *arg, const char *json, size_t len)
{
    mg_buf *b = arg;
    mg_buf_append(b, json, len);
    mg_buf_append(b, "\n", 1);
}

Test(session, dispatches_are_numbered_and_replayed_after_seq)
{
    mg_session_store st;
    mg_session_store_init(&st, 4, 1000);
    mg_session *s = mg_session_create(&st, "test-token", 0, 1);
    cr_assert_not_null(s);
    cr_assert_eq(strlen(s->id), 32);
    mg_buf out = {0};
    for (int i = 1; i <= 6; i++)
        cr_assert_eq(mg_session_dispatch(s, "MESSAGE_CREATE", "{}", &out), i);
    cr_assert_eq(mg_session_can_replay(s, 6), MG_REPLAY_OK);
    cr_assert_eq(mg_session_can_replay(s, 2), MG_REPLAY_OK, "3..6 are kept");
    cr_assert_eq(mg_session_can_replay(s, 1), MG_REPLAY_SEQ_GONE, "2 fell out of the 4-entry history");
    cr_assert_eq(mg_session_can_replay(s, 7), MG_REPLAY_SEQ_AHEAD);
    mg_buf r = {0};
    mg_session_replay(s, 4, collect, &r);
    const char *txt = mg_buf_cstr(&r);
    cr_assert(strstr(txt, "\"s\":5") && strstr(txt, "\"s\":6") && !strstr(txt, "\"s\":4"), "%s", txt);
    mg_buf_free(&r);
    mg_buf_free(&out);
    cr_assert_eq(mg_session_find(&st, s->id), s);
    mg_session_store_free(&st);
}

Test(session, detached_sessions_expire)
{
    mg_session_store st;
    mg_session_store_init(&st, 4, 1000);
    mg_session *a = mg_session_create(&st, "t", 0, 1);
    mg_session *b = mg_session_create(&st, "t", 0, 1);
    char bid[33];
    strcpy(bid, b->id);
    a->detached_at = 100;
    mg_session_expire(&st, 1200);
    cr_assert_eq(st.n, 1);
    cr_assert_not_null(mg_session_find(&st, bid), "attached sessions never expire");
    mg_session_store_free(&st);
}

Test(http, parses_an_upgrade_request)
{
    const char *req = "GET /?v=10&encoding=json&compress=zlib-stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    mg_http_request r;
    cr_assert_eq(mg_http_parse_request(req, strlen(req), &r), MG_HTTP_OK);
    cr_assert_eq(r.header_bytes, strlen(req));
    cr_assert(mg_http_is_upgrade(&r));
    mg_upgrade_info up;
    char reason[128];
    cr_assert_eq(mg_http_check_upgrade(&r, 1, &up, reason, sizeof reason), 0, "%s", reason);
    cr_assert_str_eq(up.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    cr_assert_eq(up.version, 10);
    cr_assert_str_eq(up.encoding, "json");
    cr_assert_eq(up.compress, MG_COMPRESS_ZLIB);
}

Test(http, incomplete_bad_and_too_large)
{
    mg_http_request r;
    cr_assert_eq(mg_http_parse_request("GET / HTTP/1.1\r\nHost: x\r\n", 25, &r), MG_HTTP_INCOMPLETE);
    cr_assert_eq(mg_http_parse_request("\x16\x03\x01\x02", 4, &r), MG_HTTP_BAD, "TLS hello on a plain port");
    cr_assert_eq(mg_http_parse_request("GET /\r\n\r\n", 9, &r), MG_HTTP_BAD);
    cr_assert_eq(mg_http_parse_request("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 27, &r), MG_HTTP_BAD);
    static char big[MG_HTTP_MAX_REQUEST + 10];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof big - 19);
    cr_assert_eq(mg_http_parse_request(big, sizeof big, &r), MG_HTTP_TOO_LARGE);
}

Test(http, upgrade_checks_have_reasons)
{
    const char *base = "GET /?v=10 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s\r\n";
    char req[512];
    mg_http_request r;
    mg_upgrade_info up;
    char reason[128];
    snprintf(req, sizeof req, base, "");
    cr_assert_eq(mg_http_parse_request(req, strlen(req), &r), MG_HTTP_OK);
    cr_assert_eq(mg_http_check_upgrade(&r, 1, &up, reason, sizeof reason), 400);
    cr_assert(strstr(reason, "Sec-WebSocket-Key"), "%s", reason);
    snprintf(req, sizeof req, base, "Sec-WebSocket-Key: c2hvcnQ=\r\n");
    mg_http_parse_request(req, strlen(req), &r);
    cr_assert_eq(mg_http_check_upgrade(&r, 1, &up, reason, sizeof reason), 400, "key of 4 bytes");
    const char *q = "GET /?compress=lz4 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    mg_http_parse_request(q, strlen(q), &r);
    cr_assert_eq(mg_http_check_upgrade(&r, 1, &up, reason, sizeof reason), 400);
    cr_assert(strstr(reason, "compress"), "%s", reason);
}

Test(http, query_and_base64)
{
    mg_slice q = {"v=9&encoding=json&empty&x=", 26};
    char v[16];
    cr_assert(mg_query_get(q, "v", v, sizeof v));
    cr_assert_str_eq(v, "9");
    cr_assert(mg_query_get(q, "empty", v, sizeof v));
    cr_assert_str_eq(v, "");
    cr_assert_not(mg_query_get(q, "compress", v, sizeof v));
    unsigned char out[8];
    cr_assert_eq(mg_base64_decode("aGk=", 4, out, sizeof out), 2);
    cr_assert_eq(mg_base64_decode("a=Gk", 4, out, sizeof out), -1);
}

Test(framing, splits_resolve_negative_offsets_and_chunks)
{
    mg_splits s = {.pos = {-4, -2, -1, 0, 100}, .npos = 5};
    size_t cuts[16];
    size_t n = mg_splits_resolve(&s, 10, cuts, 16);
    cr_assert_eq(n, 3);
    cr_assert_eq(cuts[0], 6);
    cr_assert_eq(cuts[1], 8);
    cr_assert_eq(cuts[2], 9);
    mg_splits c = {.chunk = 3};
    n = mg_splits_resolve(&c, 10, cuts, 16);
    cr_assert_eq(n, 3);
    cr_assert_eq(cuts[2], 9);
}

Test(framing, fragmented_message_with_ping)
{
    mg_buf out = {0};
    mg_splits s = {.pos = {2}, .npos = 1};
    cr_assert_eq(mg_ws_encode_message(&out, MG_WS_TEXT, (const uint8_t *)"abcd", 4, &s, (const uint8_t *)"p", 1), 0);
    const uint8_t want[] = {0x01, 2, 'a', 'b', 0x89, 1, 'p', 0x80, 2, 'c', 'd'};
    cr_assert_eq(out.len, sizeof want);
    cr_assert_arr_eq(out.data, want, sizeof want);
    mg_buf_free(&out);
}

Test(options, parses_rates_tokens_and_rejects_junk)
{
    char *argv[] = {"mockgateway", "--message-rate", "5/s", "--token", "a", "--token", "b", "--guilds", "3", NULL};
    mg_options o;
    char err[256];
    cr_assert_eq(mg_options_parse(9, argv, &o, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(o.message_rate, 5.0, 1e-9);
    cr_assert_eq(o.ntokens, 2);
    cr_assert_str_eq(o.tokens[1], "b");
    cr_assert_null(o.tokens[2]);
    cr_assert_eq(o.guilds, 3);
    char *bad[] = {"mockgateway", "--heartbeat-interval", "0", NULL};
    cr_assert_eq(mg_options_parse(3, bad, &o, err, sizeof err), -1);
    cr_assert(strstr(err, "--heartbeat-interval"), "%s", err);
    char *tls[] = {"mockgateway", "--tls", NULL};
    cr_assert_eq(mg_options_parse(2, tls, &o, err, sizeof err), -1, "--tls without --cert/--key");
    char *dflt[] = {"mockgateway", NULL};
    cr_assert_eq(mg_options_parse(1, dflt, &o, err, sizeof err), 0);
    cr_assert_str_eq(o.tokens[0], "test-token");
    cr_assert_eq(o.heartbeat_interval, 41250);
}

Test(options, the_sharded_bot)
{
    char *argv[] = {"mockgateway", "--shards", "8", "--max-concurrency", "2", "--identify-window-ms", "300",
                    "--session-start-total", "50", "--session-start-reset-after", "1000", "--max-guilds-per-shard",
                    "3", NULL};
    mg_options o;
    char err[256];
    cr_assert_eq(mg_options_parse(13, argv, &o, err, sizeof err), 0, "%s", err);
    cr_assert(o.shards == 8 && o.max_concurrency == 2 && o.identify_window_ms == 300);
    cr_assert(o.session_total == 50 && o.session_remaining == 50, "remaining defaults to the total");
    cr_assert(o.session_reset_after_ms == 1000 && o.max_guilds_per_shard == 3);
    char *dflt[] = {"mockgateway", NULL};
    cr_assert_eq(mg_options_parse(1, dflt, &o, err, sizeof err), 0);
    cr_assert(o.shards == 1 && o.max_concurrency == 1 && o.identify_window_ms == 5000, "Discord's values");
    cr_assert(o.session_total == 1000 && o.session_remaining == 1000 && o.max_guilds_per_shard == 2500);
    char *over[] = {"mockgateway", "--session-start-total", "5", "--session-start-remaining", "6", NULL};
    cr_assert_eq(mg_options_parse(5, over, &o, err, sizeof err), -1);
    cr_assert(strstr(err, "more than the total"), "%s", err);
    const char *const bad[][2] = {{"--shards", "0"}, {"--max-concurrency", "1.5"}, {"--identify-window-ms", "-1"},
                                  {"--max-guilds-per-shard", "x"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *b[] = {"mockgateway", (char *)bad[i][0], (char *)bad[i][1], NULL};
        cr_assert_eq(mg_options_parse(3, b, &o, err, sizeof err), -1, "%s %s", bad[i][0], bad[i][1]);
        cr_assert(strstr(err, bad[i][0]), "%s", err);
    }
}

Test(redaction, tokens_never_reach_transcripts)
{
    const char *secrets[] = {"s3cret", NULL};
    char *r = mg_redact("a s3cret b s3cret", 17, secrets);
    cr_assert_str_eq(r, "a [redacted] b [redacted]");
    free(r);
    mg_transcript tr;
    mg_transcript_init(&tr, 0, secrets);
    const char *identify = "{\"op\":2,\"d\":{\"token\":\"unknown-token\",\"intents\":1}}";
    mg_transcript_payload(&tr, 1234, 1, "<-", NULL, identify, strlen(identify));
    mg_transcript_add(&tr, 2000, 0, "..", "client said s3cret");
    const char *t = mg_transcript_text(&tr);
    cr_assert(strstr(t, "[     1.234] #1  <- "), "%s", t);
    cr_assert(strstr(t, "\"token\":\"[redacted]\""), "%s", t);
    cr_assert_null(strstr(t, "unknown-token"), "%s", t);
    cr_assert_null(strstr(t, "s3cret"), "%s", t);
    mg_transcript_free(&tr);
}
