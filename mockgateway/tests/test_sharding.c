/* The default mode as a multi-shard Discord (PROTOCOL.md 5), as a process:
 * GET /gateway/bot, the shard checks of IDENTIFY (4010, 4011), one
 * IDENTIFY per bucket per window (INVALID_SESSION d=false), the budget
 * of session starts, and guilds routed to their shard. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_fixture.h"
#include "sharding.h"

/* Identify as shard [id, count] (count 0: no shard field). */
static void identify_shard(tws *c, int id, int count)
{
    char j[320];
    if (count)
        snprintf(j, sizeof j,
                 "{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":513,\"shard\":[%d,%d],\"properties\":"
                 "{\"os\":\"linux\",\"browser\":\"t\",\"device\":\"t\"}}}", id, count);
    else
        snprintf(j, sizeof j, "%s", IDENTIFY("test-token", 513));
    send_json(c, j);
}

/* The body of GET /api/v10/gateway/bot, parsed; *status set. */
static cJSON *gateway_bot(int *status)
{
    tws c;
    cr_assert_eq(tws_connect(&c, port), 0);
    const char *req = "GET /api/v10/gateway/bot HTTP/1.1\r\nHost: x\r\nAuthorization: Bot test-token\r\n\r\n";
    tws_send_raw(&c, req, strlen(req));
    static char resp[4096];
    *status = tws_read_http(&c, resp, sizeof resp);
    tws_close(&c);
    const char *body = strstr(resp, "\r\n\r\n");
    cr_assert_not_null(body, "%s", resp);
    cJSON *j = cJSON_Parse(body + 4);
    cr_assert_not_null(j, "%s", resp);
    return j;
}

static double num_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(j, a);
    if (b)
        v = cJSON_GetObjectItem(v, b);
    cr_assert(cJSON_IsNumber(v), "no number at %s%s%s", a, b ? "." : "", b ? b : "");
    return v->valuedouble;
}

static uint64_t snowflake(const cJSON *s)
{
    cr_assert(cJSON_IsString(s));
    return strtoull(s->valuestring, NULL, 10);
}

/* 3 shards, buckets of 1, a 300 ms window, 7 guilds, 4 of 5 starts left. */
static void start_sharded(void)
{
    const char *extra[] = {"--heartbeat-interval", "5000", "--shards", "3", "--max-concurrency", "1",
                           "--identify-window-ms", "300", "--guilds", "7", "--message-rate", "40",
                           "--session-start-total", "5", "--session-start-remaining", "4", NULL};
    start(extra);
}

TestSuite(sharded, .init = start_sharded, .fini = stop, .timeout = 30);

Test(sharded, gateway_bot_reports_the_shards_buckets_and_budget)
{
    int status;
    cJSON *j = gateway_bot(&status);
    cr_assert_eq(status, 200);
    cr_assert_eq(num_at(j, "shards", NULL), 3);
    cr_assert_eq(num_at(j, "session_start_limit", "max_concurrency"), 1);
    cr_assert_eq(num_at(j, "session_start_limit", "total"), 5);
    cr_assert_eq(num_at(j, "session_start_limit", "remaining"), 4);
    double reset = num_at(j, "session_start_limit", "reset_after");
    cr_assert(reset > 86400000 - 60000 && reset <= 86400000, "reset_after %.0f counts down from a day", reset);
    cJSON_Delete(j);
}

Test(sharded, identify_must_carry_a_shard_of_the_bots_count)
{
    const int bad[][2] = {{0, 0}, {0, 2}, {3, 3}, {1, 4}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tws c;
        cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
        identify_shard(&c, bad[i][0], bad[i][1]);
        cr_expect_eq(expect_close(&c), 4010, "shard [%d,%d]", bad[i][0], bad[i][1]);
        tws_close(&c);
    }
    int status;
    cJSON *j = gateway_bot(&status);
    cr_assert_eq(num_at(j, "session_start_limit", "remaining"), 4, "a refused IDENTIFY starts no session");
    cJSON_Delete(j);
}

/* What one shard gets: READY's guild stubs, GUILD_CREATEs and
 * MESSAGE_CREATEs, all of its own guilds. */
static void expect_only_own_guilds(tws *c, int shard, int shards, int guilds)
{
    int code = 0;
    cJSON *ready = read_until(c, 0, "READY", &code);
    cr_assert_not_null(ready, "shard %d: no READY (close %d)", shard, code);
    const cJSON *d = cJSON_GetObjectItem(ready, "d");
    const cJSON *sh = cJSON_GetObjectItem(d, "shard");
    cr_assert(cJSON_GetArrayItem(sh, 0)->valueint == shard && cJSON_GetArrayItem(sh, 1)->valueint == shards);
    int owned = mg_shard_guild_count(guilds, shard, shards);
    const cJSON *list = cJSON_GetObjectItem(d, "guilds"), *g;
    cr_assert_eq(cJSON_GetArraySize(list), owned, "shard %d: READY lists %d guilds, it owns %d", shard,
                 cJSON_GetArraySize(list), owned);
    cJSON_ArrayForEach(g, list)
        cr_assert_eq(mg_guild_shard(snowflake(cJSON_GetObjectItem(g, "id")), shards), shard);
    cJSON_Delete(ready);
    for (int k = 0; k < owned; k++) {
        cJSON *gc = read_until(c, 0, NULL, &code);
        cr_assert_not_null(gc);
        cr_assert_str_eq(cJSON_GetObjectItem(gc, "t")->valuestring, "GUILD_CREATE");
        uint64_t id = snowflake(cJSON_GetObjectItem(cJSON_GetObjectItem(gc, "d"), "id"));
        cr_assert_eq(id, mg_guild_id(mg_shard_guild(guilds, shard, shards, k)), "shard %d, guild %d", shard, k);
        cJSON_Delete(gc);
    }
    for (int k = 0; k < 2 * owned + 1; k++) {
        cJSON *m = read_until(c, 0, "MESSAGE_CREATE", &code);
        cr_assert_not_null(m, "shard %d: no MESSAGE_CREATE", shard);
        uint64_t gid = snowflake(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "d"), "guild_id"));
        cr_assert_eq(mg_guild_shard(gid, shards), shard, "shard %d got a message of guild %llu (shard %d)", shard,
                     (unsigned long long)gid, mg_guild_shard(gid, shards));
        cJSON_Delete(m);
    }
}

Test(sharded, each_shard_gets_its_guilds_and_their_messages_only)
{
    tws c[3];
    for (int s = 0; s < 3; s++) {
        cJSON_Delete(open_ws(&c[s], "v=10&encoding=json"));
        if (s)
            usleep(330 * 1000); /* one bucket: one IDENTIFY per 300 ms */
        identify_shard(&c[s], s, 3);
    }
    for (int s = 0; s < 3; s++)
        expect_only_own_guilds(&c[s], s, 3, 7);
    for (int s = 0; s < 3; s++)
        tws_close(&c[s]);
}

/* Two connections open; shard 0 of count IDENTIFYs on a: its READY. */
static cJSON *two_open_shard_0_ready(tws *a, tws *b, int count)
{
    int code = 0;
    cJSON_Delete(open_ws(a, "v=10&encoding=json"));
    cJSON_Delete(open_ws(b, "v=10&encoding=json"));
    identify_shard(a, 0, count);
    cJSON *ready = read_until(a, 0, "READY", &code);
    cr_assert_not_null(ready, "no READY for shard 0 (close %d)", code);
    return ready;
}

Test(sharded, a_second_identify_of_a_bucket_within_the_window_gets_invalid_session_false)
{
    tws a, b;
    int code = 0;
    cJSON *ready = two_open_shard_0_ready(&a, &b, 3);
    cJSON_Delete(ready);
    identify_shard(&b, 1, 3); /* max_concurrency 1: shard 1 shares shard 0's bucket */
    cJSON *inv = read_until(&b, 9, NULL, &code);
    cr_assert_not_null(inv, "no INVALID_SESSION (close %d)", code);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(inv, "d")), "d=false: no session started, none to resume");
    cJSON_Delete(inv);
    usleep(330 * 1000);
    identify_shard(&b, 1, 3); /* the window is over: the same connection may IDENTIFY */
    ready = read_until(&b, 0, "READY", &code);
    cr_assert_not_null(ready, "no READY after the window (close %d)", code);
    cJSON_Delete(ready);
    int status;
    cJSON *j = gateway_bot(&status);
    cr_assert_eq(num_at(j, "session_start_limit", "remaining"), 2, "two sessions started, the refused IDENTIFY spent none");
    cJSON_Delete(j);
    tws_close(&a);
    tws_close(&b);
}

/* One start left: the second session start ends every session and the
 * token no longer works (PROTOCOL.md 5). */
static void start_one_left(void)
{
    const char *extra[] = {"--heartbeat-interval", "5000", "--shards", "2", "--max-concurrency", "2",
                           "--identify-window-ms", "300", "--session-start-remaining", "1", NULL};
    start(extra);
}

Test(budget, an_identify_with_no_start_left_ends_every_session_and_resets_the_token, .init = start_one_left,
     .fini = stop, .timeout = 30)
{
    tws a, b;
    cJSON *ready = two_open_shard_0_ready(&a, &b, 2);
    char resume[200];
    snprintf(resume, sizeof resume, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"%s\",\"seq\":1}}",
             cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "d"), "session_id")->valuestring);
    cJSON_Delete(ready);
    identify_shard(&b, 1, 2);
    cr_assert_eq(expect_close(&b), 4004, "the IDENTIFY over the budget");
    cr_assert_eq(expect_close(&a), 4004, "and every session of the bot");
    tws_close(&a);
    tws_close(&b);
    cJSON_Delete(open_ws(&a, "v=10&encoding=json"));
    send_json(&a, resume);
    cr_assert_eq(expect_close(&a), 4004, "the sessions are gone, the token with them");
    tws_close(&a);
    int status;
    cJSON_Delete(gateway_bot(&status));
    cr_assert_eq(status, 401, "the reset token no longer authenticates REST either");
}

/* 7 guilds, at most 3 per shard: one shard is too few (4011), three are enough. */
static void start_crowded(void)
{
    const char *extra[] = {"--heartbeat-interval", "5000", "--guilds", "7", "--max-guilds-per-shard", "3",
                           "--max-concurrency", "4", NULL};
    start(extra);
}

Test(crowded, too_few_shards_for_the_guilds_is_4011, .init = start_crowded, .fini = stop, .timeout = 30)
{
    tws c;
    int code = 0;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    identify_shard(&c, 0, 0);
    cr_assert_eq(expect_close(&c), 4011, "7 guilds on one shard");
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    identify_shard(&c, 1, 2);
    cr_assert_eq(expect_close(&c), 4011, "shard 1 of 2 would hold 4 guilds");
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    identify_shard(&c, 1, 3);
    cJSON *ready = read_until(&c, 0, "READY", &code);
    cr_assert_not_null(ready, "3 shards are enough (close %d)", code);
    cJSON_Delete(ready);
    tws_close(&c);
}
