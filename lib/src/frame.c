/* frame.c - RFC 6455 section 5.2, as a client reads and writes it. */
#include "frame.h"

#include <string.h>

/* Judges the first two header bytes: everything a server may get wrong is
 * visible there, so a bad frame is refused before any of it is kept. */
static const char *check_start(const uint8_t h[2])
{
    uint8_t op = h[0] & 0x0f;
    uint8_t len7 = h[1] & 0x7f;
    if (h[1] & 0x80)
        return "server sent a masked frame";
    if (h[0] & 0x70)
        return "frame has reserved bits set (no extension was negotiated)";
    switch (op) {
    case DGW_OP_CONTINUATION:
    case DGW_OP_TEXT:
    case DGW_OP_BINARY:
        return NULL;
    case DGW_OP_CLOSE:
    case DGW_OP_PING:
    case DGW_OP_PONG:
        if (!(h[0] & 0x80))
            return "fragmented control frame";
        if (len7 > 125)
            return "control frame over 125 bytes";
        return NULL;
    default:
        return "frame with an unknown opcode";
    }
}

static size_t header_size(const uint8_t h[2])
{
    uint8_t len7 = h[1] & 0x7f;
    return len7 == 127 ? 10 : len7 == 126 ? 4 : 2;
}

/* The header is complete in r->hdr: decode the length. */
static const char *finish_header(dgw_frame_reader *r)
{
    const uint8_t *h = r->hdr;
    uint8_t len7 = h[1] & 0x7f;
    uint64_t len = len7;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126)
            return "frame length not minimally encoded";
    } else if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | h[i];
        if (len >> 63)
            return "frame length has its top bit set";
        if (len <= 0xffff)
            return "frame length not minimally encoded";
    }
    r->opcode = h[0] & 0x0f;
    r->fin = (h[0] & 0x80) != 0;
    r->length = r->left = len;
    r->in_payload = true;
    r->have = 0;
    return NULL;
}

size_t dgw_frame_read(dgw_frame_reader *r, const uint8_t *in, size_t n,
                      dgw_frame_step *step)
{
    memset(step, 0, sizeof *step);
    if (r->in_payload) {
        size_t k = r->left < n ? (size_t)r->left : n;
        step->kind = DGW_FRAME_PAYLOAD;
        step->data = in;
        step->len = k;
        r->left -= k;
        step->end = r->left == 0;
        if (step->end)
            r->in_payload = false;
        return k;
    }
    size_t used = 0;
    while (used < n) {
        r->hdr[r->have++] = in[used++];
        if (r->have == 2) {
            const char *why = check_start(r->hdr);
            if (why) {
                step->kind = DGW_FRAME_ERROR;
                step->why = why;
                return used;
            }
        }
        if (r->have >= 2 && r->have == header_size(r->hdr)) {
            const char *why = finish_header(r);
            step->kind = why ? DGW_FRAME_ERROR : DGW_FRAME_HEADER;
            step->why = why;
            return used;
        }
    }
    step->kind = DGW_FRAME_MORE;
    return used;
}

int dgw_frame_write(dgw_mem *m, dgw_buf *out, size_t max, uint8_t opcode,
                    const void *data, size_t n, const uint8_t mask[4])
{
    uint8_t h[14];
    size_t hl = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[1] = (uint8_t)(0x80 | n);
    } else if (n <= 0xffff) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    memcpy(h + hl, mask, 4);
    hl += 4;
    if (n > SIZE_MAX - hl)
        return DGW_ERR_WS_TOO_LARGE;
    int r = dgw_buf_reserve(m, out, hl + n, max);
    if (r != DGW_OK)
        return r;
    uint8_t *dst = out->p + out->len;
    memcpy(dst, h, hl);
    dst += hl;
    const uint8_t *src = data;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ mask[i & 3];
    out->len += hl + n;
    return DGW_OK;
}
