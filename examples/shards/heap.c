/*
 * heap.c - a binary min-heap of heap_node pointers; each node knows its
 * index, so that moving or removing one needs no search. See heap.h.
 */
#include "heap.h"

#include <stdlib.h>

bool heap_init(deadline_heap *h, size_t cap)
{
    h->len = 0;
    h->cap = cap;
    h->v = calloc(cap ? cap : 1, sizeof *h->v);
    return h->v != NULL;
}

void heap_free(deadline_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->len = h->cap = 0;
}

void heap_node_init(heap_node *x, uint32_t kind, uint32_t id)
{
    x->due = HEAP_NONE;
    x->pos = SIZE_MAX;
    x->kind = kind;
    x->id = id;
}

static void place(deadline_heap *h, size_t i, heap_node *x)
{
    h->v[i] = x;
    x->pos = i;
}

static void sift_up(deadline_heap *h, size_t i)
{
    heap_node *x = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->due <= x->due)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, x);
}

static void sift_down(deadline_heap *h, size_t i)
{
    heap_node *x = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->v[child + 1]->due < h->v[child]->due)
            child++;
        if (x->due <= h->v[child]->due)
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, x);
}

static void remove_at(deadline_heap *h, size_t i)
{
    heap_node *gone = h->v[i];
    heap_node *last = h->v[--h->len];
    gone->pos = SIZE_MAX;
    if (last == gone)
        return;
    place(h, i, last);
    sift_up(h, i);
    sift_down(h, last->pos);
}

void heap_set(deadline_heap *h, heap_node *x, uint64_t due)
{
    x->due = due;
    if (due == HEAP_NONE) {
        if (x->pos != SIZE_MAX)
            remove_at(h, x->pos);
        return;
    }
    if (x->pos == SIZE_MAX) {
        if (h->len == h->cap)
            abort(); /* more nodes than heap_init() was told: a bug */
        place(h, h->len++, x);
    }
    sift_up(h, x->pos);
    sift_down(h, x->pos);
}

heap_node *heap_top(const deadline_heap *h)
{
    return h->len ? h->v[0] : NULL;
}
