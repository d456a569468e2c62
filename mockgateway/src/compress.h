/* Transport compression, server side: one stream per connection, each
 * payload flushed so that it can be decoded on its own boundary. */
#ifndef MG_COMPRESS_H
#define MG_COMPRESS_H

#include <stddef.h>

#include "buf.h"
#include "http.h"

typedef struct mg_compressor mg_compressor;

/* Whether zstd-stream was compiled in. */
int mg_compress_zstd_available(void);

/* Allocates a compressor of kind (not NONE); NULL on error. Allocated only
 * when a client asks for compression, to keep idle connections small. */
mg_compressor *mg_compressor_new(mg_compress_kind kind);
/* Compresses one payload and appends the flushed bytes to out. For zlib the
 * bytes end with 00 00 ff ff. Returns 0 or -1. */
int mg_compressor_payload(mg_compressor *c, const void *in, size_t n, mg_buf *out);
void mg_compressor_free(mg_compressor *c);

/* zlib-stream messages assembled from parts compressed beforehand, for a
 * fast producer (the scenario step "stream"): a message is a part sent
 * stored (not compressed) followed by a part that mg_part_deflate()
 * compressed on its own, ending in 00 00 ff ff like every message. The
 * parts refer to nothing before them, so they can be sent in any order and
 * any number of times; after them the compressor's own history no longer
 * matches the client's, so its next payload starts with a full flush
 * (which forgets that history). */

/* A raw deflate part: in compressed alone (no back-references), flushed to
 * a byte boundary, appended to out. z is a context made by
 * mg_part_deflater_new() and reused. Returns 0 or -1. */
typedef struct mg_part_deflater mg_part_deflater;
mg_part_deflater *mg_part_deflater_new(void);
int mg_part_deflate(mg_part_deflater *z, const void *in, size_t n, mg_buf *out);
void mg_part_deflater_free(mg_part_deflater *z);
/* Whether c can take spliced messages: zlib-stream, its header sent. */
int mg_compressor_can_splice(const mg_compressor *c);
/* Appends one message: plain (at most 65535 bytes) as a stored block, then
 * the mg_part_deflate() output part. Returns 0 or -1. */
int mg_compressor_splice(mg_compressor *c, const void *plain, size_t n, const void *part, size_t m, mg_buf *out);

#endif
