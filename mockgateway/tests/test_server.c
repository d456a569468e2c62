/* The server as a process: started on 127.0.0.1:0, spoken to with a raw
 * socket WebSocket client. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>
#ifdef MG_HAVE_ZSTD
#include <zstd.h>
#endif

#include "wsclient.h"

#ifndef MG_EXE
#error "MG_EXE must name the mockgateway binary"
#endif

static int server_pid, port;

static void start(const char *const *extra)
{
    const char *args[24] = {"--listen", "127.0.0.1:0", "--heartbeat-interval", "500", "--log-level", "error",
                            "--message-rate", "0", "--upgrade-timeout", "400"};
    int n = 10;
    for (int i = 0; extra && extra[i] && n < 22; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_pid = tws_spawn_server(MG_EXE, args, &port);
    cr_assert_gt(server_pid, 0, "mockgateway did not print its URL");
}

static void start_default(void) { start(NULL); }

static void stop(void)
{
    if (server_pid > 0)
        cr_expect_eq(tws_stop_server(server_pid), 0, "clean exit on SIGTERM");
    server_pid = 0;
}

/* Opens a WebSocket and returns the HELLO's parsed JSON. */
static cJSON *open_ws(tws *c, const char *query)
{
    char head[1024];
    cr_assert_eq(tws_connect(c, port), 0);
    int st = tws_upgrade(c, query, head, sizeof head);
    cr_assert_eq(st, 101, "upgrade status %d: %s", st, head);
    cr_assert(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "%s", head);
    uint8_t *p;
    size_t n;
    int code;
    int op = tws_read_message(c, &p, &n, &code, 3000);
    cr_assert_eq(op, 1, "HELLO must be a text frame (got %d)", op);
    cJSON *j = cJSON_ParseWithLength((char *)p, n);
    free(p);
    cr_assert_not_null(j);
    return j;
}

static void send_json(tws *c, const char *json) { cr_assert_eq(tws_send_frame(c, 1, json, strlen(json), 1), 0); }

/* Reads messages until op (and t, if given) or close; returns the JSON or NULL with *close_code. */
static cJSON *read_until(tws *c, int want_op, const char *want_t, int *close_code)
{
    for (;;) {
        uint8_t *p;
        size_t n;
        int op = tws_read_message(c, &p, &n, close_code, 4000);
        if (op < 0 || op == 8) {
            if (op == 8)
                free(p);
            return NULL;
        }
        cJSON *j = cJSON_ParseWithLength((char *)p, n);
        free(p);
        const cJSON *o = cJSON_GetObjectItem(j, "op"), *t = cJSON_GetObjectItem(j, "t");
        if (cJSON_IsNumber(o) && o->valueint == want_op &&
            (!want_t || (cJSON_IsString(t) && strcmp(t->valuestring, want_t) == 0)))
            return j;
        cJSON_Delete(j);
    }
}

static int expect_close(tws *c)
{
    int code = 0;
    cJSON *j = read_until(c, 999, NULL, &code);
    cJSON_Delete(j);
    return code;
}

#define IDENTIFY(tok, intents)                                                                     \
    "{\"op\":2,\"d\":{\"token\":\"" tok "\",\"intents\":" #intents ",\"properties\":{\"os\":\"linux\"," \
    "\"browser\":\"t\",\"device\":\"t\"}}}"

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

Test(server, oversized_message_is_closed_1009)
{
    tws c;
    cJSON_Delete(open_ws(&c, "v=10&encoding=json"));
    size_t n = (1u << 20) + 10;
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

Test(server, many_connections_at_once)
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
