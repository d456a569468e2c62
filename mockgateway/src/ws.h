/* Server-side WebSocket framing: the send path the scenarios shape byte by
 * byte; and the two rules the frame gate in front of wslay applies to what
 * the client sends (header checks, a rate of frames). wslay parses the rest
 * (see conn_ws.c). */
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
/* Writes that header into h (room for MG_WS_MAX_HEADER bytes); returns its
 * length, which is mg_ws_header_len(len). */
#define MG_WS_MAX_HEADER 10
size_t mg_ws_header(uint8_t *h, int fin, int opcode, uint64_t len);
static inline size_t mg_ws_header_len(uint64_t len) { return len < 126 ? 2 : len <= 0xffff ? 4 : 10; }
/* Appends a complete unmasked frame. */
int mg_ws_frame(mg_buf *out, int fin, int opcode, const void *data, size_t len);

/* Encodes one message of `opcode` as frames cut by frame_splits, with an
 * optional ping frame (ping_len < 0: none) after the first fragment. */
int mg_ws_encode_message(mg_buf *out, int opcode, const uint8_t *data, size_t len,
                         const mg_splits *frame_splits, const uint8_t *ping, long ping_len);

/* A client frame's header, as the gate in front of wslay reads it. */
typedef struct mg_ws_head {
    int fin, opcode, masked;
    size_t header_len; /* 2..14 bytes */
    uint64_t payload_len;
} mg_ws_head;

/* Parses the frame header at buf[0..len). Returns 1 and fills h; 0 when
 * more bytes are needed; -1 (why set) for a header no payload can make
 * valid: a control frame fragmented or over 125 bytes, a length not in its
 * shortest form or with the top bit set, a close frame with a 1-byte
 * payload (RFC 6455 5.2, 5.5, 5.5.1). Masking, RSV bits, opcodes and frame
 * order are left to wslay. */
int mg_ws_parse_client_head(const uint8_t *buf, size_t len, mg_ws_head *h, const char **why);

/* Frame credits: a token bucket over every frame a client sends. */
typedef struct mg_ws_credit {
    uint64_t milli; /* thousandths of a frame */
    uint64_t at_ms; /* last refill */
    uint32_t burst, rate_per_s;
} mg_ws_credit;

/* Starts full: burst frames at once, then rate_per_s. */
void mg_ws_credit_init(mg_ws_credit *cr, uint32_t burst, uint32_t rate_per_s, uint64_t now_ms);
/* Takes one frame's credit at now_ms; returns 0 when there is none. */
int mg_ws_credit_take(mg_ws_credit *cr, uint64_t now_ms);

#endif
