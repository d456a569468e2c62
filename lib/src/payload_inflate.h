/* payload_inflate.h - one whole zlib stream in, its bytes out: payload
 * compression ("compress": true in IDENTIFY) and ETF's compressed terms.
 *
 * With payload compression a binary WebSocket message is one complete zlib
 * stream (RFC 1950: header, deflate data, Adler-32), with no context shared
 * between messages; a text message is plain JSON. Unlike zlib-stream
 * (decompress.h) the stream must end exactly where the message ends, so a
 * short or padded message is an error, not "more to come". The z_stream is
 * made on first use and reset, not freed, between messages. */
#ifndef DGW_PAYLOAD_INFLATE_H
#define DGW_PAYLOAD_INFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct dgw_payload_inflater {
    dgw_mem *mem;
    void *z;    /* z_stream*, NULL until the first message */
    bool used;  /* z has seen a message since its last reset */
} dgw_payload_inflater;

/* No allocation until the first dgw_payload_inflate(). */
void dgw_payload_inflater_init(dgw_payload_inflater *pi, dgw_mem *m);

/* Inflates the zlib stream [in, in+n) and appends its bytes to out, keeping
 * at most max live bytes in out. On failure out is as it was and *why says
 * what was wrong. Returns
 *   DGW_OK
 *   DGW_ERR_INFLATE_TRUNCATED  the stream stops before its end (the input ran
 *                              out, or was empty)
 *   DGW_ERR_INFLATE            not a zlib stream, corrupt data, a wrong
 *                              Adler-32, a preset dictionary, or bytes after
 *                              the end of the stream
 *   DGW_ERR_INFLATE_TOO_LARGE  the output would pass max
 *   DGW_ERR_NOMEM */
int dgw_payload_inflate(dgw_payload_inflater *pi, const uint8_t *in, size_t n,
                        dgw_buf *out, size_t max, const char **why);

void dgw_payload_inflater_free(dgw_payload_inflater *pi);

#endif
