/* frame.h - RFC 6455 frames, client side.
 *
 * The reader parses frame headers itself and hands payload bytes back as
 * slices of the caller's input: nothing is buffered but a partial header
 * (at most 14 bytes). So a byte the reader reports consumed has been
 * decoded, which is what lets dgw_conn_recv() promise the same to its
 * caller. (wslay's frame API, used before, copies input into a hidden
 * 4 KiB buffer of its own: bytes could be "consumed" and never decoded.)
 *
 * The writer builds one masked frame into a dgw_buf, all or nothing. */
#ifndef DGW_FRAME_H
#define DGW_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
    DGW_OP_CONTINUATION = 0x0,
    DGW_OP_TEXT = 0x1,
    DGW_OP_BINARY = 0x2,
    DGW_OP_CLOSE = 0x8,
    DGW_OP_PING = 0x9,
    DGW_OP_PONG = 0xA
};

static inline bool dgw_op_is_control(uint8_t op) { return op >= 0x8; }

typedef struct dgw_frame_reader {
    uint8_t hdr[14];
    uint8_t have;        /* header bytes collected */
    bool in_payload;     /* the header is done; payload bytes are due */
    uint8_t opcode;
    bool fin;
    uint64_t length;     /* the frame's payload length */
    uint64_t left;       /* payload bytes still due */
} dgw_frame_reader;

typedef enum dgw_frame_step_kind {
    DGW_FRAME_MORE,      /* input used up inside a header */
    DGW_FRAME_HEADER,    /* a header is complete: opcode, fin, length */
    DGW_FRAME_PAYLOAD,   /* data/len: payload bytes; end: the frame is done */
    DGW_FRAME_ERROR      /* why: the header breaks RFC 6455 */
} dgw_frame_step_kind;

typedef struct dgw_frame_step {
    dgw_frame_step_kind kind;
    const uint8_t *data;
    size_t len;
    bool end;
    const char *why;
} dgw_frame_step;

static inline void dgw_frame_reader_init(dgw_frame_reader *r)
{
    r->have = 0;
    r->in_payload = false;
}

/* Takes the next step from in[0..n) and returns how many bytes it used.
 * A header is reported once (DGW_FRAME_HEADER, no bytes of payload); then
 * its payload comes as DGW_FRAME_PAYLOAD slices, the last with end set (an
 * empty frame gives one empty slice with end set). Checks what a client
 * must refuse from a server: a mask, RSV bits, unknown opcodes, control
 * frames over 125 bytes or fragmented, non-minimal or 2^63+ lengths. */
size_t dgw_frame_read(dgw_frame_reader *r, const uint8_t *in, size_t n,
                      dgw_frame_step *step);

/* True between frames: no header or payload is half read. */
static inline bool dgw_frame_between(const dgw_frame_reader *r)
{
    return !r->in_payload && r->have == 0;
}

/* Appends one final (FIN) frame with this opcode, masked with `mask`,
 * keeping the buffer's live bytes at or under max. Nothing is appended on
 * failure: DGW_ERR_NOMEM, or DGW_ERR_WS_TOO_LARGE when max would be
 * passed. */
int dgw_frame_write(dgw_mem *m, dgw_buf *out, size_t max, uint8_t opcode,
                    const void *data, size_t n, const uint8_t mask[4]);

#endif
