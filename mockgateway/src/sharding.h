/* The rules of a sharded bot (PROTOCOL.md 5), as pure functions: which
 * shard owns a guild, and the limits on session starts across
 * connections (buckets of max_concurrency, the daily budget). No sockets,
 * no clocks: times are arguments. Default mode and scenarios share them. */
#ifndef MG_SHARDING_H
#define MG_SHARDING_H

#include <stdint.h>

/* The mock bot's guilds: guild i (0-based) has the snowflake
 * ((i + 1) << 22) | 1, so that the routing formula spreads them over the
 * shards round-robin. */
uint64_t mg_guild_id(int i);
/* The shard that owns a guild: (guild_id >> 22) % num_shards
 * (PROTOCOL.md 5). num_shards < 1 counts as 1. */
int mg_guild_shard(uint64_t guild_id, int num_shards);
/* How many of the bot's `guilds` guilds shard_id of num_shards owns. */
int mg_shard_guild_count(int guilds, int shard_id, int num_shards);
/* The index (for mg_guild_id) of the k-th guild shard_id owns, or -1. */
int mg_shard_guild(int guilds, int shard_id, int num_shards, int k);

/* Session starts across connections (PROTOCOL.md 5): one IDENTIFY per
 * bucket (shard_id % max_concurrency) per window, and a budget of starts
 * that is refilled to `total` every period. */
typedef struct mg_start_limits {
    int max_concurrency;  /* buckets, >= 1 */
    uint32_t window_ms;   /* 0: buckets unchecked */
    uint32_t total, remaining;
    uint64_t reset_at;    /* when remaining goes back to total */
    uint64_t period_ms;   /* then every this long (Discord: 24 h) */
    struct mg_bucket_last {
        uint64_t at;      /* the bucket's last session start */
        int shard;
        long tag;         /* the caller's (a connection number) */
        int used;
    } *last;              /* max_concurrency entries */
} mg_start_limits;

typedef enum {
    MG_START_OK,           /* may start: call mg_start_spend() */
    MG_START_TOO_SOON,     /* the bucket started a session less than a window ago */
    MG_START_BUDGET_SPENT  /* no session start left before the reset */
} mg_start_verdict;

/* Returns 0, or -1 when out of memory. reset_after_ms counts from now. */
int mg_start_limits_init(mg_start_limits *l, int max_concurrency, uint32_t window_ms, uint32_t total,
                         uint32_t remaining, uint64_t reset_after_ms, uint64_t period_ms, uint64_t now);
void mg_start_limits_free(mg_start_limits *l);
/* The bucket of a shard. */
int mg_start_bucket(const mg_start_limits *l, int shard_id);
/* Whether shard_id may start a session now; *prev (may be NULL) is set to
 * the bucket's last start (used 0: none). Refills the budget when due. */
mg_start_verdict mg_start_check(mg_start_limits *l, int shard_id, uint64_t now, struct mg_bucket_last *prev);
/* Records a session start of shard_id: one start spent, the bucket's window begins. */
void mg_start_spend(mg_start_limits *l, int shard_id, long tag, uint64_t now);
/* The remaining starts and the time to the reset, as GET /gateway/bot says them. */
uint32_t mg_start_remaining(mg_start_limits *l, uint64_t now, uint64_t *reset_after_ms);

#endif
