/* Server-side WebSocket framing: the send path the scenarios shape byte by
 * byte (wslay parses what the client sends; see conn.c). */
#ifndef MG_WS_H
#define MG_WS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
    MG_WS_CONT = 0x0,
    MG_WS_TEXT = 0x1,
    MG_WS_BINARY = 0x2,
    MG_WS_CLOSE = 0x8,
    MG_WS_PING = 0x9,
    MG_WS_PONG = 0xa
};

#define MG_MAX_SPLITS 64

/* Where to cut a byte string: explicit positions (negative counts from the
 * end) and/or every `chunk` bytes. Positions out of range are ignored. */
typedef struct mg_splits {
    long pos[MG_MAX_SPLITS];
    size_t npos;
    size_t chunk; /* 0: none */
} mg_splits;

/* Resolves splits for a string of length len into sorted, unique, interior
 * cut points (0 < cut < len). Returns the count written to cuts (<= maxcuts). */
size_t mg_splits_resolve(const mg_splits *s, size_t len, size_t *cuts, size_t maxcuts);

/* Appends an unmasked frame header for a payload of len bytes. */
int mg_ws_frame_header(mg_buf *out, int fin, int opcode, uint64_t len);
/* Appends a complete unmasked frame. */
int mg_ws_frame(mg_buf *out, int fin, int opcode, const void *data, size_t len);

/* Encodes one message of `opcode` as frames cut by frame_splits, with an
 * optional ping frame (ping_len < 0: none) after the first fragment. */
int mg_ws_encode_message(mg_buf *out, int opcode, const uint8_t *data, size_t len,
                         const mg_splits *frame_splits, const uint8_t *ping, long ping_len);

#endif
