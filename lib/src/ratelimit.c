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
    rl->head = rl->count = 0;
}

void dgw_rl_free(dgw_ratelimit *rl, dgw_mem *m)
{
    dgw_rl_reset(rl, m);
    dgw_mem_free(m, rl->sent, sizeof(uint32_t) * rl->limit);
    rl->sent = NULL;
}

static void expire(dgw_ratelimit *rl, uint64_t now)
{
    while (rl->count > 0) {
        uint32_t age = (uint32_t)now - rl->sent[rl->head];
        if (age < rl->window_ms)
            break;
        rl->head = (rl->head + 1) % rl->limit;
        rl->count--;
    }
}

bool dgw_rl_can_send(dgw_ratelimit *rl, uint64_t now, bool heartbeat)
{
    expire(rl, now);
    uint32_t cap = heartbeat ? rl->limit : rl->limit - rl->reserved;
    return rl->count < cap;
}

void dgw_rl_record(dgw_ratelimit *rl, uint64_t now)
{
    if (rl->count == rl->limit) {
        /* Only reachable if a caller ignored can_send; keep the newest. */
        rl->head = (rl->head + 1) % rl->limit;
        rl->count--;
    }
    rl->sent[(rl->head + rl->count) % rl->limit] = (uint32_t)now;
    rl->count++;
}

uint64_t dgw_rl_next_free(const dgw_ratelimit *rl, uint64_t now)
{
    if (rl->count == 0)
        return 0;
    uint32_t age = (uint32_t)now - rl->sent[rl->head];
    return age >= rl->window_ms ? now : now + (rl->window_ms - age);
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
