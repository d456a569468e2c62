/* The default mode's other wire forms, spoken to by a raw socket client:
 * encoding=etf both ways and payload compression ("compress": true in
 * IDENTIFY). What a payload means is checked after decoding it with the
 * same codecs a client would use (mg_etf_to_json is libdgw's decoder,
 * zlib's uncompress for payload compression). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encoding.h"
#include "etf.h"
#include "wsclient.h"

#ifndef MG_EXE
#error "MG_EXE must name the mockgateway binary"
#endif

static int server_pid, port;

static void start(void)
{
    const char *args[] = {"--listen", "127.0.0.1:0", "--heartbeat-interval", "500", "--log-level", "error",
                          "--message-rate", "0", "--guilds", "1",
                          /* IDENTIFY after IDENTIFY: no 5 s buckets here */
                          "--identify-window-ms", "0", NULL};
    server_pid = tws_spawn_server(MG_EXE, args, &port);
    cr_assert_gt(server_pid, 0, "mockgateway did not print its URL");
}

static void stop(void)
{
    if (server_pid > 0)
        cr_expect_eq(tws_stop_server(server_pid), 0, "clean exit on SIGTERM");
    server_pid = 0;
}

TestSuite(encodings, .init = start, .fini = stop, .timeout = 30);

static void upgrade(tws *c, const char *query)
{
    char head[1024];
    cr_assert_eq(tws_connect(c, port), 0);
    int st = tws_upgrade(c, query, head, sizeof head);
    cr_assert_eq(st, 101, "upgrade status %d: %s", st, head);
}

/* The next message, decoded to JSON by its frame type: text as it is,
 * binary as ETF (etf) or as one zlib stream (otherwise). NULL with
 * *close_code on a close. *opcode gets the frame type. */
static cJSON *next_payload(tws *c, int etf, int *opcode, int *close_code)
{
    uint8_t *p;
    size_t n;
    *close_code = 0;
    int op = tws_read_message(c, &p, &n, close_code, 4000);
    *opcode = op;
    if (op != 1 && op != 2) {
        if (op == 8)
            free(p);
        return NULL;
    }
    mg_buf json = {0};
    if (op == 1) {
        cr_assert_eq(mg_buf_append(&json, p, n), 0);
    } else if (etf) {
        const char *why = "";
        cr_assert_eq(mg_etf_to_json(p, n, 1 << 24, &json, &why), 0, "the server's ETF does not decode: %s", why);
    } else {
        uLongf cap = 1 << 20;
        cr_assert_eq(mg_buf_reserve(&json, cap), 0);
        cr_assert_eq(uncompress(json.data, &cap, p, (uLong)n), Z_OK, "a binary frame that is not one zlib stream");
        json.len = cap;
    }
    free(p);
    cJSON *j = cJSON_ParseWithLength((const char *)json.data, json.len);
    cr_assert_not_null(j, "not JSON: %.*s", (int)json.len, json.data);
    mg_buf_free(&json);
    return j;
}

static int op_of(const cJSON *j) { return cJSON_GetObjectItem(j, "op")->valueint; }

static const char *t_of(const cJSON *j)
{
    const cJSON *t = cJSON_GetObjectItem(j, "t");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* Sends one payload as ETF (what a client writes: string keys). */
static void send_etf(tws *c, const char *json)
{
    uint8_t out[4096];
    size_t len = 0;
    const char *why = "";
    cr_assert_eq(dgw_etf_encode(json, strlen(json), 0, out, sizeof out, &len, &why), 0, "%s", why);
    cr_assert_eq(tws_send_frame(c, 2, out, len, 1), 0);
}

static void send_text(tws *c, const char *json) { cr_assert_eq(tws_send_frame(c, 1, json, strlen(json), 1), 0); }

#define IDENTIFY_WITH(extra)                                                                                 \
    "{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":513,\"properties\":{\"os\":\"linux\","          \
    "\"browser\":\"t\",\"device\":\"t\"}" extra "}}"

/* Upgrades with query and reads HELLO past. */
static void open_past_hello(tws *c, const char *query, int etf)
{
    int opcode, code;
    upgrade(c, query);
    cJSON *hello = next_payload(c, etf, &opcode, &code);
    cr_assert_not_null(hello, "no HELLO (close %d)", code);
    cJSON_Delete(hello);
}

/* Reads payloads until a HEARTBEAT_ACK; returns its frame type. */
static int await_ack(tws *c, int etf)
{
    for (;;) {
        int opcode, code;
        cJSON *j = next_payload(c, etf, &opcode, &code);
        cr_assert_not_null(j, "no HEARTBEAT_ACK (close %d)", code);
        int op = op_of(j);
        cJSON_Delete(j);
        if (op == 11)
            return opcode;
    }
}

/* Reads payloads until READY; checks each came as want_opcode. */
static cJSON *read_ready(tws *c, int etf, int want_opcode)
{
    for (int i = 0; i < 10; i++) {
        int opcode, code;
        cJSON *j = next_payload(c, etf, &opcode, &code);
        cr_assert_not_null(j, "no READY: frame type %d, close %d", opcode, code);
        if (op_of(j) == 0 && strcmp(t_of(j), "READY") == 0) {
            cr_assert_eq(opcode, want_opcode, "READY came as frame type %d, not %d", opcode, want_opcode);
            return j;
        }
        cJSON_Delete(j);
    }
    cr_assert_fail("no READY in 10 payloads");
    return NULL;
}

Test(encodings, etf_hello_identify_ready_heartbeat_ack)
{
    tws c;
    upgrade(&c, "v=10&encoding=etf");
    int opcode, code;
    cJSON *hello = next_payload(&c, 1, &opcode, &code);
    cr_assert_eq(opcode, 2, "HELLO under ETF must be a binary frame (got %d)", opcode);
    cr_assert_eq(op_of(hello), 10);
    cJSON_Delete(hello);

    send_etf(&c, IDENTIFY_WITH(""));
    cJSON *ready = read_ready(&c, 1, 2);
    const cJSON *sid = cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "d"), "session_id");
    cr_assert(cJSON_IsString(sid) && strlen(sid->valuestring) == 32);
    cJSON_Delete(ready);

    send_etf(&c, "{\"op\":1,\"d\":1}");
    await_ack(&c, 1);
    tws_close(&c);
}

Test(encodings, etf_text_frame_is_4002)
{
    tws c;
    open_past_hello(&c, "v=10&encoding=etf", 1);
    int opcode, code;
    send_text(&c, IDENTIFY_WITH(""));
    cr_assert_null(next_payload(&c, 1, &opcode, &code));
    cr_assert_eq(code, 4002, "a text frame on an ETF connection: close %d", code);
    tws_close(&c);
}

Test(encodings, etf_that_does_not_decode_is_4002_and_the_server_serves_on)
{
    static const uint8_t bad[][8] = {{131, 255}, {0x83, 'h', 5, 'a'}, {1, 2, 3}};
    static const size_t badlen[] = {2, 4, 3};
    for (size_t i = 0; i < sizeof badlen / sizeof *badlen; i++) {
        tws c;
        open_past_hello(&c, "v=10&encoding=etf", 1);
        int opcode, code;
        cr_assert_eq(tws_send_frame(&c, 2, bad[i], badlen[i], 1), 0);
        cr_assert_null(next_payload(&c, 1, &opcode, &code));
        cr_assert_eq(code, 4002, "bad ETF %zu: close %d", i, code);
        tws_close(&c);
    }
    tws c;
    open_past_hello(&c, "v=10&encoding=etf", 1);
    send_etf(&c, IDENTIFY_WITH(""));
    cJSON_Delete(read_ready(&c, 1, 2));
    tws_close(&c);
}

Test(encodings, payload_compression_sends_ready_as_one_zlib_stream)
{
    tws c;
    open_past_hello(&c, "v=10&encoding=json", 0);
    send_text(&c, IDENTIFY_WITH(",\"compress\":true"));
    cJSON_Delete(read_ready(&c, 0, 2));
    /* Small payloads stay text. */
    send_text(&c, "{\"op\":1,\"d\":1}");
    cr_assert_eq(await_ack(&c, 0), 1, "a HEARTBEAT_ACK is small: text");
    tws_close(&c);
}

Test(encodings, no_payload_compression_without_asking_or_with_etf)
{
    tws c;
    open_past_hello(&c, "v=10&encoding=json", 0);
    send_text(&c, IDENTIFY_WITH(""));
    cJSON_Delete(read_ready(&c, 0, 1));
    tws_close(&c);

    /* Discord: payload compression is for JSON only. */
    open_past_hello(&c, "v=10&encoding=etf", 1);
    send_etf(&c, IDENTIFY_WITH(",\"compress\":true"));
    cJSON_Delete(read_ready(&c, 1, 2));
    tws_close(&c);
}

Test(encodings, unknown_encoding_is_4002)
{
    tws c;
    upgrade(&c, "v=10&encoding=msgpack");
    int opcode, code;
    cr_assert_null(next_payload(&c, 0, &opcode, &code));
    cr_assert_eq(code, 4002);
    tws_close(&c);
}
