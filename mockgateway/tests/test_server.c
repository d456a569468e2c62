/* The server as a process: started on 127.0.0.1:0, spoken to with a raw
 * socket WebSocket client. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#ifdef MG_HAVE_ZSTD
#include <zstd.h>
#endif

#include "attacks.h"
#include "server_fixture.h"

TestSuite(server, .init = start_default, .fini = stop, .timeout = 30);

Test(server, hello_after_upgrade)
{
    tws c;
    cJSON *h = open_ws(&c, "v=10&encoding=json");
    cr_assert_eq(cJSON_GetObjectItem(h, "op")->valueint, 10);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "d"), "heartbeat_interval")->valueint, 500);
    cJSON_Delete(h);
    tws_close(&c);
}

Test(server, rest_gateway_bot_points_back)
{
    const char *paths[] = {"/api/v10/gateway/bot", "/api/v9/gateway/bot", "/api/v10/gateway", "/api/v9/gateway"};
    for (int i = 0; i < 4; i++) {
        tws c;
        cr_assert_eq(tws_connect(&c, port), 0);
        char req[256], resp[2048], want[64];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bot test-token\r\n\r\n", paths[i]);
        tws_send_raw(&c, req, strlen(req));
        cr_assert_eq(tws_read_http(&c, resp, sizeof resp), 200, "%s", resp);
        snprintf(want, sizeof want, "\"url\":\"ws://127.0.0.1:%d\"", port);
        cr_assert(strstr(resp, want), "%s", resp);
        if (i < 2)
            cr_assert(strstr(resp, "\"max_concurrency\":1"), "%s", resp);
        tws_close(&c);
    }
}

Test(server, rest_unknown_path_is_404_and_other_methods_405)
{
    struct {
        const char *req;
        int status;
        const char *body;
    } cases[] = {
        {"GET /api/v10/users/@nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "{\"message\": \"404: Not Found\", \"code\": 0}"},
        {"POST /api/v10/gateway/bot HTTP/1.1\r\nHost: x\r\n\r\n", 405,
         "{\"message\": \"405: Method Not Allowed\", \"code\": 0}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tws c;
        char resp[2048];
        cr_assert_eq(tws_connect(&c, port), 0);
        tws_send_raw(&c, cases[i].req, strlen(cases[i].req));
        cr_assert_eq(tws_read_http(&c, resp, sizeof resp), cases[i].status, "%s", resp);
        cr_assert(strstr(resp, "Content-Type: application/json\r\n"), "%s", resp);
        cr_assert(strstr(resp, cases[i].body), "%s", resp);
        if (cases[i].status == 405)
            cr_assert(strstr(resp, "Allow: GET\r\n"), "%s", resp);
        tws_close(&c);
    }
}

/* One REST exchange: the status, the response in resp. */
static int rest_get(const char *path, const char *auth, char *resp, size_t resplen)
{
    tws c;
    char req[512];
    cr_assert_eq(tws_connect(&c, port), 0);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path, auth ? "Authorization: " : "",
             auth ? auth : "", auth ? "\r\n" : "");
    tws_send_raw(&c, req, strlen(req));
    int status = tws_read_http(&c, resp, resplen);
    tws_close(&c);
    return status;
}

/* What clients ask at login (discord.py: /users/@me, then
 * /oauth2/applications/@me; the others /gateway/bot), with Discord's 401
 * for a missing, unknown or prefix-less token. */
Test(server, rest_login_routes_check_the_token)
{
    const struct {
        const char *path, *want;
    } routes[] = {
        {"/api/v10/users/@me", "\"username\":\"mockbot\""},
        {"/api/v9/users/@me", "\"id\":\"100000000000000001\""},
        {"/api/v10/oauth2/applications/@me", "\"verify_key\":\"0000"},
        {"/api/v10/oauth2/applications/@me", "\"owner\":{\"id\":\"100000000000000001\""},
        {"/api/v10/gateway/bot", "\"session_start_limit\""},
        {"/api/v9/gateway/bot", "\"shards\":1"},
    };
    const char *refused[] = {NULL, "Bot wrong-token", "test-token", "Bearer test-token", "Bot test-token-longer",
                             "Bot test-toke", "Bot "};
    char resp[4096];
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        cr_assert_eq(rest_get(routes[i].path, "Bot test-token", resp, sizeof resp), 200, "%s: %s", routes[i].path,
                     resp);
        cr_assert(strstr(resp, routes[i].want), "%s: %s", routes[i].path, resp);
        cJSON *j = cJSON_Parse(strstr(resp, "\r\n\r\n") + 4);
        cr_assert(cJSON_IsObject(j), "%s: not one JSON object: %s", routes[i].path, resp);
        cJSON_Delete(j);
        for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
            cr_assert_eq(rest_get(routes[i].path, refused[k], resp, sizeof resp), 401, "%s with %s: %s",
                         routes[i].path, refused[k] ? refused[k] : "no Authorization", resp);
            cr_assert(strstr(resp, "{\"message\": \"401: Unauthorized\", \"code\": 0}"), "%s", resp);
        }
    }
    /* /gateway wants no token, as on Discord. */
    cr_assert_eq(rest_get("/api/v10/gateway", NULL, resp, sizeof resp), 200, "%s", resp);
    cr_assert_eq(rest_get("/api/v8/users/@me", "Bot test-token", resp, sizeof resp), 404, "%s", resp);
}

Test(server, bad_upgrade_gets_400_with_reason)
{
    tws c;
    cr_assert_eq(tws_connect(&c, port), 0);
    const char *req = "GET /?v=10 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    tws_send_raw(&c, req, strlen(req));
    char resp[2048];
    cr_assert_eq(tws_read_http(&c, resp, sizeof resp), 400, "%s", resp);
    cr_assert(strstr(resp, "Sec-WebSocket-Key"), "reason in the body: %s", resp);
    tws_close(&c);
}

Test(server, garbage_is_closed_and_others_still_work)
{
    tws g, ok;
    cr_assert_eq(tws_connect(&g, port), 0);
    tws_send_raw(&g, "\x16\x03\x01\x00\xff garbage\r\n\r\n", 17);
    char resp[1024];
    cr_assert_eq(tws_read_http(&g, resp, sizeof resp), 400);
    tws_close(&g);
    cJSON_Delete(open_ws(&ok, "v=10&encoding=json"));
    tws_close(&ok);
}

Test(server, oversized_headers_get_431)
{
    tws c;
    cr_assert_eq(tws_connect(&c, port), 0);
    static char big[10000];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    tws_send_raw(&c, big, sizeof big);
    char resp[1024];
    cr_assert_eq(tws_read_http(&c, resp, sizeof resp), 431, "%s", resp);
    tws_close(&c);
}

Test(server, unmasked_frame_is_closed_1002)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    tws_send_frame(&c, 1, "{\"op\":1,\"d\":null}", 17, 0);
    cr_assert_eq(expect_close(&c), 1002);
    tws_close(&c);
}

/* Every malformed frame kind gets its close code in a close frame, then a
 * clean FIN (issue 12: some ended in RST with no close frame, and a 1-byte
 * close payload got an empty close). 4 KiB of heartbeats follow each bad
 * frame in the same write, so the server has unread input when it ends. */
Test(server, malformed_frames_get_a_close_frame_then_fin)
{
    for (size_t i = 0; i < mg_nbad_frames; i++) {
        const mg_bad_frame *bf = &mg_bad_frames[i];
        tws c;
        cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
        uint8_t buf[4096 + 64];
        cr_assert_eq(tws_send_raw(&c, buf, mg_bad_frame_with_tail(bf, buf, sizeof buf)), 0);
        int code = expect_close(&c);
        cr_expect_eq(code, bf->code, "%s: close %d, want %d (0: no close frame)", bf->what, code, bf->code);
        int eof = code ? tws_wait_eof(&c, 3000) : 0;
        cr_expect_eq(eof, 0, "%s: after the close frame %s, want a clean FIN", bf->what,
                     eof == -2 ? "a reset" : "no FIN");
        tws_close(&c);
    }
}

/* Payloads the default mode closes on; among them "token\u0000x", which
 * passed the token check as "token", and bytes after the JSON value, which
 * were ignored (issue 12). */
Test(server, bad_payloads_get_their_close_codes)
{
    for (size_t i = 0; i < mg_nbad_payloads; i++) {
        const mg_bad_payload *bp = &mg_bad_payloads[i];
        tws c;
        cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
        send_json(&c, bp->json);
        int code = expect_close(&c);
        cr_expect_eq(code, bp->code, "%s: close %d, want %d", bp->what, code, bp->code);
        tws_close(&c);
    }
}

Test(server, oversized_message_is_closed_1009)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    size_t n = (64u << 10) + 1; /* MG_MAX_MESSAGE + 1 */
    char *big = malloc(n);
    memset(big, ' ', n);
    tws_send_frame(&c, 1, big, n, 1);
    free(big);
    cr_assert_eq(expect_close(&c), 1009);
    tws_close(&c);
}

Test(server, invalid_json_is_4002_and_unknown_op_4001)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, "{nope");
    cr_assert_eq(expect_close(&c), 4002);
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, "{\"op\":42,\"d\":null}");
    cr_assert_eq(expect_close(&c), 4001);
    tws_close(&c);
}

Test(server, payload_before_identify_is_4003)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, "{\"op\":1,\"d\":null}"); /* heartbeats are fine */
    cJSON_Delete(read_until(&c, 11, NULL, &(int){0}));
    send_json(&c, "{\"op\":3,\"d\":{}}");
    cr_assert_eq(expect_close(&c), 4003);
    tws_close(&c);
}

Test(server, identify_ready_then_second_identify_4005)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, IDENTIFY("test-token", 513));
    int code = 0;
    cJSON *ready = read_until(&c, 0, "READY", &code);
    cr_assert_not_null(ready, "no READY (close %d)", code);
    const cJSON *d = cJSON_GetObjectItem(ready, "d");
    cr_assert_eq(strlen(cJSON_GetObjectItem(d, "session_id")->valuestring), 32);
    char want[64];
    snprintf(want, sizeof want, "ws://127.0.0.1:%d", port);
    cr_assert_str_eq(cJSON_GetObjectItem(d, "resume_gateway_url")->valuestring, want);
    cr_assert_eq(cJSON_GetObjectItem(d, "v")->valueint, 10);
    cr_assert_eq(cJSON_GetObjectItem(ready, "s")->valueint, 1);
    cJSON_Delete(ready);
    cJSON *gc = read_until(&c, 0, "GUILD_CREATE", &code);
    cr_assert_not_null(gc);
    cJSON_Delete(gc);
    send_json(&c, IDENTIFY("test-token", 513));
    cr_assert_eq(expect_close(&c), 4005);
    tws_close(&c);
}

Test(server, identify_rejections)
{
    struct {
        const char *json;
        int code;
    } cases[] = {
        {IDENTIFY("wrong", 1), 4004},
        {IDENTIFY("test-token", 134217728), 4013},
        {"{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":1,\"shard\":[3,2],\"properties\":{\"os\":\"l\","
         "\"browser\":\"b\",\"device\":\"d\"}}}",
         4010},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tws c;
        cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
        send_json(&c, cases[i].json);
        cr_expect_eq(expect_close(&c), cases[i].code, "case %zu", i);
        tws_close(&c);
    }
}

Test(server, bad_version_is_4012)
{
    tws c;
    char head[512];
    cr_assert_eq(tws_connect(&c, port), 0);
    cr_assert_eq(tws_upgrade(&c, "v=7", head, sizeof head), 101);
    cr_assert_eq(expect_close(&c), 4012);
    tws_close(&c);
}

Test(server, idle_client_is_closed_4009)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    cr_assert_eq(expect_close(&c), 4009, "no IDENTIFY within 2 x 500 ms");
    tws_close(&c);
}

Test(server, rate_limit_is_4008)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    for (int i = 0; i < 121; i++)
        send_json(&c, "{\"op\":1,\"d\":null}");
    cr_assert_eq(expect_close(&c), 4008);
    tws_close(&c);
}

Test(server, resume_replays_then_resumed)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, IDENTIFY("test-token", 1));
    int code = 0;
    cJSON *ready = read_until(&c, 0, "READY", &code);
    char sid[40];
    snprintf(sid, sizeof sid, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "d"), "session_id")->valuestring);
    cJSON_Delete(ready);
    tws_close(&c); /* a drop keeps the session */
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    char resume[200];
    snprintf(resume, sizeof resume, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"%s\",\"seq\":1}}", sid);
    send_json(&c, resume);
    cJSON *g = read_until(&c, 0, NULL, &code);
    cr_assert_not_null(g);
    cr_assert_str_eq(cJSON_GetObjectItem(g, "t")->valuestring, "GUILD_CREATE", "replayed s=2");
    cr_assert_eq(cJSON_GetObjectItem(g, "s")->valueint, 2);
    cJSON_Delete(g);
    cJSON *r = read_until(&c, 0, "RESUMED", &code);
    cr_assert_not_null(r);
    cr_assert_eq(cJSON_GetObjectItem(r, "s")->valueint, 3);
    cJSON_Delete(r);
    tws_close(&c);
    /* unknown session: INVALID_SESSION false */
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"nope\",\"seq\":1}}");
    cJSON *inv = read_until(&c, 9, NULL, &code);
    cr_assert_not_null(inv);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(inv, "d")));
    cJSON_Delete(inv);
    tws_close(&c);
}

/* Inflates one zlib-stream message with a context kept across calls. */
Test(server, zlib_stream_hello_ends_with_sync_flush)
{
    tws c;
    char head[512];
    cr_assert_eq(tws_connect(&c, port), 0);
    cr_assert_eq(tws_upgrade(&c, "v=10&encoding=json&compress=zlib-stream", head, sizeof head), 101);
    uint8_t *p;
    size_t n;
    int code;
    cr_assert_eq(tws_read_message(&c, &p, &n, &code, 3000), 2, "binary frame");
    cr_assert_geq(n, 4);
    cr_assert(p[n - 4] == 0 && p[n - 3] == 0 && p[n - 2] == 0xff && p[n - 1] == 0xff);
    z_stream z = {0};
    inflateInit(&z);
    char out[512] = {0};
    z.next_in = p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof out - 1;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    cr_assert(rc == Z_OK || rc == Z_BUF_ERROR);
    cr_assert(strstr(out, "\"heartbeat_interval\":500"), "%s", out);
    inflateEnd(&z);
    free(p);
    tws_close(&c);
}

#ifdef MG_HAVE_ZSTD
Test(server, zstd_stream_hello_decompresses)
{
    tws c;
    char head[512];
    cr_assert_eq(tws_connect(&c, port), 0);
    cr_assert_eq(tws_upgrade(&c, "v=10&encoding=json&compress=zstd-stream", head, sizeof head), 101);
    uint8_t *p;
    size_t n;
    int code;
    cr_assert_eq(tws_read_message(&c, &p, &n, &code, 3000), 2);
    ZSTD_DStream *ds = ZSTD_createDStream();
    char out[512] = {0};
    ZSTD_inBuffer in = {p, n, 0};
    ZSTD_outBuffer ob = {out, sizeof out - 1, 0};
    size_t rc = ZSTD_decompressStream(ds, &ob, &in);
    cr_assert_not(ZSTD_isError(rc));
    cr_assert(strstr(out, "\"op\":10"), "%s", out);
    ZSTD_freeDStream(ds);
    free(p);
    tws_close(&c);
}
#endif

/* All N connect before the first sends its request, which took 130-490 ms
 * here for N = 1000: over the default fixture's 400 ms upgrade timeout on
 * a busy machine, so connection 0 got 408 ("upgrade 0", 1 run in 4). The
 * timeout is not what this test is about: it gets a patient server. */
static void start_patient(void)
{
    const char *extra[] = {"--upgrade-timeout", "60000", NULL};
    start(extra);
}

Test(server_patient, many_connections_at_once, .init = start_patient, .fini = stop, .timeout = 60)
{
    /* A thousand clients connecting together all get HELLO (fewer if the
     * descriptor limit of this machine cannot hold both sides). */
    enum { MAX_N = 1000 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int N = rl.rlim_cur > MAX_N + 64 ? MAX_N : (int)rl.rlim_cur - 64;
    cr_assert_gt(N, 100, "RLIMIT_NOFILE too small for this test");
    static tws cs[MAX_N];
    char head[512];
    for (int i = 0; i < N; i++)
        cr_assert_eq(tws_connect(&cs[i], port), 0, "connect %d", i);
    for (int i = 0; i < N; i++)
        cr_assert_eq(tws_upgrade(&cs[i], "v=10&encoding=json", head, sizeof head), 101, "upgrade %d", i);
    for (int i = 0; i < N; i++) {
        uint8_t *p;
        size_t n;
        int code;
        cr_assert_eq(tws_read_message(&cs[i], &p, &n, &code, 5000), 1, "HELLO %d", i);
        free(p);
    }
    for (int i = 0; i < N; i++)
        tws_close(&cs[i]);
}

Test(server, silent_client_gets_408_after_the_upgrade_timeout)
{
    tws c;
    cr_assert_eq(tws_connect(&c, port), 0);
    char resp[512];
    cr_assert_eq(tws_read_http(&c, resp, sizeof resp), 408, "%s", resp);
    tws_close(&c);
}

Test(server, disconnect_mid_upgrade_and_mid_frame)
{
    tws c;
    cr_assert_eq(tws_connect(&c, port), 0);
    tws_send_raw(&c, "GET /?v=10 HTTP/1.1\r\nHost: x\r\nUpg", 33);
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    const uint8_t partial[] = {0x81, 0x85, 1, 2, 3, 4, 'a'};
    tws_send_raw(&c, partial, sizeof partial);
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json")); /* still serving */
    tws_close(&c);
}

static void start_no_privileged(void)
{
    const char *extra[] = {"--granted-intents", "0", NULL};
    start(extra);
}

Test(server_policy, privileged_intents_not_granted_are_4014, .init = start_no_privileged, .fini = stop, .timeout = 20)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_json(&c, IDENTIFY("test-token", 32768));
    cr_assert_eq(expect_close(&c), 4014);
    tws_close(&c);
}

/* ---- regressions of issue 12: one client must not crash or stall the server ---- */

/* Sends json as a masked text frame followed by `heartbeats` heartbeat
 * frames, all in one write. */
static void send_then_heartbeats(tws *c, const char *json, int heartbeats)
{
    size_t hl = strlen(HEARTBEAT), jl = strlen(json);
    uint8_t *buf = malloc(jl + 14 + (size_t)heartbeats * (hl + 14));
    size_t n = tws_frame(buf, 0x81, json, jl, 1);
    for (int i = 0; i < heartbeats; i++)
        n += tws_frame(buf + n, 0x81, HEARTBEAT, hl, 1);
    cr_assert_eq(tws_send_raw(c, buf, n), 0);
    free(buf);
}

/* A message the server answers by closing, then more than 4096 bytes in
 * the same write: the close used to be queued from inside wslay's message
 * callback and re-entered wslay_event_recv, which aborted the process
 * (wslay_queue_tail: Assertion 'queue->tail' failed). */
static void close_worthy_message_then_more_bytes(void)
{
    static const struct {
        const char *json;
        int code;
    } cases[] = {
        {IDENTIFY("wrong", 1), 4004},
        {"{\"op\":42,\"d\":null}", 4001},
        {"{nope", 4002},
        {"{\"op\":3,\"d\":{}}", 4003},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tws c;
        cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
        send_then_heartbeats(&c, cases[i].json, 300); /* 300 x 29 bytes after it */
        cr_expect_eq(expect_close(&c), cases[i].code, "case %zu", i);
        tws_close(&c);
    }
    /* 4008: the 121st command closes, with 200 more behind it. */
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    send_then_heartbeats(&c, HEARTBEAT, 320);
    cr_expect_eq(expect_close(&c), 4008);
    tws_close(&c);
    cJSON_Delete(open_ws(&c, "v=10&encoding=json")); /* still serving */
    tws_close(&c);
}

Test(server, close_worthy_message_then_more_bytes_in_one_write)
{
    close_worthy_message_then_more_bytes();
}

Test(server_tls, close_worthy_message_then_more_bytes_in_one_write, .init = start_tls, .fini = stop_tls,
     .timeout = 30)
{
    close_worthy_message_then_more_bytes();
}

/* A client that floods frames the rate limit does not count. */
struct flood {
    uint8_t *unit; /* frames repeated back to back */
    size_t unit_len;
    const uint8_t *prefix; /* sent once first (may be NULL) */
    size_t prefix_len;
    int ms;   /* how long to flood */
    tws c;
    int close_code; /* what the server closed the flooder with */
};

static void *flood_thread(void *arg)
{
    struct flood *f = arg;
    if (f->prefix)
        tws_send_raw(&f->c, f->prefix, f->prefix_len);
    long long end = now_us() + f->ms * 1000LL;
    while (now_us() < end && tws_send_raw(&f->c, f->unit, f->unit_len) == 0) {
    }
    f->close_code = expect_close(&f->c);
    return NULL;
}

/* While one client floods, another heartbeats every 100 ms; returns the
 * worst ACK latency seen (ms). */
static double worst_ack_during_flood(struct flood *f)
{
    tws honest;
    cJSON_Delete(open_ws(&honest, "v=10&encoding=json"));
    send_json(&honest, IDENTIFY("test-token", 1));
    int code = 0;
    cJSON *ready = read_until(&honest, 0, "GUILD_CREATE", &code);
    cr_assert_not_null(ready, "no READY (close %d)", code);
    cJSON_Delete(ready);
    cJSON_Delete(open_ws(&f->c, "v=10&encoding=json"));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flood_thread, f), 0);
    double worst = 0;
    long long end = now_us() + f->ms * 1000LL;
    while (now_us() < end) {
        long long t0 = now_us();
        send_json(&honest, HEARTBEAT);
        cJSON *ack = read_until(&honest, 11, NULL, &code);
        cr_assert_not_null(ack, "the honest client got no ACK: %.0f ms after its heartbeat, close %d instead",
                           (double)(now_us() - t0) / 1000.0, code);
        cJSON_Delete(ack);
        double ms = (double)(now_us() - t0) / 1000.0;
        if (ms > worst)
            worst = ms;
        usleep(100000);
    }
    pthread_join(th, NULL);
    tws_close(&f->c);
    tws_close(&honest);
    cr_log_info("worst ACK latency during the flood: %.2f ms", worst);
    return worst;
}

static void fill_units(struct flood *f, int first_byte, int copies)
{
    uint8_t one[16];
    size_t n = tws_frame(one, first_byte, NULL, 0, 1);
    f->unit = malloc(n * (size_t)copies);
    for (int i = 0; i < copies; i++)
        memcpy(f->unit + i * n, one, n);
    f->unit_len = n * (size_t)copies;
}

/* Pongs are not commands: the server used to read them for as long as
 * they came, holding its loop (14.5 s without an ACK in issue 12). */
Test(server, pong_flood_does_not_stall_other_clients, .timeout = 60)
{
    struct flood f = {.ms = 3000};
    fill_units(&f, 0x8a, 4096);
    double worst = worst_ack_during_flood(&f);
    free(f.unit);
    cr_expect_lt(worst, 500.0, "an honest client waited %.1f ms for an ACK during a pong flood", worst);
    cr_expect_eq(f.close_code, 1008, "the flooder must be closed 1008 (too many frames), got %d", f.close_code);
}

/* The same with empty continuation frames of a message that never ends. */
Test(server, empty_continuation_flood_does_not_stall_other_clients, .timeout = 60)
{
    static const uint8_t start_frame[] = {0x01, 0x80, 1, 2, 3, 4}; /* text, FIN=0, empty */
    struct flood f = {.ms = 3000, .prefix = start_frame, .prefix_len = sizeof start_frame};
    fill_units(&f, 0x00, 4096);
    double worst = worst_ack_during_flood(&f);
    free(f.unit);
    cr_expect_lt(worst, 500.0, "an honest client waited %.1f ms for an ACK during a continuation flood", worst);
    cr_expect_eq(f.close_code, 1008, "the flooder must be closed 1008 (too many frames), got %d", f.close_code);
}
