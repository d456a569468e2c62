#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(mg_buf *b, size_t extra)
{
    if (b->off > 0 && b->off == b->len) {
        b->off = b->len = 0;
    }
    if (b->len + extra + 1 <= b->cap)
        return 0;
    /* Reclaim consumed space before growing: output queues are consumed
     * from the front while the scenario keeps appending. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra + 1 <= b->cap)
            return 0;
    }
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd)
        return -1;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int mg_buf_reserve(mg_buf *b, size_t n)
{
    return reserve(b, n);
}

int mg_buf_append(mg_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int mg_buf_append_str(mg_buf *b, const char *s) { return mg_buf_append(b, s, strlen(s)); }

int mg_buf_printf(mg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if (reserve(b, (size_t)n + 1) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void mg_buf_consume(mg_buf *b, size_t n)
{
    size_t avail = b->len - b->off;
    b->off += n < avail ? n : avail;
    if (b->off == b->len)
        b->off = b->len = 0;
}

void mg_buf_reset(mg_buf *b) { b->off = b->len = 0; }

void mg_buf_free(mg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}

const char *mg_buf_cstr(mg_buf *b)
{
    if (reserve(b, 0) != 0)
        return NULL;
    b->data[b->len] = '\0';
    return (const char *)b->data + b->off;
}
