#include "buf.h"

#include <string.h>

int dgw_buf_reserve(dgw_mem *m, dgw_buf *b, size_t extra, size_t max)
{
    if (b->off > 0 && b->off == b->len) {
        b->off = b->len = 0;
    }
    if (extra > max || b->len - b->off > max - extra)
        return DGW_ERR_WS_TOO_LARGE;
    if (b->cap - b->len >= extra)
        return DGW_OK;
    /* Slide live bytes to the front before growing. */
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= extra)
            return DGW_OK;
    }
    size_t need = b->len + extra;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    uint8_t *np = dgw_mem_realloc(m, b->p, b->cap, ncap);
    if (!np)
        return DGW_ERR_NOMEM;
    b->p = np;
    b->cap = ncap;
    return DGW_OK;
}

int dgw_buf_append(dgw_mem *m, dgw_buf *b, const void *data, size_t n,
                   size_t max)
{
    int r = dgw_buf_reserve(m, b, n, max);
    if (r != DGW_OK)
        return r;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return DGW_OK;
}

void dgw_buf_consume(dgw_buf *b, size_t n)
{
    if (n > b->len - b->off)
        n = b->len - b->off;
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

void dgw_buf_reset(dgw_mem *m, dgw_buf *b, size_t keep_cap)
{
    b->off = b->len = 0;
    if (b->cap > keep_cap)
        dgw_buf_free(m, b);
}

void dgw_buf_free(dgw_mem *m, dgw_buf *b)
{
    dgw_mem_free(m, b->p, b->cap);
    b->p = NULL;
    b->off = b->len = b->cap = 0;
}
