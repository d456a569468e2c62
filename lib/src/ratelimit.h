/* ratelimit.h - the gateway's send limit: N sends per sliding window per
 * connection (120 per 60 s), heartbeats included. Heartbeats get their own
 * share of the window (sized from the heartbeat interval at HELLO), so a
 * busy bot can never starve its own heartbeat into a zombie close, and the
 * beats plus the commands never pass the limit. */
#ifndef DGW_RATELIMIT_H
#define DGW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define DGW_RATELIMIT_MAX 512 /* largest rate_limit_count accepted */

typedef struct dgw_queued {
    struct dgw_queued *next;
    size_t len;
    char data[]; /* a whole payload, sent as one text frame */
} dgw_queued;

typedef struct dgw_ratelimit {
    uint32_t *sent;     /* ring of sends in the window, capacity `limit` */
    uint32_t limit, reserved, window_ms;
    uint32_t head, count;
    uint32_t commands;  /* entries in the ring that are not heartbeats */
    dgw_queued *q_head, *q_tail;
    uint32_t q_len, q_max;
} dgw_ratelimit;

int dgw_rl_init(dgw_ratelimit *rl, dgw_mem *m, uint32_t limit,
                uint32_t reserved, uint32_t window_ms, uint32_t q_max);
void dgw_rl_free(dgw_ratelimit *rl, dgw_mem *m);
/* Forgets sends and drops the queue. */
void dgw_rl_reset(dgw_ratelimit *rl, dgw_mem *m);
/* A new connection has a new window (and the default heartbeat share until
 * HELLO sizes it); the queue is kept. */
void dgw_rl_new_window(dgw_ratelimit *rl, uint32_t reserved);
/* May a command be sent now? Heartbeats may use the reserved slots. */
bool dgw_rl_can_send(dgw_ratelimit *rl, uint64_t now, bool heartbeat);
void dgw_rl_record(dgw_ratelimit *rl, uint64_t now, bool heartbeat);
/* Sizes the heartbeat-only slots for a heartbeat interval (at least
 * min_reserved, at most limit - 1). */
void dgw_rl_reserve_for_interval(dgw_ratelimit *rl, uint32_t min_reserved,
                                 uint32_t interval_ms);
/* The earliest time (>= now) at which this kind of send finds a slot. */
uint64_t dgw_rl_available_at(const dgw_ratelimit *rl, uint64_t now,
                             bool heartbeat);
int dgw_rl_enqueue(dgw_ratelimit *rl, dgw_mem *m, const char *p, size_t n);
dgw_queued *dgw_rl_peek(dgw_ratelimit *rl);
void dgw_rl_pop(dgw_ratelimit *rl, dgw_mem *m);

#endif
