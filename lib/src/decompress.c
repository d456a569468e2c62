#include "decompress.h"

#include <string.h>
#include <zlib.h>
#ifdef DGW_HAVE_ZSTD
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced: allocator hook */
#include <zstd.h>
#include <zstd_errors.h>
#endif

/* zstd-stream windows can be large; refuse frames wanting more than this. */
#define DGW_ZSTD_WINDOW_LOG_MAX 23

/* Output room asked for per step: large enough to keep inflate's calls few. */
#define DGW_INFLATE_CHUNK 4096

/* zlib and zstd free without a size; our allocator wants one, so each block
 * carries its size in front. */
typedef union { size_t size; max_align_t align; } sized_hdr;

static void *sized_alloc(dgw_mem *m, size_t n)
{
    if (n > SIZE_MAX - sizeof(sized_hdr))
        return NULL;
    sized_hdr *h = dgw_mem_alloc(m, n + sizeof *h);
    if (!h)
        return NULL;
    h->size = n + sizeof *h;
    return h + 1;
}

static void sized_free(dgw_mem *m, void *p)
{
    if (!p)
        return;
    sized_hdr *h = (sized_hdr *)p - 1;
    dgw_mem_free(m, h, h->size);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    return sized_alloc(opaque, (size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    sized_free(opaque, p);
}

#ifdef DGW_HAVE_ZSTD
static void *zs_alloc(void *opaque, size_t size)
{
    return sized_alloc(opaque, size);
}

static void zs_free(void *opaque, void *p)
{
    sized_free(opaque, p);
}
#endif

void dgw_decoder_init(dgw_decoder *d, dgw_mem *m, dgw_compress kind)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->mem = m;
}

int dgw_decoder_reset(dgw_decoder *d)
{
    d->msg_in = 0;
    d->mid_payload = false;
    switch (d->kind) {
    case DGW_COMPRESS_NONE:
        return DGW_OK;
    case DGW_COMPRESS_ZLIB_STREAM: {
        z_stream *z = d->ctx;
        if (z) {
            if (d->used && inflateReset(z) != Z_OK)
                return DGW_ERR_NOMEM;
            d->zhdr_len = 0;
            d->used = false;
            return DGW_OK;
        }
        z = dgw_mem_alloc(d->mem, sizeof *z);
        if (!z)
            return DGW_ERR_NOMEM;
        memset(z, 0, sizeof *z);
        z->zalloc = z_alloc;
        z->zfree = z_free;
        z->opaque = d->mem;
        /* Raw inflate: we read the 2-byte zlib header ourselves. zlib-stream
         * never ends, so its Adler-32 trailer never comes, and computing the
         * checksum over every inflated byte would be pure cost. */
        if (inflateInit2(z, -15) != Z_OK) {
            dgw_mem_free(d->mem, z, sizeof *z);
            return DGW_ERR_NOMEM;
        }
        d->ctx = z;
        return DGW_OK;
    }
    case DGW_COMPRESS_ZSTD_STREAM:
#ifdef DGW_HAVE_ZSTD
        if (d->ctx) {
            ZSTD_DCtx_reset(d->ctx, ZSTD_reset_session_only);
            return DGW_OK;
        } else {
            ZSTD_customMem cm = {zs_alloc, zs_free, d->mem};
            ZSTD_DCtx *z = ZSTD_createDCtx_advanced(cm);
            if (!z)
                return DGW_ERR_NOMEM;
            ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax,
                                   DGW_ZSTD_WINDOW_LOG_MAX);
            d->ctx = z;
            return DGW_OK;
        }
#else
        return DGW_ERR_UNSUPPORTED;
#endif
    }
    return DGW_ERR_INVALID_ARGUMENT;
}

void dgw_decoder_free(dgw_decoder *d)
{
    if (!d->ctx)
        return;
    if (d->kind == DGW_COMPRESS_ZLIB_STREAM) {
        inflateEnd(d->ctx);
        dgw_mem_free(d->mem, d->ctx, sizeof(z_stream));
    }
#ifdef DGW_HAVE_ZSTD
    else if (d->kind == DGW_COMPRESS_ZSTD_STREAM) {
        ZSTD_freeDCtx(d->ctx);
    }
#endif
    d->ctx = NULL;
}

static void track_tail(dgw_decoder *d, const uint8_t *in, size_t n)
{
    if (n >= 4) {
        memcpy(d->tail, in + n - 4, 4);
    } else {
        memmove(d->tail, d->tail + n, 4 - n);
        memcpy(d->tail + 4 - n, in, n);
    }
    d->msg_in += n;
}

/* Gives at least some output room, bounded by max. 0: the cap is reached. */
static int room(dgw_decoder *d, dgw_buf *out, size_t max, size_t *avail)
{
    size_t live = dgw_buf_live(out);
    if (live >= max) {
        *avail = 0;
        return DGW_OK;
    }
    size_t want = DGW_INFLATE_CHUNK;
    if (want > max - live)
        want = max - live;
    if (out->cap - out->len < want) {
        /* Grow geometrically so a 1 MiB READY costs few reallocations. */
        size_t grow = live > want ? live : want;
        if (grow > max - live)
            grow = max - live;
        int r = dgw_buf_reserve(d->mem, out, grow, max);
        if (r != DGW_OK)
            return r == DGW_ERR_NOMEM ? r : DGW_ERR_INFLATE_TOO_LARGE;
    }
    *avail = out->cap - out->len;
    if (*avail > max - live)
        *avail = max - live;
    return DGW_OK;
}

static int inflate_zlib(dgw_decoder *d, const uint8_t *in, size_t n,
                        dgw_buf *out, size_t max, const char **err)
{
    z_stream *z = d->ctx;
    while (d->zhdr_len < 2 && n > 0) {
        d->zhdr[d->zhdr_len++] = *in++;
        n--;
        if (d->zhdr_len == 2) {
            unsigned cmf = d->zhdr[0], flg = d->zhdr[1];
            if ((cmf & 0x0f) != 8 || (cmf >> 4) > 7 ||
                (cmf * 256 + flg) % 31 != 0) {
                *err = "not a zlib stream (bad header)";
                return DGW_ERR_INFLATE;
            }
            if (flg & 0x20) {
                *err = "zlib stream asks for a preset dictionary";
                return DGW_ERR_INFLATE;
            }
        }
    }
    if (n == 0)
        return DGW_OK;
    z->next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        /* avail_in is a uInt: feed huge inputs in slices. */
        size_t slice = n > 1u << 30 ? 1u << 30 : n;
        z->avail_in = (uInt)slice;
        n -= slice;
        for (;;) {
            size_t avail;
            int r = room(d, out, max, &avail);
            if (r != DGW_OK)
                return r;
            /* At the cap, inflate may still have input to take that adds
             * nothing (the sync-flush block): give it one spare byte, and
             * only a byte written there is over the cap. */
            uint8_t spare;
            bool at_cap = avail == 0;
            if (avail > UINT32_MAX)
                avail = UINT32_MAX;
            z->next_out = at_cap ? &spare : out->p + out->len;
            z->avail_out = at_cap ? 1 : (uInt)avail;
            int zr = inflate(z, Z_SYNC_FLUSH);
            if (at_cap && z->avail_out == 0) {
                *err = "zlib-stream payload inflates past max_message_size";
                return DGW_ERR_INFLATE_TOO_LARGE;
            }
            if (!at_cap)
                out->len += avail - z->avail_out;
            if (zr == Z_STREAM_END) {
                *err = "zlib stream ended (zlib-stream never finishes)";
                return DGW_ERR_INFLATE;
            }
            if (zr != Z_OK && zr != Z_BUF_ERROR) {
                *err = z->msg ? z->msg : "corrupt zlib-stream data";
                return zr == Z_MEM_ERROR ? DGW_ERR_NOMEM : DGW_ERR_INFLATE;
            }
            /* Done with this slice once input is gone and inflate did not
             * stop for lack of output room. */
            if (z->avail_in == 0 && z->avail_out > 0)
                break;
        }
        if (n == 0)
            return DGW_OK;
    }
}

#ifdef DGW_HAVE_ZSTD
static int decompress_zstd(dgw_decoder *d, const uint8_t *in, size_t n,
                           dgw_buf *out, size_t max, const char **err)
{
    ZSTD_inBuffer ib = {in, n, 0};
    for (;;) {
        size_t avail;
        int r = room(d, out, max, &avail);
        if (r != DGW_OK)
            return r;
        /* At the cap, as for zlib: only a byte written is over it. */
        uint8_t spare;
        bool at_cap = avail == 0;
        ZSTD_outBuffer ob = {at_cap ? &spare : out->p + out->len,
                             at_cap ? 1 : avail, 0};
        size_t zr = ZSTD_decompressStream(d->ctx, &ob, &ib);
        if (at_cap && ob.pos > 0 && !ZSTD_isError(zr)) {
            *err = "zstd-stream payload decompresses past max_message_size";
            return DGW_ERR_INFLATE_TOO_LARGE;
        }
        if (!at_cap)
            out->len += ob.pos;
        if (ZSTD_isError(zr)) {
            *err = ZSTD_getErrorName(zr);
            return ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation
                       ? DGW_ERR_NOMEM
                       : DGW_ERR_INFLATE;
        }
        if (ib.pos == ib.size && ob.pos < ob.size)
            return DGW_OK;
    }
}
#endif

int dgw_decoder_feed(dgw_decoder *d, const uint8_t *in, size_t n,
                     dgw_buf *out, size_t max, const char **err)
{
    if (n == 0)
        return DGW_OK;
    track_tail(d, in, n);
    d->mid_payload = true;
    d->used = true;
    if (d->kind == DGW_COMPRESS_ZLIB_STREAM)
        return inflate_zlib(d, in, n, out, max, err);
#ifdef DGW_HAVE_ZSTD
    if (d->kind == DGW_COMPRESS_ZSTD_STREAM)
        return decompress_zstd(d, in, n, out, max, err);
#endif
    *err = "no decompressor for this connection";
    return DGW_ERR_UNSUPPORTED;
}

int dgw_decoder_message_end(dgw_decoder *d, dgw_buf *out, size_t max,
                            const char **err)
{
    static const uint8_t suffix[4] = {0x00, 0x00, 0xff, 0xff};
    d->msg_in = 0;
    if (d->kind == DGW_COMPRESS_ZLIB_STREAM) {
        /* A message that does not end with the sync-flush marker is the
         * first part of a payload that the next message completes (what
         * Discord's docs and discord.js do): keep going. The tail spans
         * messages, so even a suffix split across two messages counts. */
        if (!d->mid_payload)
            return 0;
        if (memcmp(d->tail, suffix, 4) != 0)
            return 0;
        memset(d->tail, 0xAA, 4);
        d->mid_payload = false;
        return 1;
    }
#ifdef DGW_HAVE_ZSTD
    if (d->kind == DGW_COMPRESS_ZSTD_STREAM) {
        /* Each message is a flush point: drain what zstd still holds. */
        int r = decompress_zstd(d, NULL, 0, out, max, err);
        if (r != DGW_OK)
            return r;
        d->mid_payload = false;
        return 1;
    }
#else
    (void)out;
    (void)max;
    (void)err;
#endif
    d->mid_payload = false;
    return 1;
}
