#include "ws.h"

#include <stdlib.h>

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

size_t mg_splits_resolve(const mg_splits *s, size_t len, size_t *cuts, size_t maxcuts)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (size_t i = 0; i < s->npos && n < maxcuts; i++) {
        long p = s->pos[i];
        long at = p < 0 ? (long)len + p : p;
        if (at > 0 && (size_t)at < len)
            cuts[n++] = (size_t)at;
    }
    if (s->chunk > 0)
        for (size_t at = s->chunk; at < len && n < maxcuts; at += s->chunk)
            cuts[n++] = at;
    qsort(cuts, n, sizeof *cuts, cmp_size);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || cuts[u - 1] != cuts[i])
            cuts[u++] = cuts[i];
    return u;
}

int mg_ws_frame_header(mg_buf *out, int fin, int opcode, uint64_t len)
{
    uint8_t h[10];
    size_t n = 0;
    h[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        h[n++] = (uint8_t)len;
    } else if (len <= 0xffff) {
        h[n++] = 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)(len >> (8 * i));
    }
    return mg_buf_append(out, h, n);
}

int mg_ws_frame(mg_buf *out, int fin, int opcode, const void *data, size_t len)
{
    if (mg_ws_frame_header(out, fin, opcode, len) != 0)
        return -1;
    return mg_buf_append(out, data, len);
}

int mg_ws_encode_message(mg_buf *out, int opcode, const uint8_t *data, size_t len,
                         const mg_splits *frame_splits, const uint8_t *ping, long ping_len)
{
    /* Bounded like the split list itself; a chunk size of 1 on a big message
     * would otherwise mean millions of cut points. */
    size_t cuts[4096];
    size_t nc = mg_splits_resolve(frame_splits, len, cuts, sizeof cuts / sizeof *cuts);
    size_t start = 0;
    for (size_t i = 0; i <= nc; i++) {
        size_t end = i < nc ? cuts[i] : len;
        int fin = i == nc;
        if (mg_ws_frame(out, fin, i == 0 ? opcode : MG_WS_CONT, data + start, end - start) != 0)
            return -1;
        if (i == 0 && ping_len >= 0 && ping_len <= 125 &&
            mg_ws_frame(out, 1, MG_WS_PING, ping, (size_t)ping_len) != 0)
            return -1;
        start = end;
    }
    return 0;
}
