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

size_t mg_ws_header(uint8_t *h, int fin, int opcode, uint64_t len)
{
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
    return n;
}

int mg_ws_frame_header(mg_buf *out, int fin, int opcode, uint64_t len)
{
    uint8_t h[MG_WS_MAX_HEADER];
    return mg_buf_append(out, h, mg_ws_header(h, fin, opcode, len));
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

int mg_ws_parse_client_head(const uint8_t *buf, size_t len, mg_ws_head *h, const char **why)
{
    if (len < 2)
        return 0;
    h->fin = buf[0] >> 7;
    h->opcode = buf[0] & 0x0f;
    h->masked = buf[1] >> 7;
    uint64_t n = buf[1] & 0x7f;
    size_t ext = n == 126 ? 2 : n == 127 ? 8 : 0;
    h->header_len = 2 + ext + (h->masked ? 4 : 0);
    if (len < 2 + ext)
        return 0;
    if (ext) {
        n = 0;
        for (size_t i = 0; i < ext; i++)
            n = n << 8 | buf[2 + i];
        if (n >> 63) {
            *why = "frame length with the most significant bit set";
            return -1;
        }
        if (n < (ext == 2 ? 126u : 65536u)) {
            *why = "frame length not in its shortest form";
            return -1;
        }
    }
    h->payload_len = n;
    if (h->opcode & 0x8) {
        if (!h->fin) {
            *why = "fragmented control frame";
            return -1;
        }
        if (n > 125) {
            *why = "control frame over 125 bytes";
            return -1;
        }
        if (h->opcode == MG_WS_CLOSE && n == 1) {
            *why = "close frame with a 1-byte payload";
            return -1;
        }
    }
    return len >= h->header_len;
}

void mg_ws_credit_init(mg_ws_credit *cr, uint32_t burst, uint32_t rate_per_s, uint64_t now_ms)
{
    cr->burst = burst;
    cr->rate_per_s = rate_per_s;
    cr->milli = (uint64_t)burst * 1000;
    cr->at_ms = now_ms;
}

int mg_ws_credit_take(mg_ws_credit *cr, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)cr->burst * 1000;
    if (now_ms > cr->at_ms) {
        /* rate_per_s frames a second is rate_per_s thousandths a millisecond */
        uint64_t elapsed = now_ms - cr->at_ms, room = cap - cr->milli;
        if (cr->rate_per_s && elapsed > room / cr->rate_per_s)
            cr->milli = cap;
        else
            cr->milli += elapsed * cr->rate_per_s;
        cr->at_ms = now_ms;
    }
    if (cr->milli < 1000)
        return 0;
    cr->milli -= 1000;
    return 1;
}
