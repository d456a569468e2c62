#include "sharding.h"

#include <stdlib.h>
#include <string.h>

uint64_t mg_guild_id(int i) { return ((uint64_t)(i + 1) << 22) | 1u; }

int mg_guild_shard(uint64_t guild_id, int num_shards)
{
    return num_shards > 1 ? (int)((guild_id >> 22) % (uint64_t)num_shards) : 0;
}

/* Guild i's id >> 22 is i + 1, so shard_id owns the v = i + 1 in
 * [1, guilds] with v % num_shards == shard_id: the first is shard_id
 * (num_shards for shard 0), then every num_shards-th. */
static int first_guild_number(int shard_id, int num_shards) { return shard_id == 0 ? num_shards : shard_id; }

int mg_shard_guild_count(int guilds, int shard_id, int num_shards)
{
    if (num_shards < 1)
        num_shards = 1;
    if (shard_id < 0 || shard_id >= num_shards)
        return 0;
    int v0 = first_guild_number(shard_id, num_shards);
    return v0 > guilds ? 0 : (guilds - v0) / num_shards + 1;
}

int mg_shard_guild(int guilds, int shard_id, int num_shards, int k)
{
    if (num_shards < 1)
        num_shards = 1;
    if (k < 0 || k >= mg_shard_guild_count(guilds, shard_id, num_shards))
        return -1;
    return first_guild_number(shard_id, num_shards) + k * num_shards - 1;
}

int mg_start_limits_init(mg_start_limits *l, int max_concurrency, uint32_t window_ms, uint32_t total,
                         uint32_t remaining, uint64_t reset_after_ms, uint64_t period_ms, uint64_t now)
{
    memset(l, 0, sizeof *l);
    l->max_concurrency = max_concurrency < 1 ? 1 : max_concurrency;
    l->window_ms = window_ms;
    l->total = total;
    l->remaining = remaining < total ? remaining : total;
    l->reset_at = now + reset_after_ms;
    l->period_ms = period_ms ? period_ms : 1;
    l->last = calloc((size_t)l->max_concurrency, sizeof *l->last);
    return l->last ? 0 : -1;
}

void mg_start_limits_free(mg_start_limits *l)
{
    free(l->last);
    l->last = NULL;
}

int mg_start_bucket(const mg_start_limits *l, int shard_id)
{
    return (shard_id < 0 ? 0 : shard_id) % l->max_concurrency;
}

static void refill(mg_start_limits *l, uint64_t now)
{
    if (now < l->reset_at)
        return;
    l->remaining = l->total;
    l->reset_at += ((now - l->reset_at) / l->period_ms + 1) * l->period_ms;
}

mg_start_verdict mg_start_check(mg_start_limits *l, int shard_id, uint64_t now, struct mg_bucket_last *prev)
{
    refill(l, now);
    const struct mg_bucket_last *b = &l->last[mg_start_bucket(l, shard_id)];
    if (prev)
        *prev = *b;
    if (l->window_ms && b->used && now - b->at < l->window_ms)
        return MG_START_TOO_SOON;
    return l->remaining == 0 ? MG_START_BUDGET_SPENT : MG_START_OK;
}

void mg_start_spend(mg_start_limits *l, int shard_id, long tag, uint64_t now)
{
    struct mg_bucket_last *b = &l->last[mg_start_bucket(l, shard_id)];
    *b = (struct mg_bucket_last){now, shard_id, tag, 1};
    if (l->remaining)
        l->remaining--;
}

uint32_t mg_start_remaining(mg_start_limits *l, uint64_t now, uint64_t *reset_after_ms)
{
    refill(l, now);
    if (reset_after_ms)
        *reset_after_ms = l->reset_at - now;
    return l->remaining;
}
