/* Sending: state checks, the 4096-byte limit, argument checks, the exact
 * JSON of each command, and the 120-per-60-s rate limit. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(commands, .fini = teardown);

static size_t pending_output(void)
{
    const uint8_t *o;
    return dgw_conn_peek_output(T.c, &o);
}

/* Parses the last client frame with this op; checks op and returns d. */
static cJSON *last_cmd(int op, cJSON **root)
{
    const ts_frame_out *f = ts_last_op(&T, op);
    cr_assert_not_null(f, "no op %d sent", op);
    cJSON *j = cJSON_ParseWithLength(f->payload, f->len);
    cr_assert_not_null(j, "client sent invalid JSON: %s", f->payload);
    cr_assert_eq(cJSON_GetArraySize(j), 2, "payload must be exactly {op,d}: %s", f->payload);
    cr_assert_eq(cJSON_GetObjectItem(j, "op")->valueint, op);
    *root = j;
    cJSON *d = cJSON_GetObjectItem(j, "d");
    cr_assert_not_null(d);
    return d;
}

static const char *str(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsString(v), "%s is not a string", k);
    return v->valuestring;
}

Test(commands, send_before_hello_is_state_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_ERR_STATE);
    ts_start(&T);
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_ERR_STATE);
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    ts_feed(&T, resp, strlen(resp));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_WAIT_HELLO);
    size_t nout = T.nout;
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_ERR_STATE);
    dgw_presence p = {.since_ms = -1, .status = "online"};
    cr_assert_eq(dgw_conn_update_presence(T.c, &p, T.now), DGW_ERR_STATE);
    ts_collect(&T);
    cr_assert_eq(T.nout, nout);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
    ts_hello(&T, 41250);
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_OK);
}

Test(commands, send_while_closing_is_state_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_close(T.c, 4000, NULL, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_ERR_STATE);
    ts_collect(&T);
    cr_assert_eq(ts_count_op(&T, 3, 0), 0);
}

Test(commands, send_over_4096_bytes_refused_and_nothing_written)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t nout = T.nout;
    cr_assert_eq(pending_output(), 0);
    /* {"op":3,"d":"xxx"}: 13 bytes of frame around the string's body. */
    size_t overhead = strlen("{\"op\":3,\"d\":\"\"}");
    char *d = malloc(5000);
    d[0] = '"';
    memset(d + 1, 'x', 4999);
    size_t body = DGW_MAX_SEND_PAYLOAD - overhead;
    d[1 + body] = '"';
    cr_assert_eq(dgw_conn_send(T.c, 3, d, body + 2, T.now), DGW_OK, "exactly 4096 refused");
    ts_collect(&T);
    cr_assert_eq(T.out[T.nout - 1].len, DGW_MAX_SEND_PAYLOAD);
    nout = T.nout;
    d[1 + body] = 'x';
    d[2 + body] = '"';
    cr_assert_eq(dgw_conn_send(T.c, 3, d, body + 3, T.now), DGW_ERR_SEND_TOO_LARGE);
    cr_assert_eq(pending_output(), 0, "bytes queued for a refused command");
    ts_collect(&T);
    cr_assert_eq(T.nout, nout);
    free(d);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(commands, d_not_json_is_invalid_argument)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t nout = T.nout;
    const char *bad[] = {"{", "{\"a\":1} x", "nope", "[1,]", "{\"a\":1}{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(dgw_conn_send(T.c, 3, bad[i], strlen(bad[i]), T.now),
                     DGW_ERR_INVALID_ARGUMENT, "accepted %s", bad[i]);
    cr_assert_eq(dgw_conn_send(T.c, -1, "{}", 2, T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_send(T.c, 256, "{}", 2, T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_send(T.c, 3, NULL, 2, T.now), DGW_ERR_INVALID_ARGUMENT);
    ts_collect(&T);
    cr_assert_eq(T.nout, nout);
}

Test(commands, raw_send_shape_and_null_d)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_send(T.c, 14, " {\"k\": [1, \"\\u00e9\"]} ", 22, T.now), DGW_OK);
    cr_assert_eq(dgw_conn_send(T.c, 15, NULL, 0, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(14, &root);
    cJSON *k = cJSON_GetObjectItem(d, "k");
    cr_assert_eq(cJSON_GetArraySize(k), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(k, 1)->valuestring, "\xc3\xa9");
    cJSON_Delete(root);
    d = last_cmd(15, &root);
    cr_assert(cJSON_IsNull(d));
    cJSON_Delete(root);
}

Test(commands, presence_shape)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_presence p = {.since_ms = 91879201,
                      .activities_json = "[{\"name\":\"Save the \\\"Whales\\\"\",\"type\":0}]",
                      .status = "dnd",
                      .afk = false};
    cr_assert_eq(dgw_conn_update_presence(T.c, &p, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(3, &root);
    cr_assert_eq(cJSON_GetArraySize(d), 4);
    cr_assert_eq(cJSON_GetObjectItem(d, "since")->valuedouble, 91879201.0);
    cJSON *acts = cJSON_GetObjectItem(d, "activities");
    cr_assert_eq(cJSON_GetArraySize(acts), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(acts, 0), "name"), "Save the \"Whales\"");
    cr_assert_str_eq(str(d, "status"), "dnd");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "afk")));
    cJSON_Delete(root);

    dgw_presence q = {.since_ms = -1, .status = "idle", .afk = true};
    cr_assert_eq(dgw_conn_update_presence(T.c, &q, T.now), DGW_OK);
    ts_collect(&T);
    d = last_cmd(3, &root);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "since")));
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(d, "activities")));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "activities")), 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "afk")));
    cJSON_Delete(root);

    dgw_presence bad = {.since_ms = -1, .status = "online", .activities_json = "[1,"};
    cr_assert_eq(dgw_conn_update_presence(T.c, &bad, T.now), DGW_ERR_INVALID_ARGUMENT);
    dgw_presence nostatus = {.since_ms = -1};
    cr_assert_eq(dgw_conn_update_presence(T.c, &nostatus, T.now), DGW_ERR_INVALID_ARGUMENT);
}

Test(commands, presence_status_escaped)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_presence p = {.since_ms = -1, .status = "on\"line\\\n"};
    dgw_err e = dgw_conn_update_presence(T.c, &p, T.now);
    if (e == DGW_OK) {
        ts_collect(&T);
        cJSON *root;
        cJSON *d = last_cmd(3, &root); /* must still be valid JSON */
        cr_assert_str_eq(str(d, "status"), "on\"line\\\n");
        cJSON_Delete(root);
    } else {
        cr_assert_eq(e, DGW_ERR_INVALID_ARGUMENT);
    }
}

Test(commands, voice_state_shape)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_voice_state v = {.guild_id = "41771983423143937",
                         .channel_id = "127121515262115840",
                         .self_mute = false,
                         .self_deaf = true};
    cr_assert_eq(dgw_conn_update_voice_state(T.c, &v, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(4, &root);
    cr_assert_eq(cJSON_GetArraySize(d), 4);
    cr_assert_str_eq(str(d, "guild_id"), "41771983423143937");
    cr_assert_str_eq(str(d, "channel_id"), "127121515262115840");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "self_mute")));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "self_deaf")));
    cJSON_Delete(root);

    dgw_voice_state leave = {.guild_id = "41771983423143937"};
    cr_assert_eq(dgw_conn_update_voice_state(T.c, &leave, T.now), DGW_OK);
    ts_collect(&T);
    d = last_cmd(4, &root);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "channel_id")));
    cJSON_Delete(root);

    dgw_voice_state bad = {.guild_id = "12a"};
    cr_assert_eq(dgw_conn_update_voice_state(T.c, &bad, T.now), DGW_ERR_INVALID_ARGUMENT);
    dgw_voice_state bad2 = {.guild_id = "1", .channel_id = "\"},\"x\":{\""};
    cr_assert_eq(dgw_conn_update_voice_state(T.c, &bad2, T.now), DGW_ERR_INVALID_ARGUMENT);
}

Test(commands, request_members_query_shape)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_request_members r = {.guild_id = "41771983444115456", .query = "ab\"c",
                             .limit = 10, .presences = true, .nonce = "n-1"};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &r, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(8, &root);
    cr_assert_str_eq(str(d, "guild_id"), "41771983444115456");
    cr_assert_str_eq(str(d, "query"), "ab\"c");
    cr_assert_eq(cJSON_GetObjectItem(d, "limit")->valueint, 10);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "presences")));
    cr_assert_str_eq(str(d, "nonce"), "n-1");
    cr_assert_null(cJSON_GetObjectItem(d, "user_ids"));
    cJSON_Delete(root);
}

Test(commands, request_members_user_ids_shape)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_request_members r = {.guild_id = "41771983444115456",
                             .user_ids_json = "[\"1\",\"2\"]"};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &r, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(8, &root);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "user_ids")), 2);
    cr_assert_null(cJSON_GetObjectItem(d, "query"));
    cr_assert_null(cJSON_GetObjectItem(d, "nonce"));
    cr_assert_null(cJSON_GetObjectItem(d, "presences"));
    cJSON_Delete(root);

    /* Neither: query "" with the limit (all members). */
    dgw_request_members all = {.guild_id = "5", .limit = 0};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &all, T.now), DGW_OK);
    ts_collect(&T);
    d = last_cmd(8, &root);
    cr_assert_str_eq(str(d, "query"), "");
    cr_assert_eq(cJSON_GetObjectItem(d, "limit")->valueint, 0);
    cJSON_Delete(root);

    char nonce[40];
    memset(nonce, 'n', 33);
    nonce[33] = 0;
    dgw_request_members longnonce = {.guild_id = "5", .nonce = nonce};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &longnonce, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
    dgw_request_members badids = {.guild_id = "5", .user_ids_json = "[1,"};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &badids, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
}

Test(commands, soundboard_shape)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    const char *ids[] = {"613425648685547541", "81384788765712384"};
    cr_assert_eq(dgw_conn_request_soundboard_sounds(T.c, ids, 2, T.now), DGW_OK);
    ts_collect(&T);
    cJSON *root;
    cJSON *d = last_cmd(31, &root);
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    cJSON *g = cJSON_GetObjectItem(d, "guild_ids");
    cr_assert_eq(cJSON_GetArraySize(g), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(g, 0)->valuestring, "613425648685547541");
    cr_assert_str_eq(cJSON_GetArrayItem(g, 1)->valuestring, "81384788765712384");
    cJSON_Delete(root);
    const char *bad[] = {"1", "x"};
    cr_assert_eq(dgw_conn_request_soundboard_sounds(T.c, bad, 2, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
}

Test(commands, identify_shape_with_options)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.identify.intents = (1u << 0) | (1u << 9) | (1u << 15);
    T.cfg.identify.shard_id = 2;
    T.cfg.identify.shard_count = 4;
    T.cfg.identify.large_threshold = 250;
    T.cfg.identify.os = "plan\"9";
    T.cfg.identify.presence_json = "{\"status\":\"idle\",\"afk\":false}";
    ts_recreate(&T);
    ts_connect(&T);
    ts_hello(&T, 41250);
    cJSON *root;
    cJSON *d = last_cmd(2, &root);
    cr_assert_str_eq(str(d, "token"), "secret-token");
    cr_assert_eq(cJSON_GetObjectItem(d, "intents")->valuedouble, (double)T.cfg.identify.intents);
    cJSON *pr = cJSON_GetObjectItem(d, "properties");
    cr_assert_str_eq(str(pr, "os"), "plan\"9");
    cr_assert_str_eq(str(pr, "browser"), "libdgw");
    cr_assert_str_eq(str(pr, "device"), "libdgw");
    cJSON *sh = cJSON_GetObjectItem(d, "shard");
    cr_assert_eq(cJSON_GetArraySize(sh), 2);
    cr_assert_eq(cJSON_GetArrayItem(sh, 0)->valueint, 2);
    cr_assert_eq(cJSON_GetArrayItem(sh, 1)->valueint, 4);
    cr_assert_eq(cJSON_GetObjectItem(d, "large_threshold")->valueint, 250);
    cr_assert_str_eq(str(cJSON_GetObjectItem(d, "presence"), "status"), "idle");
    cJSON_Delete(root);
}

Test(commands, token_never_in_errors)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_frame(&T, true, 3, "x", 1);
    cr_assert_null(strstr(dgw_conn_last_error(T.c), "secret-token"));
}

Test(commands, commands_held_during_invalid_session_wait_go_after_identify)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_advance_acking(&T, 10000);
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    size_t from = T.nout;
    cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(ts_count_op(&T, 3, from), 0, "a command went out before IDENTIFY");
    ts_advance_acking(&T, 6000);
    cr_assert_eq(ts_count_op(&T, 2, from), 1);
    cr_assert_eq(ts_count_op(&T, 3, from), 1, "the held command did not follow IDENTIFY");
    /* Nothing but heartbeats before IDENTIFY, the command right after. */
    for (size_t i = from; i < T.nout; i++) {
        int op = ts_op_of(&T.out[i]);
        if (op == 2)
            break;
        cr_assert_eq(op, 1, "op %d before IDENTIFY", op);
    }
}

/* ---- rate limit ---- */

static dgw_err send_numbered(int i)
{
    char d[32];
    int n = snprintf(d, sizeof d, "{\"i\":%d}", i);
    return dgw_conn_send(T.c, 3, d, (size_t)n, T.now);
}

static int number_of(const ts_frame_out *f)
{
    const char *p = strstr(f->payload, "\"i\":");
    return p ? atoi(p + 4) : -1;
}

Test(commands, rate_limit_115_at_once_rest_queued_in_order)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    /* IDENTIFY took one of the 115 non-reserved slots of this window. */
    int ok = 0;
    dgw_err e = DGW_OK;
    int i;
    for (i = 0; i < 400; i++) {
        e = send_numbered(i);
        if (e != DGW_OK)
            break;
        ok++;
    }
    ts_collect(&T);
    cr_assert_eq(e, DGW_ERR_RATE_LIMITED, "never refused (%d)", e);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
    cr_assert_eq(ts_count_op(&T, 3, 0), 114, "sent at once: %zu", ts_count_op(&T, 3, 0));
    cr_assert_eq(ts_count_op(&T, 3, 0) + ts_count_op(&T, 2, 0), 115);
    cr_assert_eq(ok, 114 + 64, "queue of 64 expected, accepted %d", ok);
    /* Heartbeats still go out while commands wait. */
    size_t beats = ts_count_op(&T, 1, 0);
    ts_advance_acking(&T, 59000);
    cr_assert_gt(ts_count_op(&T, 1, 0), beats, "no heartbeat while queued");
    cr_assert_eq(ts_count_op(&T, 3, 0), 114, "window not respected");
    ts_advance_acking(&T, 1000); /* the first window's sends expire */
    cr_assert_eq(ts_count_op(&T, 3, 0), 114 + 64, "queue not flushed");
    /* Everything went out in submission order. */
    int expect = 0;
    for (size_t k = 0; k < T.nout; k++) {
        if (ts_op_of(&T.out[k]) != 3)
            continue;
        cr_assert_eq(number_of(&T.out[k]), expect, "out of order at %zu", k);
        expect++;
    }
    cr_assert_eq(send_numbered(999), DGW_OK);
}

Test(commands, queued_commands_keep_order_behind_queue)
{
    /* Once something is queued, a later command never jumps ahead even if
     * a slot is free at that moment. */
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.rate_limit_count = 10;
    T.cfg.rate_limit_reserved = 2;
    T.cfg.rate_limit_window_ms = 1000;
    T.cfg.send_queue_max = 100;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(send_numbered(i), DGW_OK);
        T.now += 37;
        dgw_conn_handle_timeout(T.c, T.now);
        ts_collect(&T);
    }
    ts_advance_acking(&T, 10000);
    int expect = 0;
    for (size_t k = 0; k < T.nout; k++)
        if (ts_op_of(&T.out[k]) == 3) {
            cr_assert_eq(number_of(&T.out[k]), expect, "out of order");
            expect++;
        }
    cr_assert_eq(expect, 30);
}

Test(commands, full_queue_is_rate_limited_and_writes_nothing)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.send_queue_max = 3;
    ts_recreate(&T);
    ts_establish(&T, 41250);
    for (int i = 0; i < 114 + 3; i++)
        cr_assert_eq(send_numbered(i), DGW_OK, "command %d", i);
    ts_collect(&T);
    cr_assert_eq(pending_output(), 0);
    cr_assert_eq(send_numbered(500), DGW_ERR_RATE_LIMITED);
    cr_assert_eq(pending_output(), 0);
    dgw_presence p = {.since_ms = -1, .status = "online"};
    cr_assert_eq(dgw_conn_update_presence(T.c, &p, T.now), DGW_ERR_RATE_LIMITED);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

/* Largest count of client text frames in any [x, x+window) interval. */
static size_t max_in_window(uint64_t window)
{
    size_t best = 0;
    for (size_t i = 0; i < T.nout; i++) {
        if (T.out[i].opcode != 1)
            continue;
        size_t n = 0;
        for (size_t j = i; j < T.nout; j++)
            if (T.out[j].opcode == 1 && T.out[j].at < T.out[i].at + window)
                n++;
        if (n > best)
            best = n;
    }
    return best;
}

Test(commands, never_more_than_120_frames_per_60_s)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 1000); /* 60 heartbeats a minute */
    int next = 0;
    for (int step = 0; step < 600; step++) { /* 10 minutes */
        /* A greedy bot: keeps the queue full. */
        while (send_numbered(next) == DGW_OK)
            next++;
        ts_collect(&T);
        ts_advance_acking(&T, 1000);
        cr_assert_neq(dgw_conn_state(T.c), DGW_STATE_CLOSED, "closed at step %d: %s", step,
                      dgw_conn_last_error(T.c));
    }
    size_t m = max_in_window(60000);
    cr_log_info("max text frames in a 60 s window: %zu (commands sent %zu, beats %zu)", m,
                ts_count_op(&T, 3, 0), ts_count_op(&T, 1, 0));
    cr_assert_leq(m, 120, "%zu frames in one 60 s window", m);
    cr_assert_geq(ts_count_op(&T, 3, 0), 500, "the limiter starved commands");
    cr_assert_geq(ts_count_op(&T, 1, 0), 590, "heartbeats were held back");
}

Test(commands, never_more_than_120_with_discord_interval)
{
    /* Discord's real interval (~41 s): at most two beats per window. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    int next = 0;
    for (int step = 0; step < 600; step++) {
        while (send_numbered(next) == DGW_OK)
            next++;
        ts_collect(&T);
        ts_advance_acking(&T, 1000);
        cr_assert_neq(dgw_conn_state(T.c), DGW_STATE_CLOSED, "%s", dgw_conn_last_error(T.c));
    }
    size_t m = max_in_window(60000);
    cr_assert_leq(m, 120, "%zu frames in one 60 s window", m);
    cr_assert_geq(ts_count_op(&T, 3, 0), 1000, "the limiter starved commands");
}

Test(commands, never_more_than_120_with_bursty_traffic)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 3000);
    int next = 0;
    for (int step = 0; step < 400; step++) {
        int burst = (step * 7919) % 13;
        for (int k = 0; k < burst; k++)
            if (send_numbered(next) == DGW_OK)
                next++;
        ts_collect(&T);
        ts_advance_acking(&T, 173 + (uint64_t)(step * 31 % 900));
        cr_assert_neq(dgw_conn_state(T.c), DGW_STATE_CLOSED, "%s", dgw_conn_last_error(T.c));
    }
    size_t m = max_in_window(60000);
    cr_assert_leq(m, 120, "%zu frames in one 60 s window", m);
}

Test(commands, non_utf8_strings_refused)
{
    /* Found by reading fuzz_conn's gaps: caller strings reached text
     * frames without a UTF-8 check. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t from = T.nout;
    dgw_presence p = {.since_ms = -1, .status = "\xff\xfe"};
    cr_assert_eq(dgw_conn_update_presence(T.c, &p, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
    dgw_request_members r = {.guild_id = "1", .query = "a\xc3"};
    cr_assert_eq(dgw_conn_request_guild_members(T.c, &r, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_send(T.c, 3, "\"\xed\xa0\x80\"", 5, T.now),
                 DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(T.nout, from);
    /* And in the configuration: IDENTIFY is a text frame too. */
    dgw_config cfg = T.cfg;
    cfg.identify.device = "\xc0\xaf";
    dgw_err err;
    cr_assert_null(dgw_conn_new(&cfg, &err));
    cr_assert_eq(err, DGW_ERR_INVALID_ARGUMENT);
}

Test(commands, channel_info_shape_and_checks)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "613425648685547541",
                                               DGW_CHANNEL_INFO_STATUS |
                                                   DGW_CHANNEL_INFO_VOICE_START_TIME,
                                               T.now),
                 DGW_OK);
    ts_collect(&T);
    const ts_frame_out *f = ts_last_op(&T, 43);
    cr_assert_not_null(f);
    cr_assert_str_eq(f->payload, "{\"op\":43,\"d\":{\"guild_id\":\"613425648685547541\","
                                 "\"fields\":[\"status\",\"voice_start_time\"]}}");
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "1", DGW_CHANNEL_INFO_VOICE_START_TIME, T.now),
                 DGW_OK);
    ts_collect(&T);
    cr_assert_str_eq(ts_last_op(&T, 43)->payload,
                     "{\"op\":43,\"d\":{\"guild_id\":\"1\",\"fields\":[\"voice_start_time\"]}}");
    size_t n = T.nout;
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "1", 0, T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "1", 4, T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_request_channel_info(T.c, "x1", 1, T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_request_channel_info(T.c, NULL, 1, T.now), DGW_ERR_INVALID_ARGUMENT);
    ts_collect(&T);
    cr_assert_eq(T.nout, n);
}
