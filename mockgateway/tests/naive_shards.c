/* A deliberately naive sharded client, for the tests only: it asks GET
 * /gateway/bot how many shards to run, opens them all at once and
 * IDENTIFYs each as soon as its HELLO arrives, whatever its bucket and
 * whatever the budget; it heartbeats, answers INVALID_SESSION with an
 * IDENTIFY at once, opens a new connection 1 s after one ends and never
 * RESUMEs. Everything else it does right, so
 * that the sharding scenarios fail for it on the pacing they check
 * (mockgateway/tests/sharding_conformance.sh). With --shared-seq it also
 * keeps one seq for all its shards (another classic bug: each connection
 * has its own). Runs until SIGTERM. */
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsclient.h"

#define MAX_SHARDS 64

static struct shard {
    tws ws;
    int open;
    long seq, interval, next_beat, retry_at;
} shards[MAX_SHARDS];
static int nshards;
static const char *token;
static int shared_seq;
static long last_seq = -1; /* with --shared-seq: the seq of every shard */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* GET /gateway/bot on port: the shard count, or -1. */
static int shard_count(int port)
{
    tws c;
    if (tws_connect(&c, port) != 0)
        return -1;
    char req[256];
    snprintf(req, sizeof req, "GET /api/v10/gateway/bot HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bot %s\r\n"
                              "Connection: close\r\n\r\n", token);
    tws_send_raw(&c, req, strlen(req));
    static char resp[4096];
    int status = tws_read_http(&c, resp, sizeof resp);
    tws_close(&c);
    const char *body = strstr(resp, "\r\n\r\n");
    cJSON *j = status == 200 && body ? cJSON_Parse(body + 4) : NULL;
    const cJSON *n = cJSON_GetObjectItem(j, "shards");
    int count = cJSON_IsNumber(n) ? n->valueint : -1;
    cJSON_Delete(j);
    return count;
}

static void identify(struct shard *s, int id)
{
    char j[512];
    snprintf(j, sizeof j,
             "{\"op\":2,\"d\":{\"token\":\"%s\",\"intents\":513,\"shard\":[%d,%d],\"properties\":{\"os\":\"linux\","
             "\"browser\":\"naive\",\"device\":\"naive\"}}}", token, id, nshards);
    tws_send_frame(&s->ws, 1, j, strlen(j), 1);
}

static void open_shard(struct shard *s, int port)
{
    char head[1024];
    memset(s, 0, sizeof *s);
    s->seq = -1;
    s->open = tws_connect(&s->ws, port) == 0 && tws_upgrade(&s->ws, "v=10&encoding=json", head, sizeof head) == 101;
}

/* Every message that is already here; a close ends the shard. */
static void on_readable(struct shard *s, int id)
{
    uint8_t *p;
    size_t n;
    int code, op;
    while (s->open && (op = tws_read_message(&s->ws, &p, &n, &code, 0)) > 0) {
        if (op == 8) {
            free(p);
            s->open = 0;
            break;
        }
        cJSON *j = cJSON_ParseWithLength((const char *)p, n);
        free(p);
        const cJSON *o = cJSON_GetObjectItem(j, "op"), *seq = cJSON_GetObjectItem(j, "s");
        if (cJSON_IsNumber(seq))
            s->seq = last_seq = (long)seq->valuedouble;
        if (cJSON_IsNumber(o) && o->valueint == 10) {
            s->interval = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "d"), "heartbeat_interval")->valueint;
            s->next_beat = now_ms() + s->interval / 2;
            identify(s, id); /* at once: the naive part */
        } else if (cJSON_IsNumber(o) && o->valueint == 9) {
            identify(s, id); /* at once again */
        }
        cJSON_Delete(j);
    }
    if (s->ws.ended)
        s->open = 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        shared_seq |= strcmp(argv[i], "--shared-seq") == 0;
    const char *url = getenv("MOCKGATEWAY_URL");
    token = getenv("DISCORD_TOKEN");
    if (!url || !token || strncmp(url, "ws://", 5) != 0)
        return 2;
    int port = atoi(strrchr(url, ':') + 1);
    nshards = shard_count(port);
    if (nshards < 1 || nshards > MAX_SHARDS)
        return 3;
    for (int i = 0; i < nshards; i++)
        open_shard(&shards[i], port);
    for (;;) {
        struct pollfd pfd[MAX_SHARDS];
        long wake = now_ms() + 1000;
        for (int i = 0; i < nshards; i++) {
            pfd[i] = (struct pollfd){shards[i].open ? shards[i].ws.fd : -1, POLLIN, 0};
            long due = !shards[i].open ? shards[i].retry_at
                       : shards[i].ws.len ? now_ms() /* bytes already read (HELLO behind the 101) */
                                          : shards[i].next_beat;
            if (due && due < wake)
                wake = due;
        }
        long wait = wake - now_ms();
        poll(pfd, (nfds_t)nshards, wait > 0 ? (int)wait : 0);
        for (int i = 0; i < nshards; i++) {
            struct shard *s = &shards[i];
            if (s->open && (pfd[i].revents || s->ws.len))
                on_readable(s, i);
            if (s->open && s->next_beat && now_ms() >= s->next_beat) {
                char hb[64];
                long seq = shared_seq ? last_seq : s->seq;
                snprintf(hb, sizeof hb, seq < 0 ? "{\"op\":1,\"d\":null}" : "{\"op\":1,\"d\":%ld}", seq);
                tws_send_frame(&s->ws, 1, hb, strlen(hb), 1);
                s->next_beat = now_ms() + s->interval;
            }
            if (!s->open && !s->retry_at) { /* it ended: a new connection (a new IDENTIFY) in 1 s */
                tws_close(&s->ws);
                s->retry_at = now_ms() + 1000;
            } else if (!s->open && now_ms() >= s->retry_at) {
                open_shard(s, port);
            }
        }
    }
}
