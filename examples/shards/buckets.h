/*
 * buckets.h - the IDENTIFY buckets of max_concurrency and the session-start
 * budget: the data of dgw-shards' pacing, without I/O or clock (times are
 * arguments), so that its rules read in one place.
 *
 * Discord lets the shards of one bucket (shard_id % max_concurrency)
 * IDENTIFY once per window (5 s), and counts every IDENTIFY against the
 * day's session starts. Per bucket, two FIFOs of shard indices:
 *
 *   connect_q  shards that will IDENTIFY and have not opened their
 *              connection yet. At most connect_ahead of a bucket's shards
 *              hold a connection that waits for its IDENTIFY: enough that
 *              the next one has HELLO when its turn comes, few enough that
 *              nobody keeps an idle socket open for minutes (a gateway
 *              drops a connection that does not IDENTIFY in time).
 *   permit_q   shards whose connection asked for IDENTIFY
 *              (DGW_EV_IDENTIFY_WANTED), served one per window.
 */
#ifndef SHARDS_BUCKETS_H
#define SHARDS_BUCKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

typedef struct shard_fifo {
    uint32_t *v;
    uint32_t cap, head, len;
} shard_fifo;

typedef struct bucket {
    shard_fifo permit_q;
    shard_fifo connect_q;
    uint32_t admitted;   /* connections opened to IDENTIFY, not sent yet */
    uint32_t size;       /* shards of this process in the bucket */
    uint64_t next_ms;    /* no IDENTIFY of this bucket before this time */
    heap_node timer;     /* armed while permit_q is not empty */
} bucket;

typedef struct budget {
    bool known;          /* from /gateway/bot or --session-budget */
    uint32_t total;
    uint32_t remaining;
    uint64_t reset_at_ms; /* the clock's time of the reset; 0 unknown */
} budget;

typedef struct pacer {
    bucket *b;
    uint32_t mc;            /* max_concurrency */
    uint32_t count;         /* buckets: mc, or the shard count if lower */
    uint32_t window_ms;
    uint32_t connect_ahead;
    budget budget;
} pacer;

/* Buckets for the shards first..first+n-1 of shard_count with
 * max_concurrency mc (0 counts as 1). connect_ahead is
 * 1 + ceil(lead_ms / window_ms): the time a connection is given to reach
 * HELLO before its turn. False when out of memory. */
bool pacer_init(pacer *p, uint32_t mc, uint32_t window_ms, uint32_t lead_ms,
                uint32_t shard_count, uint32_t first, uint32_t n,
                uint32_t timer_kind);

/* The bucket of a shard id. */
bucket *pacer_bucket(const pacer *p, uint32_t shard_id);
void pacer_free(pacer *p);

bool fifo_push(shard_fifo *f, uint32_t v);
bool fifo_pop(shard_fifo *f, uint32_t *v);

/* Whether the next IDENTIFY needs more session starts than are left. */
bool budget_exhausted(const budget *b);

/* The largest bucket times the window: the least time in which every
 * shard can IDENTIFY, counting the first of each bucket at 0 and then one
 * window per shard: ceil(n / max_concurrency) windows for a full range. */
uint64_t pacer_ideal_ms(const pacer *p);

#endif
