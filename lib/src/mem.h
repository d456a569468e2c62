/* mem.h - allocation through the caller's dgw_allocator, with a byte count.
 *
 * Every byte a connection owns goes through here, so dgw_conn_memory() is
 * exact and a test can hold a connection to a documented budget. */
#ifndef DGW_MEM_H
#define DGW_MEM_H

#include <stddef.h>

#include "dgw.h"

typedef struct dgw_mem {
    dgw_allocator a;
    size_t in_use;
} dgw_mem;

void dgw_mem_init(dgw_mem *m, const dgw_allocator *a);
void *dgw_mem_alloc(dgw_mem *m, size_t size);
void *dgw_mem_realloc(dgw_mem *m, void *p, size_t old_size, size_t new_size);
void dgw_mem_free(dgw_mem *m, void *p, size_t size);
/* Copies a NUL-terminated string; NULL in, NULL out. *len gets strlen. */
char *dgw_mem_strdup(dgw_mem *m, const char *s);
void dgw_mem_strfree(dgw_mem *m, char *s);

#endif
