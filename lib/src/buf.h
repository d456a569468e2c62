/* buf.h - a growable byte buffer with a hard cap, owned by a connection.
 *
 * Used for the output queue (bytes for the socket), the upgrade response and
 * the message being assembled. `off` lets the output side consume from the
 * front without moving bytes on every partial write. */
#ifndef DGW_BUF_H
#define DGW_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

typedef struct dgw_buf {
    uint8_t *p;
    size_t off;   /* first live byte */
    size_t len;   /* end of live bytes (absolute, >= off) */
    size_t cap;
} dgw_buf;

/* Capacity doubles up to this, then grows by an eighth at a time. */
#define DGW_BUF_DOUBLE_MAX (64u * 1024u)

/* The capacity a buffer of capacity cap grows to when it must hold need
 * bytes (need > cap): see buf.c for the policy. */
size_t dgw_buf_grown_cap(size_t cap, size_t need);

/* Makes room for `extra` more bytes, keeping len + extra <= max. Grows by
 * dgw_buf_grown_cap, so a first reservation of the exact size of what is
 * coming (a frame's payload length) allocates just that.
 * Returns DGW_ERR_NOMEM, or DGW_ERR_WS_TOO_LARGE when max would be passed
 * (the caller maps that to its own error). */
int dgw_buf_reserve(dgw_mem *m, dgw_buf *b, size_t extra, size_t max);
int dgw_buf_append(dgw_mem *m, dgw_buf *b, const void *data, size_t n,
                   size_t max);
static inline size_t dgw_buf_live(const dgw_buf *b) { return b->len - b->off; }
void dgw_buf_consume(dgw_buf *b, size_t n);
/* Empties the buffer; frees its memory if it grew past keep_cap, so a
 * connection that once saw a 1 MiB READY does not keep 1 MiB while idle. */
void dgw_buf_reset(dgw_mem *m, dgw_buf *b, size_t keep_cap);
void dgw_buf_free(dgw_mem *m, dgw_buf *b);

#endif
