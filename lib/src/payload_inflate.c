#include "payload_inflate.h"

#include <string.h>
#include <zlib.h>

#include "zalloc.h"

/* Output room asked for per inflate() call, at least. */
#define CHUNK 4096

void dgw_payload_inflater_init(dgw_payload_inflater *pi, dgw_mem *m)
{
    memset(pi, 0, sizeof *pi);
    pi->mem = m;
}

void dgw_payload_inflater_free(dgw_payload_inflater *pi)
{
    if (!pi->z)
        return;
    inflateEnd(pi->z);
    dgw_mem_free(pi->mem, pi->z, sizeof(z_stream));
    pi->z = NULL;
    pi->used = false;
}

static int start(dgw_payload_inflater *pi, const char **why)
{
    z_stream *z = pi->z;
    if (z) {
        if (pi->used && inflateReset(z) != Z_OK) {
            *why = "cannot reset the zlib stream";
            return DGW_ERR_NOMEM;
        }
        pi->used = true;
        return DGW_OK;
    }
    z = dgw_mem_alloc(pi->mem, sizeof *z);
    if (!z) {
        *why = "out of memory for a zlib stream";
        return DGW_ERR_NOMEM;
    }
    memset(z, 0, sizeof *z);
    z->zalloc = dgw_zalloc;
    z->zfree = dgw_zfree;
    z->opaque = pi->mem;
    /* windowBits 15: a zlib header and Adler-32 trailer, both checked. */
    if (inflateInit(z) != Z_OK) {
        dgw_mem_free(pi->mem, z, sizeof *z);
        *why = "out of memory for a zlib stream";
        return DGW_ERR_NOMEM;
    }
    pi->z = z;
    pi->used = true;
    return DGW_OK;
}

/* Makes output room in out (geometric growth, never past max live bytes);
 * *avail gets how much, 0 when max is reached. */
static int room(dgw_mem *m, dgw_buf *out, size_t max, size_t *avail)
{
    size_t live = dgw_buf_live(out);
    *avail = 0;
    if (live >= max)
        return DGW_OK;
    if (out->cap - out->len < CHUNK) {
        size_t grow = live > CHUNK ? live : CHUNK;
        if (grow > max - live)
            grow = max - live;
        int r = dgw_buf_reserve(m, out, grow, max);
        if (r != DGW_OK)
            return DGW_ERR_NOMEM; /* within max, so only memory can fail */
    }
    *avail = out->cap - out->len;
    if (*avail > max - live)
        *avail = max - live;
    if (*avail > UINT32_MAX)
        *avail = UINT32_MAX;
    return DGW_OK;
}

static int run(dgw_payload_inflater *pi, const uint8_t *in, size_t n,
               dgw_buf *out, size_t max, const char **why)
{
    z_stream *z = pi->z;
    z->next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        /* avail_in is a uInt: feed huge inputs in slices. */
        size_t slice = n > (1u << 30) ? (1u << 30) : n;
        z->avail_in = (uInt)slice;
        n -= slice;
        for (;;) {
            size_t avail;
            int r = room(pi->mem, out, max, &avail);
            if (r != DGW_OK) {
                *why = "out of memory for the inflated payload";
                return r;
            }
            uint8_t probe;
            if (avail == 0) {
                /* At the cap: the stream may still end here without more
                 * output (its last block and checksum are left), so ask
                 * for one byte into a probe that must stay empty. */
                z->next_out = &probe;
                z->avail_out = 1;
            } else {
                z->next_out = out->p + out->len;
                z->avail_out = (uInt)avail;
            }
            int zr = inflate(z, Z_NO_FLUSH);
            if (avail == 0 && z->avail_out == 0) {
                *why = "compressed payload inflates past max_message_size";
                return DGW_ERR_INFLATE_TOO_LARGE;
            }
            if (avail)
                out->len += avail - z->avail_out;
            if (zr == Z_STREAM_END) {
                if (z->avail_in || n) {
                    *why = "bytes after the end of the zlib stream";
                    return DGW_ERR_INFLATE;
                }
                return DGW_OK;
            }
            if (zr == Z_NEED_DICT) {
                *why = "zlib stream asks for a preset dictionary";
                return DGW_ERR_INFLATE;
            }
            if (zr == Z_MEM_ERROR) {
                *why = "out of memory in zlib";
                return DGW_ERR_NOMEM;
            }
            if (zr != Z_OK && zr != Z_BUF_ERROR) {
                *why = z->msg ? z->msg : "corrupt zlib stream";
                return DGW_ERR_INFLATE;
            }
            /* Input gone while inflate still had output room: this slice
             * is done. */
            if (z->avail_in == 0 && z->avail_out > 0)
                break;
        }
        if (n == 0) {
            *why = "zlib stream ends before its end marker and checksum";
            return DGW_ERR_INFLATE_TRUNCATED;
        }
    }
}

int dgw_payload_inflate(dgw_payload_inflater *pi, const uint8_t *in, size_t n,
                        dgw_buf *out, size_t max, const char **why)
{
    if (n == 0) {
        *why = "empty compressed payload";
        return DGW_ERR_INFLATE_TRUNCATED;
    }
    int r = start(pi, why);
    if (r != DGW_OK)
        return r;
    size_t live = dgw_buf_live(out);
    r = run(pi, in, n, out, max, why);
    if (r != DGW_OK)
        out->len = out->off + live; /* growing may have moved off */
    return r;
}
