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

#endif
