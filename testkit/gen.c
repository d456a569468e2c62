#include "gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint64_t rnd(gen *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return g->s;
}

static uint64_t snowflake(gen *g)
{
    return 100000000000000000ull + rnd(g) % 900000000000000000ull;
}

static const char *const words[] = {
    "the", "gateway", "heartbeat", "sends", "a", "message", "to", "every",
    "guild", "channel", "with", "presence", "and", "voice", "state", "while",
    "bots", "resume", "sessions", "after", "zombie", "connections", "close",
    "quickly", "hello", "ready", "dispatch", "sequence", "numbers", "grow",
};

typedef struct out {
    char *p;
    size_t n, cap;
} out;

static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->n < o->cap ? o->cap - o->n : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->n += (size_t)k;
}

static void sentence(gen *g, out *o, int nwords)
{
    for (int i = 0; i < nwords; i++)
        put(o, "%s%s", i ? " " : "", words[rnd(g) % (sizeof words / sizeof *words)]);
}

static void user(gen *g, out *o)
{
    put(o, "{\"id\":\"%llu\",\"username\":\"user%llu\",\"global_name\":\"",
        (unsigned long long)snowflake(g), (unsigned long long)(rnd(g) % 100000));
    sentence(g, o, 2);
    put(o, "\",\"avatar\":\"%016llx%016llx\",\"discriminator\":\"0\","
           "\"public_flags\":%llu,\"bot\":false}",
        (unsigned long long)rnd(g), (unsigned long long)rnd(g),
        (unsigned long long)(rnd(g) % 256));
}

static void member(gen *g, out *o)
{
    put(o, "{\"roles\":[\"%llu\",\"%llu\"],\"nick\":null,\"joined_at\":"
           "\"2024-05-%02lluT12:00:00.000000+00:00\",\"deaf\":false,"
           "\"mute\":false,\"flags\":0,\"pending\":false}",
        (unsigned long long)snowflake(g), (unsigned long long)snowflake(g),
        (unsigned long long)(rnd(g) % 28 + 1));
}

void gen_init(gen *g, uint64_t seed)
{
    g->s = seed ? seed : 1;
    g->seq = 0;
}

size_t gen_hello(gen *g, char *p, size_t cap)
{
    (void)g;
    return (size_t)snprintf(p, cap,
                            "{\"t\":null,\"s\":null,\"op\":10,\"d\":{"
                            "\"heartbeat_interval\":41250,\"_trace\":"
                            "[\"[\\\"gateway-prd-us-east1-b-1\\\"]\"]}}");
}

size_t gen_ready(gen *g, char *p, size_t cap, size_t target)
{
    out o = {p, 0, cap};
    g->seq++;
    put(&o, "{\"t\":\"READY\",\"s\":%lld,\"op\":0,\"d\":{\"v\":10,\"user\":",
        (long long)g->seq);
    user(g, &o);
    put(&o, ",\"session_type\":\"normal\",\"session_id\":\"%016llx%016llx\","
            "\"resume_gateway_url\":\"wss://gateway-us-east1-b.discord.gg\","
            "\"guilds\":[",
        (unsigned long long)rnd(g), (unsigned long long)rnd(g));
    /* Guild stubs with channels and roles until the READY is big enough. */
    for (int i = 0; o.n < target - 512 && o.n < cap - 4096; i++) {
        put(&o, "%s{\"id\":\"%llu\",\"name\":\"", i ? "," : "",
            (unsigned long long)snowflake(g));
        sentence(g, &o, 3);
        put(&o, "\",\"unavailable\":false,\"member_count\":%llu,\"channels\":[",
            (unsigned long long)(rnd(g) % 50000));
        for (int c = 0; c < 6; c++)
            put(&o, "%s{\"id\":\"%llu\",\"type\":0,\"name\":\"chan-%d\","
                    "\"position\":%d,\"topic\":null}",
                c ? "," : "", (unsigned long long)snowflake(g), c, c);
        put(&o, "],\"roles\":[");
        for (int r = 0; r < 3; r++)
            put(&o, "%s{\"id\":\"%llu\",\"name\":\"role %d\",\"color\":%llu,"
                    "\"permissions\":\"%llu\"}",
                r ? "," : "", (unsigned long long)snowflake(g), r,
                (unsigned long long)(rnd(g) % 16777216),
                (unsigned long long)(rnd(g) % 1099511627776ull));
        put(&o, "]}");
    }
    put(&o, "],\"application\":{\"id\":\"%llu\",\"flags\":0}}}",
        (unsigned long long)snowflake(g));
    return o.n;
}

size_t gen_dispatch(gen *g, char *p, size_t cap)
{
    out o = {p, 0, cap};
    g->seq++;
    unsigned kind = (unsigned)(rnd(g) % 100);
    if (kind < 55) {
        put(&o, "{\"t\":\"MESSAGE_CREATE\",\"s\":%lld,\"op\":0,\"d\":{"
                "\"type\":0,\"tts\":false,\"timestamp\":"
                "\"2026-11-25T10:00:00.000000+00:00\",\"pinned\":false,"
                "\"mentions\":[],\"mention_roles\":[],\"mention_everyone\":false,"
                "\"id\":\"%llu\",\"flags\":0,\"embeds\":[],\"edited_timestamp\":null,"
                "\"content\":\"",
            (long long)g->seq, (unsigned long long)snowflake(g));
        sentence(g, &o, 4 + (int)(rnd(g) % 40));
        put(&o, "\",\"components\":[],\"channel_id\":\"%llu\",\"author\":",
            (unsigned long long)snowflake(g));
        user(g, &o);
        put(&o, ",\"attachments\":[],\"guild_id\":\"%llu\",\"member\":",
            (unsigned long long)snowflake(g));
        member(g, &o);
        put(&o, "}}");
    } else if (kind < 80) {
        put(&o, "{\"t\":\"PRESENCE_UPDATE\",\"s\":%lld,\"op\":0,\"d\":{"
                "\"user\":{\"id\":\"%llu\"},\"status\":\"%s\",\"guild_id\":"
                "\"%llu\",\"client_status\":{\"desktop\":\"online\"},"
                "\"activities\":[{\"type\":0,\"name\":\"",
            (long long)g->seq, (unsigned long long)snowflake(g),
            rnd(g) % 2 ? "online" : "idle", (unsigned long long)snowflake(g));
        sentence(g, &o, 2);
        put(&o, "\",\"id\":\"%016llx\",\"created_at\":%llu}]}}",
            (unsigned long long)rnd(g),
            (unsigned long long)(1700000000000ull + rnd(g) % 100000000000ull));
    } else if (kind < 92) {
        put(&o, "{\"t\":\"TYPING_START\",\"s\":%lld,\"op\":0,\"d\":{"
                "\"user_id\":\"%llu\",\"timestamp\":%llu,\"member\":",
            (long long)g->seq, (unsigned long long)snowflake(g),
            (unsigned long long)(1700000000 + rnd(g) % 100000000));
        member(g, &o);
        put(&o, ",\"channel_id\":\"%llu\",\"guild_id\":\"%llu\"}}",
            (unsigned long long)snowflake(g), (unsigned long long)snowflake(g));
    } else {
        put(&o, "{\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":%lld,\"op\":0,\"d\":{"
                "\"guild_id\":\"%llu\",\"user\":",
            (long long)g->seq, (unsigned long long)snowflake(g));
        user(g, &o);
        put(&o, ",\"roles\":[\"%llu\"],\"premium_since\":null,\"pending\":"
                "false,\"nick\":\"",
            (unsigned long long)snowflake(g));
        sentence(g, &o, 2);
        put(&o, "\",\"joined_at\":\"2024-01-01T00:00:00.000000+00:00\","
                "\"flags\":0,\"communication_disabled_until\":null}}");
    }
    return o.n;
}
