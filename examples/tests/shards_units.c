/*
 * shards_units.c - dgw-shards' pure parts without sockets: the deadline
 * heap against a brute-force minimum under random arm/move/cancel, and the
 * bucket FIFOs, sizes, connect slots and budget.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../shards/buckets.h"
#include "../shards/heap.h"

static int failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static uint64_t rng = 42;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The heap's top is always the earliest armed node, and every node knows
 * where it is. */
static void heap_matches_brute_force(void)
{
    enum { N = 1000, STEPS = 200000 };
    static heap_node nodes[N];
    deadline_heap h;
    CHECK(heap_init(&h, N));
    for (uint32_t i = 0; i < N; i++)
        heap_node_init(&nodes[i], 0, i);
    for (int step = 0; step < STEPS && failures == 0; step++) {
        heap_node *x = &nodes[next_random() % N];
        uint64_t r = next_random();
        /* A quarter cancel; the rest arm, often at equal times. */
        heap_set(&h, x, r % 4 == 0 ? HEAP_NONE : (r >> 8) % 5000);
        uint64_t least = HEAP_NONE;
        size_t armed = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (nodes[i].due == HEAP_NONE) {
                CHECK(nodes[i].pos == SIZE_MAX);
                continue;
            }
            armed++;
            CHECK(nodes[i].pos < h.len && h.v[nodes[i].pos] == &nodes[i]);
            if (nodes[i].due < least)
                least = nodes[i].due;
        }
        CHECK(armed == h.len);
        const heap_node *top = heap_top(&h);
        CHECK(top == NULL ? armed == 0 : top->due == least);
    }
    /* Draining in order gives non-decreasing deadlines. */
    uint64_t last = 0;
    const heap_node *top;
    while ((top = heap_top(&h)) != NULL) {
        CHECK(top->due >= last);
        last = top->due;
        heap_set(&h, (heap_node *)top, HEAP_NONE);
    }
    heap_free(&h);
    printf("heap: matches a brute-force minimum over %d random steps\n", STEPS);
}

static void buckets_are_sized_and_fifo(void)
{
    pacer p = {0};
    /* Shards 3..12 of 16 with max_concurrency 4: buckets of 3, 2, 2, 3. */
    CHECK(pacer_init(&p, 4, 300, 2000, 16, 3, 10, 1));
    CHECK(p.count == 4 && p.connect_ahead == 1 + 7);
    CHECK(p.b[0].size == 3 && p.b[1].size == 2 && p.b[2].size == 2 && p.b[3].size == 3);
    CHECK(pacer_bucket(&p, 7) == &p.b[3]);
    CHECK(pacer_ideal_ms(&p) == 3 * 300);
    bucket *b = &p.b[3];
    uint32_t v;
    for (int round = 0; round < 3; round++) { /* wraps around the ring */
        CHECK(fifo_push(&b->permit_q, 3) && fifo_push(&b->permit_q, 7));
        CHECK(fifo_push(&b->permit_q, 11));
        CHECK(!fifo_push(&b->permit_q, 99)); /* full: one entry per shard */
        CHECK(fifo_pop(&b->permit_q, &v) && v == 3);
        CHECK(fifo_pop(&b->permit_q, &v) && v == 7);
        CHECK(fifo_pop(&b->permit_q, &v) && v == 11);
        CHECK(!fifo_pop(&b->permit_q, &v));
    }
    pacer_free(&p);

    /* max_concurrency above the shard count: one bucket per shard. */
    CHECK(pacer_init(&p, 1000, 5000, 2000, 8, 0, 8, 1));
    CHECK(p.count == 8 && p.connect_ahead == 2 && pacer_bucket(&p, 7) == &p.b[7]);
    CHECK(pacer_ideal_ms(&p) == 5000);
    pacer_free(&p);
    printf("buckets: sizes, slots, FIFO order and wrap-around\n");
}

static void budget_counts_down_to_zero(void)
{
    budget b = {.known = false};
    CHECK(!budget_exhausted(&b)); /* unknown: no limit of ours */
    b = (budget){.known = true, .total = 2, .remaining = 2};
    CHECK(!budget_exhausted(&b));
    b.remaining--;
    CHECK(!budget_exhausted(&b));
    b.remaining--;
    CHECK(budget_exhausted(&b));
    printf("budget: the last start is spent, none beyond\n");
}

int main(void)
{
    heap_matches_brute_force();
    buckets_are_sized_and_fifo();
    budget_counts_down_to_zero();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
