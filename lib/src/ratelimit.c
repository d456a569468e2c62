#include "ratelimit.h"

#include <string.h>

int dgw_rl_init(dgw_ratelimit *rl, dgw_mem *m, uint32_t limit,
                uint32_t reserved, uint32_t window_ms, uint32_t q_max)
{
    memset(rl, 0, sizeof *rl);
    if (limit == 0 || limit > DGW_RATELIMIT_MAX || reserved >= limit)
        return DGW_ERR_INVALID_ARGUMENT;
    rl->sent = dgw_mem_alloc(m, sizeof(uint32_t) * limit);
    if (!rl->sent)
        return DGW_ERR_NOMEM;
    rl->limit = limit;
    rl->reserved = reserved;
    rl->window_ms = window_ms;
    rl->q_max = q_max;
    return DGW_OK;
}

void dgw_rl_reset(dgw_ratelimit *rl, dgw_mem *m)
{
    while (rl->q_head)
        dgw_rl_pop(rl, m);
    rl->head = rl->count = rl->commands = 0;
}

void dgw_rl_new_window(dgw_ratelimit *rl, uint32_t reserved)
{
    rl->head = rl->count = rl->commands = 0;
    rl->reserved = reserved;
}

void dgw_rl_free(dgw_ratelimit *rl, dgw_mem *m)
{
    dgw_rl_reset(rl, m);
    dgw_mem_free(m, rl->sent, sizeof(uint32_t) * rl->limit);
    rl->sent = NULL;
}

/* An entry is a send time in ms (31 bits, wrapping: 24 days of difference,
 * and a window is a minute) with the top bit set for heartbeats, which
 * have their own share of the window. */
#define HB_FLAG 0x80000000u
#define TIME_MASK 0x7fffffffu

static uint32_t age_of(uint32_t e, uint64_t now)
{
    return ((uint32_t)now - e) & TIME_MASK;
}

static void expire(dgw_ratelimit *rl, uint64_t now)
{
    while (rl->count > 0) {
        uint32_t e = rl->sent[rl->head];
        if (age_of(e, now) < rl->window_ms)
            break;
        if (!(e & HB_FLAG))
            rl->commands--;
        rl->head = (rl->head + 1) % rl->limit;
        rl->count--;
    }
}

bool dgw_rl_can_send(dgw_ratelimit *rl, uint64_t now, bool heartbeat)
{
    expire(rl, now);
    if (rl->count >= rl->limit)
        return false;
    /* Commands get limit - reserved slots of their own; heartbeats, sized
     * into `reserved`, take what is left of the limit. */
    return heartbeat || rl->commands < rl->limit - rl->reserved;
}

void dgw_rl_record(dgw_ratelimit *rl, uint64_t now, bool heartbeat)
{
    /* Callers record only after dgw_rl_can_send() said yes, so the ring
     * has room; forgetting a send still inside the window would let the
     * next one break the limit, so a full ring records nothing more. */
    if (rl->count == rl->limit)
        return;
    rl->sent[(rl->head + rl->count) % rl->limit] =
        ((uint32_t)now & TIME_MASK) | (heartbeat ? HB_FLAG : 0);
    rl->count++;
    if (!heartbeat)
        rl->commands++;
}

void dgw_rl_reserve_for_interval(dgw_ratelimit *rl, uint32_t min_reserved,
                                 uint32_t interval_ms)
{
    /* Enough slots for every beat a window can hold, plus one for a beat
     * the server asks for with op 1. */
    uint64_t beats = interval_ms ? rl->window_ms / interval_ms + 2 : 0;
    uint64_t r = beats > min_reserved ? beats : min_reserved;
    rl->reserved = r >= rl->limit ? rl->limit - 1 : (uint32_t)r;
}

uint64_t dgw_rl_available_at(const dgw_ratelimit *rl, uint64_t now,
                             bool heartbeat)
{
    /* Walk the sends oldest first, as if time passed: each expiry frees
     * a slot; the first moment the rule of dgw_rl_can_send() holds is the
     * answer. */
    uint32_t count = rl->count, commands = rl->commands;
    uint32_t i = rl->head;
    uint64_t t = now;
    for (;;) {
        if (count < rl->limit &&
            (heartbeat || commands < rl->limit - rl->reserved))
            return t;
        uint32_t e = rl->sent[i];
        uint32_t age = age_of(e, now);
        uint64_t expires = age >= rl->window_ms ? now
                                                : now + (rl->window_ms - age);
        if (expires > t)
            t = expires;
        if (!(e & HB_FLAG))
            commands--;
        count--;
        i = (i + 1) % rl->limit;
    }
}

int dgw_rl_enqueue(dgw_ratelimit *rl, dgw_mem *m, const char *p, size_t n)
{
    if (rl->q_len >= rl->q_max)
        return DGW_ERR_RATE_LIMITED;
    dgw_queued *e = dgw_mem_alloc(m, sizeof *e + n);
    if (!e)
        return DGW_ERR_NOMEM;
    e->next = NULL;
    e->len = n;
    memcpy(e->data, p, n);
    if (rl->q_tail)
        rl->q_tail->next = e;
    else
        rl->q_head = e;
    rl->q_tail = e;
    rl->q_len++;
    return DGW_OK;
}

dgw_queued *dgw_rl_peek(dgw_ratelimit *rl)
{
    return rl->q_head;
}

void dgw_rl_pop(dgw_ratelimit *rl, dgw_mem *m)
{
    dgw_queued *e = rl->q_head;
    if (!e)
        return;
    rl->q_head = e->next;
    if (!rl->q_head)
        rl->q_tail = NULL;
    rl->q_len--;
    dgw_mem_free(m, e, sizeof *e + e->len);
}
