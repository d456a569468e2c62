/* gen_corpus.c - writes the seed corpora in fuzz/corpus/ from real flows:
 * a real HELLO/READY/dispatch stream, real zlib-stream and zstd-stream
 * bytes, upgrade responses with the right Sec-WebSocket-Accept for the
 * targets' fixed random key, and operation scripts for fuzz_conn.
 *
 *   build/fuzz/fuzz_gen_corpus fuzz/corpus
 *
 * The formats are the ones documented at the top of each fuzz_X.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "fuzz_mg_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static const char *root;

typedef struct out {
    uint8_t *p;
    size_t n, cap;
} out;

static void put(out *o, const void *b, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2 + 256;
        o->p = realloc(o->p, o->cap);
        if (!o->p)
            abort();
    }
    memcpy(o->p + o->n, b, n);
    o->n += n;
}
static void put8(out *o, unsigned v) { uint8_t b = (uint8_t)v; put(o, &b, 1); }
static void put16(out *o, unsigned v) { put8(o, v >> 8); put8(o, v & 255); }
static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }
/* fz_chunk's encoding. */
static void putchunk(out *o, const void *b, size_t n)
{
    if (n < 0xff) {
        put8(o, (unsigned)n);
    } else {
        put8(o, 0xff);
        put16(o, (unsigned)(n > 65535 ? 65535 : n));
        n = n > 65535 ? 65535 : n;
    }
    put(o, b, n);
}
static void putframe(out *o, bool fin, uint8_t op, const void *b, size_t n)
{
    uint8_t *f = malloc(n + 14);
    size_t k = fz_frame(f, fin, op, b, n);
    put(o, f, k);
    free(f);
}

static void save(const char *target, const char *name, out *o)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(o->p, 1, o->n, f);
    fclose(f);
    free(o->p);
    memset(o, 0, sizeof *o);
}

static const char *const stream[] = {
    "{\"op\":10,\"d\":{\"heartbeat_interval\":41250,\"_trace\":[\"gw-1\"]}}",
    "{\"t\":\"READY\",\"s\":1,\"op\":0,\"d\":{\"v\":10,\"user\":{\"id\":"
    "\"80351110224678912\",\"username\":\"bot\",\"bot\":true},\"guilds\":[{"
    "\"id\":\"41771983423143937\",\"unavailable\":true}],\"session_id\":"
    "\"9bc6e0a4fd3d0a0e2a4f1d3c8e7b6a5f\",\"resume_gateway_url\":"
    "\"wss://gateway-us-east1-b.discord.gg\",\"shard\":[0,1],"
    "\"application\":{\"id\":\"80351110224678912\",\"flags\":0}}}",
    "{\"op\":11,\"d\":null}",
    "{\"t\":\"GUILD_CREATE\",\"s\":2,\"op\":0,\"d\":{\"id\":"
    "\"41771983423143937\",\"name\":\"Test \\u00e9 \\ud83d\\ude00\","
    "\"member_count\":3,\"channels\":[{\"id\":\"1\",\"type\":0}],"
    "\"large\":false}}",
    "{\"t\":\"MESSAGE_CREATE\",\"s\":3,\"op\":0,\"d\":{\"id\":\"2\","
    "\"content\":\"hello \\\"world\\\"\\n\",\"author\":{\"id\":\"3\"},"
    "\"embeds\":[],\"tts\":false,\"nonce\":-1.5e3}}",
    "{\"op\":1,\"d\":null}",
    "{\"t\":\"RESUMED\",\"s\":4,\"op\":0,\"d\":{}}",
    "{\"op\":9,\"d\":false}",
    "{\"op\":7,\"d\":null}",
};
#define NSTREAM (sizeof stream / sizeof *stream)

/* ------------------------------------------------------------------------ */

static void gen_frames(void)
{
    out o = {0};
    char name[32];
    /* Whole stream, plain, modes 0..3 and one with splits. */
    for (unsigned mode = 0; mode < 4; mode++) {
        put8(&o, mode == 3 ? 8 : mode);
        if (mode == 3) {
            put8(&o, 4);
            put(&o, "\x01\x03\x07\x00", 4);
        } else {
            put8(&o, 0);
        }
        for (size_t i = mode ? 2 : 0; i < 5; i++)
            putframe(&o, true, 1, stream[i], strlen(stream[i]));
        snprintf(name, sizeof name, "stream-%u", mode);
        save("fuzz_frames", name, &o);
    }
    /* Fragmented message with a ping in between, then a close. */
    put8(&o, 1);
    put8(&o, 0);
    const char *m = stream[4];
    size_t n = strlen(m);
    putframe(&o, false, 1, m, 10);
    putframe(&o, true, 9, "ping!", 5);
    putframe(&o, false, 0, m + 10, 20);
    putframe(&o, true, 0, m + 30, n - 30);
    putframe(&o, true, 10, "", 0);
    putframe(&o, true, 8, "\x0f\xa0" "bye", 5);
    save("fuzz_frames", "fragmented-ping-close", &o);
    /* 16-bit and 64-bit lengths (the latter non-minimal: an error). */
    put8(&o, 2);
    put8(&o, 0);
    char big[300];
    snprintf(big, sizeof big, "{\"op\":0,\"t\":\"X\",\"s\":5,\"d\":\"%0250d\"}", 7);
    putframe(&o, true, 1, big, strlen(big));
    put(&o, "\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x05" "12345", 15);
    save("fuzz_frames", "lengths", &o);
    /* Close codes and bad frames. */
    static const char *const bad[] = {
        "\x88\x02\x03\xe8", "\x88\x01\x03", "\x88\x02\x03\xed",
        "\x89\x7e\x00\x80", "\x09\x00", "\x83\x00", "\xc1\x00",
        "\x81\x83\x01\x02\x03\x04\x7a\x20\x7e", "\x80\x00",
        "\x81\x04\xce\xba\xe1\xbd", "\x88\x04\x0f\xa0\xc3\x28"};
    static const size_t badlen[] = {4, 3, 4, 4, 2, 2, 2, 9, 2, 6, 6};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        put8(&o, 2);
        put8(&o, 0);
        put(&o, bad[i], badlen[i]);
        snprintf(name, sizeof name, "bad-%zu", i);
        save("fuzz_frames", name, &o);
    }
}

static void gen_upgrade(void)
{
    fz_peer p;
    fz_peer_init(&p, DGW_COMPRESS_NONE, 0, NULL, NULL);
    fz_start(&p);
    char ok[256];
    size_t okn = fz_build_101(&p, ok, sizeof ok);
    const char *acc = strstr(ok, "Accept: ") + 8;
    char accept[29];
    memcpy(accept, acc, 28);
    accept[28] = '\0';
    fz_peer_free(&p);

    out o = {0};
    char buf[1024], name[32];
    const char *variants[] = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
        "connection: keep-alive, Upgrade\r\nsec-websocket-accept:   %s  \r\n"
        "Server: cloudflare\r\nDate: Wed, 25 Nov 2026 12:00:00 GMT\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
        "Sec-WebSocket-Accept: %s\r\n\r\n",
        "HTTP/1.0 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: %s\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        put8(&o, i == 1 ? 7 : 0);
        put8(&o, 0);
        snprintf(buf, sizeof buf, variants[i], accept, accept);
        puts_(&o, buf);
        snprintf(name, sizeof name, "101-%zu", i);
        save("fuzz_upgrade", name, &o);
    }
    /* 101 followed straight away by the first frame. */
    put8(&o, 0);
    put8(&o, 0);
    put(&o, ok, okn);
    putframe(&o, true, 1, stream[0], strlen(stream[0]));
    save("fuzz_upgrade", "101-with-hello", &o);
    static const char *const rej[] = {
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
        "Content-Length: 11\r\n\r\nbad request",
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n"
        "Content-Type: application/json\r\nContent-Length: 59\r\n\r\n"
        "{\"message\": \"You are being rate limited.\", \"retry_after\": 5}",
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n"
        "upstream connect error",
        "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: "
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: wss://gateway.discord.gg/\r\n"
        "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
        "HTTP/1.1 101 Switching\r\n folded: x\r\n\r\n",
        "HTTP/2 101\r\n\r\n",
        "HTTP/1.1 101 OK\nUpgrade: websocket\n\n",
        "ws://gateway.discord.gg:443/?v=10&encoding=json",
        "wss://[::1]:8443/gateway/path?x=1#frag",
        "https://discord.com/api/v10/gateway/bot",
    };
    for (size_t i = 0; i < sizeof rej / sizeof *rej; i++) {
        put8(&o, i % 3 == 0 ? 5 : 0);
        put8(&o, i % 2);
        puts_(&o, rej[i]);
        snprintf(name, sizeof name, "other-%zu", i);
        save("fuzz_upgrade", name, &o);
    }
}

/* Records for fuzz_inflate: compressed payloads cut into frames. */
static void gen_inflate(void)
{
    char name[32];
    for (int kind = 0; kind < 2; kind++) {
#ifndef DGW_HAVE_ZSTD
        if (kind == 1)
            break;
#endif
        for (int variant = 0; variant < 4; variant++) {
            fz_peer p;
            fz_peer_init(&p, kind ? DGW_COMPRESS_ZSTD_STREAM
                                  : DGW_COMPRESS_ZLIB_STREAM,
                         0, NULL, NULL);
            fz_reset_compressor(&p);
            out o = {0};
            put8(&o, (unsigned)kind | (variant == 3 ? 2 : 0) |
                         (variant == 2 ? 8 : 0));
            for (size_t i = 0; i < 5; i++) {
                uint8_t *z;
                size_t n = fz_compress(&p, stream[i], strlen(stream[i]), &z);
                if (variant == 0 || variant == 3) {
                    /* One binary frame (or decoder message) per payload. */
                    put8(&o, 0x04);
                    putchunk(&o, z, n);
                } else if (variant == 1) {
                    /* Three frames of one message, the middle one split
                     * into small recv chunks. */
                    size_t a = n / 3, b = 2 * n / 3;
                    put8(&o, 0x00);
                    putchunk(&o, z, a);
                    put8(&o, 0x11);
                    putchunk(&o, z + a, b - a);
                    put8(&o, 0x05);
                    putchunk(&o, z + b, n - b);
                } else {
                    /* Payload split across two messages (the first ends
                     * without the 00 00 ff ff suffix). */
                    size_t a = n / 2;
                    put8(&o, 0x04);
                    putchunk(&o, z, a);
                    put8(&o, 0x04);
                    putchunk(&o, z + a, n - a);
                }
                free(z);
            }
            fz_peer_free(&p);
            snprintf(name, sizeof name, "%s-%d", kind ? "zstd" : "zlib",
                     variant);
            save("fuzz_inflate", name, &o);
        }
    }
    /* A zlib bomb: 4 MiB of zeros in one message, past the 1 MiB cap. */
    fz_peer p;
    fz_peer_init(&p, DGW_COMPRESS_ZLIB_STREAM, 0, NULL, NULL);
    fz_reset_compressor(&p);
    char *zeros = calloc(1, 4u << 20);
    uint8_t *z;
    size_t n = fz_compress(&p, zeros, 4u << 20, &z);
    out o = {0};
    put8(&o, 0);
    put8(&o, 0x04);
    putchunk(&o, z, n);
    save("fuzz_inflate", "zlib-bomb", &o);
    free(z);
    free(zeros);
    fz_peer_free(&p);
}

static void gen_payload(void)
{
    char name[32];
    static const char *const extra[] = {
        "{\"op\":0,\"t\":null,\"s\":null,\"d\":[1,-0,2.5e-3,true,false,null,"
        "{\"a\":{\"b\":[[]]}}]}",
        "{\"\\u006fp\":10,\"d\":{\"heartbeat_interval\":1}}",
        "{\"op\":10,\"d\":{\"heartbeat_interval\":600001}}",
        "{\"op\":10,\"d\":{\"heartbeat_interval\":4.5e4}}",
        "{\"op\":0,\"t\":\"READY\",\"s\":9223372036854775807,\"d\":{"
        "\"session_id\":\"\\u0041\\n\",\"resume_gateway_url\":"
        "\"ws://[::1]:1/x\"}}",
        "{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"session_id\":\"\"}}",
        "{\"op\":256,\"d\":null}",
        "{\"op\":\"1\"}",
        "  {\"op\":11} \r\n",
        "{\"op\":11}{}",
        "[1,2,3]",
        "{\"op\":0,\"t\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"d\":0}",
    };
    for (unsigned st = 0; st < 6; st++) {
        out o = {0};
        put8(&o, st | (st == 2 ? 8 : 0) | (st == 1 ? 16 : 0));
        /* While CLOSING, op 1/7/9 hit known bugs: see README. */
        for (size_t i = 0; i < (st == 3 ? 5 : NSTREAM); i++) {
            if (i)
                put8(&o, 0xff);
            puts_(&o, stream[i]);
        }
        snprintf(name, sizeof name, "stream-state%u", st);
        save("fuzz_payload", name, &o);
    }
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        out o = {0};
        put8(&o, (unsigned)(i % 6));
        puts_(&o, extra[i]);
        snprintf(name, sizeof name, "edge-%zu", i);
        save("fuzz_payload", name, &o);
    }
}

/* Seeds for fuzz_json_paths: gateway-shaped payloads, and the shapes that
 * move quotes, escapes and characters across 64-byte block boundaries. */
static void gen_json_paths(void)
{
    char name[32], buf[1024];
    static const char *const seeds[] = {
        ("{\"t\":\"MESSAGE_CREATE\",\"s\":7,\"op\":0,\"d\":{\"type\":0,"
         "\"content\":\"h\xc3\xa9llo \\\"w\\\" \\u00e9 \xf0\x9f\x98\x80\","
         "\"mentions\":[{\"id\":\"1\"}],\"channel_id\":\"42\",\"author\":"
         "{\"id\":\"7\",\"bot\":false},\"edited_timestamp\":null,"
         "\"embeds\":[],\"flags\":0,\"n\":-1.5e3}}"),
        ("{\"op\":10,\"d\":{\"heartbeat_interval\":41250,\"_trace\":"
         "[\"[\\\"gateway-prd-us-east1-b-1\\\"]\"]}}"),
        "{\"op\":11}",
        " {\"\\u006fp\" : 9 , \"d\" : true } \r\n",
        "[[[[{\"a\":[\"\\\\\",\"\\/\",{}]}]]]]",
        "{\"op\":0,\"d\":\"\xed\xa0\x80\"}",
        "{\"op\":0,\"d\":\"\xc3\"}",
        "{\"op\":1} trailing",
        "\"a string\"",
        "-0.5E-7",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        out o = {0};
        puts_(&o, seeds[i]);
        snprintf(name, sizeof name, "seed-%zu", i);
        save("fuzz_json_paths", name, &o);
    }
    /* A string whose escape or 4-byte character lands on each position
     * around the end of the first block. */
    static const char *const tails[] = {"\\\"", "\\u00e9", "\xf0\x9f\x98\x80",
                                        "\\\\"};
    for (size_t t = 0; t < 4; t++) {
        for (size_t len = 54; len < 66; len += 3) {
            int n = snprintf(buf, sizeof buf, "{\"op\":0,\"d\":\"%.*s%s\"}",
                             (int)len,
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                             tails[t]);
            out o = {0};
            put(&o, buf, (size_t)n);
            snprintf(name, sizeof name, "block-%zu-%zu", t, len);
            save("fuzz_json_paths", name, &o);
        }
    }
}

/* fuzz_conn scripts. */
enum { CANNED = 0, PAYLOAD = 1, RAW = 2, TIME = 3, SEND = 4, CMD = 5,
       CLOSE = 6, EOF_ = 7, RECONNECT = 8, BURST = 9, HBREQ = 10, ANSWER = 11 };

static void c_canned(out *o, unsigned which, unsigned h)
{
    put8(o, CANNED | h << 4);
    put8(o, which);
    if (which == 2 || which == 3 || which == 11)
        put16(o, 7);
}
static void c_time(out *o, unsigned ms)
{
    put8(o, TIME);
    put16(o, ms);
}
static void c_establish(out *o)
{
    put8(o, ANSWER);
    c_canned(o, 0, 0);  /* HELLO 41250 */
    c_canned(o, 1, 1);  /* READY */
}

static void gen_conn(void)
{
    char name[32];
    static const unsigned setups[] = {0, 1, 2, 0x10, 0x21, 0x32,
                                      0x08, 0x09, 0x0a, 0x08};
    static const unsigned fail_at[] = {0, 0, 0, 0, 0, 0, 12, 30, 45, 90};
    for (unsigned si = 0; si < sizeof setups / sizeof *setups; si++) {
        unsigned setup = setups[si];
        out o = {0};
        put8(&o, setup);
        if (setup & 8)
            put16(&o, fail_at[si]);
        c_establish(&o);
        for (int i = 0; i < 4; i++) {
            c_time(&o, 41250);
            c_canned(&o, 8, 0);  /* ACK */
            c_canned(&o, 3, 0);  /* dispatch */
        }
        put8(&o, SEND);
        put8(&o, 3);
        putchunk(&o, "{\"status\":\"online\"}", 19);
        put8(&o, CMD | 0 << 4);
        put16(&o, 0);
        putchunk(&o, "", 0);
        putchunk(&o, "idle", 4);
        put8(&o, CMD | 1 << 4);
        putchunk(&o, "81384788765712384", 17);
        putchunk(&o, "", 0);
        c_canned(&o, 5, 0);      /* RECONNECT */
        c_time(&o, 100);
        put8(&o, RECONNECT | 1 << 4);
        c_canned(&o, 2, 0);      /* RESUMED */
        c_time(&o, 60000);
        put8(&o, CLOSE);
        put16(&o, 1000);
        putchunk(&o, "", 0);
        c_time(&o, 6000);
        snprintf(name, sizeof name, "lifecycle-%u", si);
        save("fuzz_conn", name, &o);
    }
    /* Zombie: no ACK. */
    out o = {0};
    put8(&o, 0);
    c_establish(&o);
    c_time(&o, 41250);
    c_time(&o, 41250);
    c_time(&o, 41250);
    put8(&o, RECONNECT | 0 << 4);
    c_canned(&o, 0, 0);
    c_time(&o, 50000);
    save("fuzz_conn", "zombie", &o);
    /* Invalid session, both ways. */
    put8(&o, 0);
    c_establish(&o);
    c_canned(&o, 7, 0);
    c_time(&o, 6000);
    c_canned(&o, 6, 0);
    put8(&o, RECONNECT | 1 << 4);
    c_time(&o, 6000);
    c_canned(&o, 1, 2);
    save("fuzz_conn", "invalid-session", &o);
    /* Rate limit: a burst of 200 commands, time passing. */
    put8(&o, 0);
    c_establish(&o);
    put8(&o, BURST);
    put8(&o, 200);
    c_time(&o, 30000);
    c_canned(&o, 8, 0);
    c_time(&o, 30000);
    c_canned(&o, 8, 0);
    c_time(&o, 30000);
    save("fuzz_conn", "rate-limit", &o);
    /* Server heartbeat requests. */
    put8(&o, 0);
    c_establish(&o);
    put8(&o, HBREQ);
    put8(&o, 20);
    c_time(&o, 1000);
    save("fuzz_conn", "heartbeat-requests", &o);
    /* Close codes from the server, fatal and not, and reconnects. */
    for (unsigned h = 0; h < 10; h++) {
        put8(&o, h % 3);
        c_establish(&o);
        c_canned(&o, 10, h);
        put8(&o, RECONNECT | (h % 4) << 4);
        put8(&o, ANSWER);
        c_canned(&o, 0, 0);
        c_canned(&o, 2, 0);
        c_time(&o, 2000);
        put8(&o, EOF_);
        put8(&o, RECONNECT | 2 << 4);
        snprintf(name, sizeof name, "close-%u", h);
        save("fuzz_conn", name, &o);
    }
    /* Rejected upgrade, handshake timeout, raw bytes. */
    put8(&o, 0);
    put8(&o, RAW);
    putchunk(&o, "HTTP/1.1 429 Too Many\r\nContent-Length: 2\r\n\r\nno", 46);
    put8(&o, RECONNECT | 3 << 4);
    c_time(&o, 31000);
    put8(&o, RECONNECT);
    put8(&o, PAYLOAD | 2 << 4);
    putchunk(&o, stream[0], strlen(stream[0]));
    c_time(&o, 50000);
    save("fuzz_conn", "reject-timeout", &o);
    /* Our close, server's echo via raw frame. */
    put8(&o, 1);
    c_establish(&o);
    put8(&o, CLOSE | 1 << 4);
    put16(&o, 4000);
    putchunk(&o, "going away", 10);
    put8(&o, RAW | 1 << 4);
    putchunk(&o, "\x88\x02\x0f\xa0", 4);
    put8(&o, RECONNECT);
    save("fuzz_conn", "close-echo", &o);
}

/* Scripts for the connection part of fuzz_mg_request (fuzz_mg_request.h):
 * byte 0 picks a canned upgrade, the rest are operations. */
static void put_op(out *o, unsigned op, unsigned arg)
{
    put8(o, op);
    put8(o, arg);
}

static void mg_frame(out *o, unsigned first, const char *payload, size_t n)
{
    put8(o, FZ_MG_FRAME);
    put8(o, first);
    put8(o, (unsigned)n);
    put(o, payload, n);
}

static void gen_mg_connection(void)
{
    out o = {0};
    /* Issue 12's crash: a message the server closes on (wrong token, 4004)
     * and 6 KiB more in the same read. */
    put8(&o, 0x00);
    put_op(&o, FZ_MG_PAYLOAD, 2);
    put_op(&o, FZ_MG_REPEAT, 255);
    put8(&o, FZ_MG_DELIVER);
    put_op(&o, FZ_MG_TURNS, 63);
    save("fuzz_mg_request", "close-then-more-in-one-read", &o);

    /* The same with the 121st command (4008), 8-byte reads. */
    o = (out){0};
    put8(&o, 0x30);
    put_op(&o, FZ_MG_PAYLOAD, 1);
    put8(&o, FZ_MG_DELIVER);
    put_op(&o, FZ_MG_REPEAT, 200);
    put8(&o, FZ_MG_DELIVER);
    put_op(&o, FZ_MG_TURNS, 40);
    save("fuzz_mg_request", "rate-limit-then-more", &o);

    /* A session: IDENTIFY, presence, member request, heartbeats, a RESUME
     * on the same connection (4005), zlib-stream. */
    o = (out){0};
    put8(&o, 0x01);
    static const unsigned session[] = {1, 0, 5, 9, 0, 4}; /* indices into FZ_MG_PAYLOADS */
    for (size_t k = 0; k < sizeof session / sizeof *session; k++)
        put_op(&o, FZ_MG_PAYLOAD, session[k]);
    put8(&o, FZ_MG_DELIVER);
    save("fuzz_mg_request", "session-zlib", &o);

    /* Floods the rate limit does not count: pongs, then a text message
     * that never ends (empty continuations). */
    o = (out){0};
    put8(&o, 0x00);
    for (int i = 0; i < 300; i++)
        mg_frame(&o, 0x8a, NULL, 0);
    put8(&o, FZ_MG_DELIVER);
    mg_frame(&o, 0x01, NULL, 0);
    for (int i = 0; i < 300; i++)
        mg_frame(&o, 0x00, NULL, 0);
    put8(&o, FZ_MG_DELIVER);
    put_op(&o, FZ_MG_TURNS, 63);
    save("fuzz_mg_request", "pong-and-continuation-flood", &o);

    /* Pings while the client reads nothing. */
    o = (out){0};
    put8(&o, 0x00);
    put_op(&o, FZ_MG_WINDOW, 0);
    static const char ping[125] = "ping";
    for (int i = 0; i < 200; i++)
        mg_frame(&o, 0x89, ping, sizeof ping);
    put8(&o, FZ_MG_DELIVER);
    put_op(&o, FZ_MG_TURNS, 63);
    put_op(&o, FZ_MG_WINDOW, 1);
    put_op(&o, FZ_MG_TURNS, 10);
    save("fuzz_mg_request", "pings-unread", &o);

    /* Headers wslay would meet with an abort: a 1-byte close payload, a
     * fragmented ping, a length not in its shortest form, a 2^63 length. */
    static const uint8_t bad[][14] = {
        {0x88, 0x81, 1, 2, 3, 4, 0x02},
        {0x09, 0x80, 1, 2, 3, 4},
        {0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4},
        {0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
    };
    static const size_t badlen[] = {7, 6, 8, 14};
    for (size_t i = 0; i < 4; i++) {
        o = (out){0};
        put8(&o, 0x40);
        put_op(&o, FZ_MG_PAYLOAD, 0);
        put_op(&o, FZ_MG_RAW, (unsigned)badlen[i]);
        put(&o, bad[i], badlen[i]);
        put_op(&o, FZ_MG_REPEAT, 20);
        put8(&o, FZ_MG_DELIVER);
        char name[32];
        snprintf(name, sizeof name, "broken-header-%zu", i);
        save("fuzz_mg_request", name, &o);
    }

    /* The client's close with a reason, then EOF mid-frame. */
    o = (out){0};
    put8(&o, 0x00);
    mg_frame(&o, 0x88, "\x03\xe8" "bye", 5);
    put_op(&o, FZ_MG_RAW, 3);
    put(&o, "\x81\xfe\x10", 3); /* a header announcing 4096 bytes, and no more */
    put8(&o, FZ_MG_EOF);
    save("fuzz_mg_request", "close-then-eof", &o);
}

/* Requests for the mock gateway's HTTP parser: libdgw's real upgrade
 * requests, the REST call discord.js makes, and broken ones. */
static void gen_mg_request(void)
{
    static const dgw_compress kinds[] = {DGW_COMPRESS_NONE,
                                         DGW_COMPRESS_ZLIB_STREAM,
                                         DGW_COMPRESS_ZSTD_STREAM};
    char name[32];
    for (size_t i = 0; i < 3; i++) {
        fz_peer p;
        fz_peer_init(&p, kinds[i], 0, NULL, NULL);
        if (!p.c)
            continue;
        fz_start(&p);
        out o = {0};
        put(&o, p.request, p.request_len);
        fz_peer_free(&p);
        snprintf(name, sizeof name, "dgw-request-%zu", i);
        save("fuzz_mg_request", name, &o);
    }
    static const char *const reqs[] = {
        "GET /api/v10/gateway/bot HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        "Authorization: Bot abc.def.ghi\r\nUser-Agent: DiscordBot "
        "(https://discord.js.org, 2.0)\r\nAccept: */*\r\n\r\n",
        "GET /?v=10&encoding=json&compress=zlib-stream HTTP/1.1\r\n"
        "Host: localhost\r\nUpgrade: WebSocket\r\nConnection: keep-alive, "
        "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: "
        "permessage-deflate; client_max_window_bits\r\n\r\n",
        "GET /?v=9&encoding=etf HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: short\r\n"
        "Sec-WebSocket-Version: 8\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET /?compress=zstd-stream&v=10&v=11&encoding= HTTP/1.1\r\nHost: a"
        "\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        out o = {0};
        puts_(&o, reqs[i]);
        snprintf(name, sizeof name, "req-%zu", i);
        save("fuzz_mg_request", name, &o);
    }
    gen_mg_connection();
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    gen_frames();
    gen_upgrade();
    gen_inflate();
    gen_payload();
    gen_json_paths();
    gen_conn();
    gen_mg_request();
    return 0;
}
