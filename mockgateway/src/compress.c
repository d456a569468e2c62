#include "compress.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>
#ifdef MG_HAVE_ZSTD
#include <zstd.h>
#endif

struct mg_compressor {
    mg_compress_kind kind;
    z_stream z;
    int spliced; /* zlib: parts were spliced in since the last payload */
#ifdef MG_HAVE_ZSTD
    ZSTD_CStream *zs;
#endif
};

int mg_compress_zstd_available(void)
{
#ifdef MG_HAVE_ZSTD
    return 1;
#else
    return 0;
#endif
}

mg_compressor *mg_compressor_new(mg_compress_kind kind)
{
    mg_compressor *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = kind;
    if (kind == MG_COMPRESS_ZLIB) {
        /* windowBits 15 with a zlib header (RFC 1950), like Discord; memLevel 8. */
        if (deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(c);
            return NULL;
        }
        return c;
    }
#ifdef MG_HAVE_ZSTD
    if (kind == MG_COMPRESS_ZSTD) {
        c->zs = ZSTD_createCStream();
        if (!c->zs) {
            free(c);
            return NULL;
        }
        ZSTD_CCtx_setParameter(c->zs, ZSTD_c_compressionLevel, 3);
        return c;
    }
#endif
    free(c);
    return NULL;
}

/* Runs deflate over z's input with flush until it is all out, appending to
 * out. */
static int deflate_all(z_stream *z, int flush, mg_buf *out)
{
    unsigned char chunk[16384];
    do {
        z->next_out = chunk;
        z->avail_out = sizeof chunk;
        int rc = deflate(z, flush);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
        if (mg_buf_append(out, chunk, sizeof chunk - z->avail_out) != 0)
            return -1;
    } while (z->avail_out == 0 || z->avail_in > 0);
    return 0;
}

static int zlib_payload(mg_compressor *c, const void *in, size_t n, mg_buf *out)
{
    if (c->spliced) {
        /* The client's window now holds spliced bytes the compressor never
         * saw: a full flush (an empty stored block) makes what follows
         * refer to nothing before it. */
        c->z.next_in = NULL;
        c->z.avail_in = 0;
        if (deflate_all(&c->z, Z_FULL_FLUSH, out) != 0)
            return -1;
        c->spliced = 0;
    }
    c->z.next_in = (Bytef *)(uintptr_t)in;
    c->z.avail_in = (uInt)n;
    return deflate_all(&c->z, Z_SYNC_FLUSH, out);
}

struct mg_part_deflater {
    z_stream z;
};

mg_part_deflater *mg_part_deflater_new(void)
{
    mg_part_deflater *p = calloc(1, sizeof *p);
    if (p && deflateInit2(&p->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(p);
        return NULL;
    }
    return p;
}

int mg_part_deflate(mg_part_deflater *p, const void *in, size_t n, mg_buf *out)
{
    if (n > 0xffffffffu || deflateReset(&p->z) != Z_OK)
        return -1;
    p->z.next_in = (Bytef *)(uintptr_t)in;
    p->z.avail_in = (uInt)n;
    return deflate_all(&p->z, Z_SYNC_FLUSH, out);
}

void mg_part_deflater_free(mg_part_deflater *p)
{
    if (!p)
        return;
    deflateEnd(&p->z);
    free(p);
}

int mg_compressor_can_splice(const mg_compressor *c)
{
    /* total_out > 0: the zlib header is out, and every payload so far
     * ended on a byte boundary (its sync flush). */
    return c && c->kind == MG_COMPRESS_ZLIB && c->z.total_out > 0;
}

int mg_compressor_splice(mg_compressor *c, const void *plain, size_t n, const void *part, size_t m, mg_buf *out)
{
    if (!mg_compressor_can_splice(c) || n > 0xffff)
        return -1;
    /* A stored block (RFC 1951 3.2.4): BFINAL 0, BTYPE 00 and the padding
     * to the byte boundary in one byte, then LEN and NLEN little-endian. */
    const uint8_t head[5] = {0, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n, (uint8_t)(~n >> 8)};
    if (mg_buf_append(out, head, sizeof head) != 0 || mg_buf_append(out, plain, n) != 0 ||
        mg_buf_append(out, part, m) != 0)
        return -1;
    c->spliced = 1;
    return 0;
}

#ifdef MG_HAVE_ZSTD
static int zstd_payload(mg_compressor *c, const void *in, size_t n, mg_buf *out)
{
    unsigned char chunk[16384];
    ZSTD_inBuffer ib = {in, n, 0};
    size_t remaining;
    do {
        ZSTD_outBuffer ob = {chunk, sizeof chunk, 0};
        remaining = ZSTD_compressStream2(c->zs, &ob, &ib, ZSTD_e_flush);
        if (ZSTD_isError(remaining))
            return -1;
        if (mg_buf_append(out, chunk, ob.pos) != 0)
            return -1;
    } while (remaining != 0 || ib.pos < ib.size);
    return 0;
}
#endif

int mg_compressor_payload(mg_compressor *c, const void *in, size_t n, mg_buf *out)
{
    if (n > 0xffffffffu)
        return -1;
    if (c->kind == MG_COMPRESS_ZLIB)
        return zlib_payload(c, in, n, out);
#ifdef MG_HAVE_ZSTD
    if (c->kind == MG_COMPRESS_ZSTD)
        return zstd_payload(c, in, n, out);
#endif
    return -1;
}

void mg_compressor_free(mg_compressor *c)
{
    if (!c)
        return;
    if (c->kind == MG_COMPRESS_ZLIB)
        deflateEnd(&c->z);
#ifdef MG_HAVE_ZSTD
    if (c->zs)
        ZSTD_freeCStream(c->zs);
#endif
    free(c);
}
