/*
 * heap.h - a min-heap of deadlines for one event loop.
 *
 * Each timer (a shard, a bucket) embeds one heap_node and moves it with
 * heap_set(): O(log n) to arm, re-arm or cancel, O(1) to read the
 * earliest. With 10,000 shards a wake-up costs a few dozen comparisons,
 * where a scan of every dgw_conn_next_timeout() would cost 10,000 calls.
 * The heap holds pointers and never allocates after heap_init().
 */
#ifndef SHARDS_HEAP_H
#define SHARDS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE UINT64_MAX /* "no deadline": the node leaves the heap */

typedef struct heap_node {
    uint64_t due;  /* armed: when; else HEAP_NONE */
    size_t pos;    /* index in the heap, or SIZE_MAX when not in it */
    uint32_t kind; /* for the owner: which kind of timer this is */
    uint32_t id;   /* for the owner: which one */
} heap_node;

typedef struct deadline_heap {
    heap_node **v;
    size_t len, cap;
} deadline_heap;

/* Room for cap nodes (each node is in the heap at most once). False when
 * out of memory. */
bool heap_init(deadline_heap *h, size_t cap);
void heap_free(deadline_heap *h);

/* Initialises a node that is in no heap. */
void heap_node_init(heap_node *x, uint32_t kind, uint32_t id);

/* Arms x for due (inserting or moving it), or takes it out for HEAP_NONE. */
void heap_set(deadline_heap *h, heap_node *x, uint64_t due);

/* The earliest node, or NULL when the heap is empty. */
heap_node *heap_top(const deadline_heap *h);

#endif
