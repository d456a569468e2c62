/* ws.h - WebSocket messages from frames: RFC 6455's receive rules on top
 * of frame.c (fragmentation, control frames, UTF-8, size caps, close frame
 * contents), with compressed payload bytes going straight to the
 * decompressor and plain ones to the message buffer.
 *
 * A leaf: it reads bytes and says what they were (a message, a ping, a
 * close, an error). It sends nothing and changes no connection state;
 * conn.c decides what each result means. */
#ifndef DGW_WS_H
#define DGW_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "decompress.h"
#include "dgw.h"
#include "frame.h"
#include "utf8.h"

typedef struct dgw_ws {
    dgw_frame_reader fr;
    /* where messages go (set once by dgw_ws_init) */
    dgw_mem *mem;
    dgw_buf *msg;
    dgw_decoder *dec;
    size_t max_message;
    dgw_compress compress;
    /* the message being assembled */
    bool in_message;
    uint8_t msg_op;      /* DGW_OP_TEXT or DGW_OP_BINARY */
    uint64_t msg_size;   /* wire bytes of the message so far */
    dgw_utf8 utf8;
    /* the control frame being read */
    uint8_t ctrl[125];
    uint8_t ctrl_len;
} dgw_ws;

typedef enum dgw_ws_kind {
    DGW_WS_NONE,     /* input used up; nothing complete yet */
    DGW_WS_MESSAGE,  /* a whole payload is in *msg */
    DGW_WS_PING,     /* ctrl: the payload to echo */
    DGW_WS_PONG,
    DGW_WS_CLOSE,    /* close_code (1005: none given), ctrl: the reason */
    DGW_WS_ERROR     /* err, ws_code to close with, why (+ why2) */
} dgw_ws_kind;

typedef struct dgw_ws_result {
    dgw_ws_kind kind;
    const uint8_t *ctrl;
    size_t ctrl_len;
    uint16_t close_code;
    dgw_err err;
    uint16_t ws_code;
    const char *why, *why2;
} dgw_ws_result;

void dgw_ws_init(dgw_ws *ws, dgw_mem *mem, dgw_buf *msg, dgw_decoder *dec,
                 size_t max_message, dgw_compress compress);
/* Forgets any half-read frame or message (a new connection). */
void dgw_ws_reset(dgw_ws *ws);

/* Reads in[0..n) up to and including the first complete message, control
 * frame or error, and returns how many bytes that took: every byte it
 * reports used is decoded. After DGW_WS_ERROR the reader must not be used
 * again until dgw_ws_reset(). */
size_t dgw_ws_read(dgw_ws *ws, const uint8_t *in, size_t n,
                   dgw_ws_result *res);

/* True while a message or frame is half read (an EOF now is a truncation). */
static inline bool dgw_ws_mid_message(const dgw_ws *ws)
{
    return ws->in_message || !dgw_frame_between(&ws->fr);
}

#endif
