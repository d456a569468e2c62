#include "compress.h"

#include <stdlib.h>
#include <zlib.h>
#ifdef MG_HAVE_ZSTD
#include <zstd.h>
#endif

struct mg_compressor {
    mg_compress_kind kind;
    z_stream z;
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

static int zlib_payload(mg_compressor *c, const void *in, size_t n, mg_buf *out)
{
    unsigned char chunk[16384];
    c->z.next_in = (Bytef *)(uintptr_t)in;
    c->z.avail_in = (uInt)n;
    do {
        c->z.next_out = chunk;
        c->z.avail_out = sizeof chunk;
        int rc = deflate(&c->z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
        if (mg_buf_append(out, chunk, sizeof chunk - c->z.avail_out) != 0)
            return -1;
    } while (c->z.avail_out == 0 || c->z.avail_in > 0);
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
