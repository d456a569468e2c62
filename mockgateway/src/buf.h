/* Growable byte buffer with a read offset: the one container the server
 * uses for sockets, frames and transcripts. */
#ifndef MG_BUF_H
#define MG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mg_buf {
    uint8_t *data;
    size_t len;  /* bytes stored, including consumed ones before off */
    size_t off;  /* first unconsumed byte */
    size_t cap;
} mg_buf;

/* Makes room for n more bytes after len (data + len is then writable).
 * Returns 0, or -1 when out of memory. */
int mg_buf_reserve(mg_buf *b, size_t n);
/* Appends n bytes; returns 0, or -1 when out of memory. */
int mg_buf_append(mg_buf *b, const void *p, size_t n);
int mg_buf_append_str(mg_buf *b, const char *s);
int mg_buf_printf(mg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Marks n bytes as consumed; compacts when everything was consumed. */
void mg_buf_consume(mg_buf *b, size_t n);
static inline size_t mg_buf_avail(const mg_buf *b) { return b->len - b->off; }
static inline const uint8_t *mg_buf_head(const mg_buf *b) { return b->data + b->off; }
void mg_buf_reset(mg_buf *b);
void mg_buf_free(mg_buf *b);
/* NUL-terminates without counting the NUL in len; returns the data or NULL. */
const char *mg_buf_cstr(mg_buf *b);

#endif
