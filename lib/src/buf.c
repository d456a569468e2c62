#include "buf.h"

#include <string.h>

size_t dgw_buf_grown_cap(size_t cap, size_t need)
{
    /* Geometric, so that appends cost amortized O(1): doubling while
     * small, where a copy is cheap and twice a small size is still small;
     * an eighth past DGW_BUF_DOUBLE_MAX, so that a large message never
     * holds more than 1.125 times its size (doubling held up to 2x: 32 MiB
     * for a 16 MiB READY). Never less than what was asked. */
    size_t ncap;
    if (cap < 128)
        ncap = 256;
    else if (cap < DGW_BUF_DOUBLE_MAX)
        ncap = cap * 2 < DGW_BUF_DOUBLE_MAX ? cap * 2 : DGW_BUF_DOUBLE_MAX;
    else
        ncap = cap > SIZE_MAX - cap / 8 ? SIZE_MAX : cap + cap / 8;
    return ncap >= need ? ncap : need;
}

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
    size_t ncap = dgw_buf_grown_cap(b->cap, need);
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
