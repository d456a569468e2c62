/* The other wire forms a connection can use besides JSON text frames:
 * encoding=etf both ways, and payload compression (a payload sent as one
 * whole zlib stream). Both go through libdgw's codecs (lib/src/etf.h,
 * payload_inflate.h), which are bounded against hostile bytes and checked
 * against Erlang itself (tests/test_etf.c). */
#ifndef MG_ENCODING_H
#define MG_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* How a payload is compressed on its own (payload compression). */
typedef enum mg_zpayload {
    MG_ZPAYLOAD_NONE = 0,
    MG_ZPAYLOAD_WHOLE,     /* one whole zlib stream */
    MG_ZPAYLOAD_TRUNCATED, /* the stream without its last 3 bytes */
    MG_ZPAYLOAD_TRAILING   /* the stream, then 2 bytes of junk */
} mg_zpayload;

/* The JSON text of a payload as ETF, as Discord writes it (atom keys,
 * snowflakes as integers), appended to out. A text that is not JSON (a
 * scenario sends broken payloads on purpose) is appended as it is, so
 * the client still gets bytes it must refuse. Returns 0 or -1 (memory). */
int mg_json_to_etf(const char *json, size_t n, mg_buf *out);

/* One ETF message from a client, as JSON text appended to out (at most
 * max bytes). Returns 0, or -1 with *why saying what is wrong. */
int mg_etf_to_json(const uint8_t *in, size_t n, size_t max, mg_buf *out, const char **why);

/* bytes as one zlib stream (and spoiled as z asks), appended to out.
 * Returns 0 or -1. */
int mg_zlib_payload(const uint8_t *in, size_t n, mg_zpayload z, mg_buf *out);

#endif
