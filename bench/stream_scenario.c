/* stream_scenario - writes the mock gateway scenario of benchmark 2.
 *
 *   stream_scenario EVENTS [DISTINCT] [HEARTBEAT_MS] > stream.json
 *
 * One connection: HELLO, IDENTIFY, READY, then EVENTS dispatches taken from
 * the seeded generator (gen.c, seed 42: the same mix of MESSAGE_CREATE,
 * PRESENCE_UPDATE, TYPING_START and GUILD_MEMBER_UPDATE recv_bench uses),
 * then the client must close (any code, or a TCP drop).
 *
 * The scenario format caps a connection at 10000 steps, so the stream is
 * up to 9000 `dispatch` steps of `count` c each (c = ceil(EVENTS / 9000)),
 * cycling through DISTINCT (default 1000) generated payloads. EVENTS is
 * rounded down to a multiple of c; the count actually written is printed on
 * stderr ("events N"). The mock gateway numbers the dispatches (`s`) itself.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s EVENTS [DISTINCT] [HEARTBEAT_MS] > scenario.json\n", argv[0]);
        return 2;
    }
    long events = atol(argv[1]);
    long distinct = argc > 2 ? atol(argv[2]) : 1000;
    long hb = argc > 3 ? atol(argv[3]) : 41250;
    if (events < 1 || distinct < 1 || hb < 1) {
        fprintf(stderr, "stream_scenario: EVENTS, DISTINCT and HEARTBEAT_MS must be > 0\n");
        return 2;
    }
    long per = (events + 8999) / 9000;
    long steps = events / per;
    if (distinct > steps)
        distinct = steps;

    char **ts = calloc((size_t)distinct, sizeof *ts);
    char **ds = calloc((size_t)distinct, sizeof *ds);
    char *buf = malloc(1 << 16);
    if (!ts || !ds || !buf)
        return 1;
    gen g;
    gen_init(&g, 42);
    for (long i = 0; i < distinct; i++) {
        gen_dispatch(&g, buf, 1 << 16);
        cJSON *p = cJSON_Parse(buf);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "t");
        cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "d");
        if (!p || !cJSON_IsString(t) || !d) {
            fprintf(stderr, "stream_scenario: generator produced bad JSON\n");
            return 1;
        }
        ts[i] = cJSON_PrintUnformatted(t);
        ds[i] = cJSON_PrintUnformatted(d);
        cJSON_Delete(p);
    }
    printf("{\"name\":\"bench-stream-%ld\",\n"
           "\"rule\":\"benchmark 2 (bench/RESULTS.md): stream dispatches to one client as fast as it reads\",\n"
           "\"options\":{\"heartbeat_interval\":%ld,\"timeout_ms\":3600000},\n"
           "\"connections\":[{\"steps\":[\n"
           "{\"type\":\"handshake\",\"expect\":\"identify\",\"within_ms\":30000},\n",
           steps * per, hb);
    for (long i = 0; i < steps; i++)
        printf("{\"type\":\"dispatch\",\"t\":%s,\"count\":%ld,\"d\":%s},\n", ts[i % distinct], per,
               ds[i % distinct]);
    printf("{\"type\":\"expect_close\",\"within_ms\":3600000}\n]}]}\n");
    fprintf(stderr, "events %ld\n", steps * per);
    for (long i = 0; i < distinct; i++) {
        cJSON_free(ts[i]);
        cJSON_free(ds[i]);
    }
    free(ts);
    free(ds);
    free(buf);
    return fflush(stdout) == 0 ? 0 : 1;
}
