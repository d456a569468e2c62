/* A minimal gateway client for the runner's own tests: IDENTIFY, track s,
 * heartbeat every interval. `--wrong-token` sends a different token;
 * `--burst` sends 8 presence updates of 1 KiB right behind the IDENTIFY,
 * in the same write. Not a reference client (see examples/ for that). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsclient.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* payload, then 8 presence updates of about 1 KiB, in one write. */
static void send_with_burst(tws *c, const char *payload)
{
    static uint8_t buf[16384];
    char presence[1100];
    snprintf(presence, sizeof presence,
             "{\"op\":3,\"d\":{\"since\":null,\"activities\":[],\"status\":\"online\",\"afk\":false,"
             "\"pad\":\"%0980d\"}}", 0);
    size_t n = tws_frame(buf, 0x81, payload, strlen(payload), 1);
    for (int i = 0; i < 8; i++)
        n += tws_frame(buf + n, 0x81, presence, strlen(presence), 1);
    tws_send_raw(c, buf, n);
}

int main(int argc, char **argv)
{
    const char *url = getenv("MOCKGATEWAY_URL"), *token = getenv("DISCORD_TOKEN");
    int wrong = 0, burst = 0;
    for (int i = 1; i < argc; i++) {
        wrong |= strcmp(argv[i], "--wrong-token") == 0;
        burst |= strcmp(argv[i], "--burst") == 0;
    }
    if (!url || !token || strncmp(url, "ws://", 5) != 0)
        return 2;
    const char *colon = strrchr(url, ':');
    tws c;
    char head[1024];
    if (tws_connect(&c, atoi(colon + 1)) != 0 || tws_upgrade(&c, "v=10&encoding=json", head, sizeof head) != 101)
        return 3;
    long seq = -1, interval = 0, next_beat = 0;
    for (;;) {
        uint8_t *p;
        size_t n;
        int code;
        long wait = next_beat ? next_beat - now_ms() : 1000;
        int op = tws_read_message(&c, &p, &n, &code, wait > 0 ? (int)wait : 0);
        if (op == 8) {
            free(p);
            return 0;
        }
        if (op > 0) {
            cJSON *j = cJSON_ParseWithLength((char *)p, n);
            free(p);
            const cJSON *o = cJSON_GetObjectItem(j, "op"), *s = cJSON_GetObjectItem(j, "s");
            if (cJSON_IsNumber(s))
                seq = (long)s->valuedouble;
            if (cJSON_IsNumber(o) && o->valueint == 10) {
                interval = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "d"), "heartbeat_interval")->valueint;
                next_beat = now_ms() + interval / 2;
                char id[512];
                snprintf(id, sizeof id,
                         "{\"op\":2,\"d\":{\"token\":\"%s\",\"intents\":1,\"properties\":{\"os\":\"linux\","
                         "\"browser\":\"mini\",\"device\":\"mini\"}}}",
                         wrong ? "not-the-token" : token);
                if (burst)
                    send_with_burst(&c, id);
                else
                    tws_send_frame(&c, 1, id, strlen(id), 1);
            }
            cJSON_Delete(j);
        } else if (c.ended) {
            return 4; /* the server went away (an orphan must not spin) */
        }
        if (next_beat && now_ms() >= next_beat) {
            char hb[64];
            snprintf(hb, sizeof hb, seq < 0 ? "{\"op\":1,\"d\":null}" : "{\"op\":1,\"d\":%ld}", seq);
            tws_send_frame(&c, 1, hb, strlen(hb), 1);
            next_beat = now_ms() + interval;
        }
    }
}
