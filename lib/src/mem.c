#include "mem.h"

#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *default_realloc(void *user, void *p, size_t old_size,
                             size_t new_size)
{
    (void)user;
    (void)old_size;
    return realloc(p, new_size);
}

static void default_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)size;
    free(p);
}

void dgw_mem_init(dgw_mem *m, const dgw_allocator *a)
{
    if (a && a->alloc && a->realloc && a->free) {
        m->a = *a;
    } else {
        m->a.alloc = default_alloc;
        m->a.realloc = default_realloc;
        m->a.free = default_free;
        m->a.user = NULL;
    }
    m->in_use = 0;
}

void *dgw_mem_alloc(dgw_mem *m, size_t size)
{
    if (size == 0)
        size = 1;
    void *p = m->a.alloc(m->a.user, size);
    if (p)
        m->in_use += size;
    return p;
}

void *dgw_mem_realloc(dgw_mem *m, void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return dgw_mem_alloc(m, new_size);
    if (new_size == 0)
        new_size = 1;
    void *q = m->a.realloc(m->a.user, p, old_size, new_size);
    if (q)
        m->in_use = m->in_use - old_size + new_size;
    return q;
}

void dgw_mem_free(dgw_mem *m, void *p, size_t size)
{
    if (!p)
        return;
    if (size == 0)
        size = 1;
    m->a.free(m->a.user, p, size);
    m->in_use -= size;
}

char *dgw_mem_strdup(dgw_mem *m, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = dgw_mem_alloc(m, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void dgw_mem_strfree(dgw_mem *m, char *s)
{
    if (s)
        dgw_mem_free(m, s, strlen(s) + 1);
}
