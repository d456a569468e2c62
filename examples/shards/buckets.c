/*
 * buckets.c - FIFOs and sizes of the IDENTIFY buckets. See buckets.h.
 */
#include "buckets.h"

#include <dgw.h>
#include <stdlib.h>

bool pacer_init(pacer *p, uint32_t mc, uint32_t window_ms, uint32_t lead_ms,
                uint32_t shard_count, uint32_t first, uint32_t n,
                uint32_t timer_kind)
{
    p->mc = mc ? mc : 1;
    /* Shard ids are below shard_count, so are their buckets: a huge
     * max_concurrency costs no more than one bucket per shard. */
    p->count = p->mc < shard_count ? p->mc : shard_count;
    p->window_ms = window_ms;
    p->connect_ahead =
        1 + (window_ms ? (lead_ms + window_ms - 1) / window_ms : lead_ms);
    p->b = calloc(p->count, sizeof *p->b);
    if (p->b == NULL)
        return false;
    for (uint32_t i = 0; i < n; i++)
        pacer_bucket(p, first + i)->size++;
    for (uint32_t k = 0; k < p->count; k++) {
        bucket *b = &p->b[k];
        heap_node_init(&b->timer, timer_kind, k);
        /* Each shard is in each FIFO at most once: its size is enough. */
        b->permit_q.cap = b->connect_q.cap = b->size;
        b->permit_q.v = calloc(b->size ? b->size : 1, sizeof(uint32_t));
        b->connect_q.v = calloc(b->size ? b->size : 1, sizeof(uint32_t));
        if (b->permit_q.v == NULL || b->connect_q.v == NULL)
            return false; /* pacer_free() frees what was made */
    }
    return true;
}

bucket *pacer_bucket(const pacer *p, uint32_t shard_id)
{
    return &p->b[dgw_shard_bucket(shard_id, p->mc)];
}

void pacer_free(pacer *p)
{
    for (uint32_t k = 0; p->b != NULL && k < p->count; k++) {
        free(p->b[k].permit_q.v);
        free(p->b[k].connect_q.v);
    }
    free(p->b);
    p->b = NULL;
}

bool fifo_push(shard_fifo *f, uint32_t v)
{
    if (f->len == f->cap)
        return false;
    f->v[(f->head + f->len++) % f->cap] = v;
    return true;
}

bool fifo_pop(shard_fifo *f, uint32_t *v)
{
    if (f->len == 0)
        return false;
    *v = f->v[f->head];
    f->head = (f->head + 1) % f->cap;
    f->len--;
    return true;
}

bool budget_exhausted(const budget *b)
{
    return b->known && b->remaining < 1; /* an IDENTIFY spends one */
}

uint64_t pacer_ideal_ms(const pacer *p)
{
    uint32_t most = 0;
    for (uint32_t k = 0; k < p->count; k++)
        if (p->b[k].size > most)
            most = p->b[k].size;
    return (uint64_t)most * p->window_ms;
}
