/* decompress.h - transport decompression: zlib-stream and zstd-stream.
 *
 * One context lives for the whole WebSocket connection: each payload's
 * compressed bytes depend on the ones before. Bytes are decompressed as
 * frames arrive, straight into the message buffer, so a compressed message
 * is never buffered whole; the inflated size is capped. */
#ifndef DGW_DECOMPRESS_H
#define DGW_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dgw.h"

typedef struct dgw_decoder {
    dgw_compress kind;
    dgw_mem *mem;
    void *ctx;          /* z_stream* or ZSTD_DCtx* */
    uint8_t tail[4];    /* last bytes of the current WebSocket message */
    size_t msg_in;      /* compressed bytes in the current message */
    bool mid_payload;   /* a payload has started and not ended */
    bool used;          /* the context has seen bytes since its reset */
    uint8_t zhdr[2];    /* zlib-stream: the stream header, read by us */
    uint8_t zhdr_len;
} dgw_decoder;

void dgw_decoder_init(dgw_decoder *d, dgw_mem *m, dgw_compress kind);
/* Makes the context ready for a new connection (creates it the first time).
 * DGW_OK, DGW_ERR_NOMEM or DGW_ERR_UNSUPPORTED. */
int dgw_decoder_reset(dgw_decoder *d);
void dgw_decoder_free(dgw_decoder *d);

/* Decompresses n bytes, appending to out (at most max live bytes).
 * DGW_OK, DGW_ERR_INFLATE, DGW_ERR_INFLATE_TOO_LARGE or DGW_ERR_NOMEM; *err
 * gets a reason on failure. */
int dgw_decoder_feed(dgw_decoder *d, const uint8_t *in, size_t n,
                     dgw_buf *out, size_t max, const char **err);

/* The WebSocket message ended. Returns 1 when `out` now holds a complete
 * payload, 0 when the payload goes on in the next message (zlib-stream
 * without the 00 00 ff ff suffix), or a negative dgw_err. */
int dgw_decoder_message_end(dgw_decoder *d, dgw_buf *out, size_t max,
                            const char **err);

#endif
