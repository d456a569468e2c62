/* ws.c - WebSocket frames, client side, on wslay's frame API.
 *
 * wslay parses frame headers and hands us payload chunks straight from its
 * 4 KiB input buffer; we do the rest of RFC 6455's receive rules here (mask,
 * RSV bits, opcodes, fragmentation, control frames, UTF-8, size caps) so
 * that every violation gets its own error message, and payload bytes go to
 * the decompressor or the message buffer without another copy. We use the
 * frame API rather than wslay's event API because the event API allocates a
 * buffer per message with malloc; here every byte goes through the
 * connection's allocator and caps. */
#include <string.h>

#include "conn.h"

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    dgw_conn *c = user;
    size_t n = len < c->in_len ? len : c->in_len;
    if (n == 0)
        return 0; /* wslay turns this into WSLAY_ERR_WANT_READ */
    memcpy(buf, c->in, n);
    c->in += n;
    c->in_len -= n;
    return (ssize_t)n;
}

/* Output the caller has not written yet. A server that floods pings at a
 * caller that stopped writing must not grow it without end. */
#define DGW_OUT_MAX (1u << 20)

static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    dgw_conn *c = user;
    if (dgw_buf_append(&c->mem, &c->out, data, len, DGW_OUT_MAX) != DGW_OK)
        return -1;
    return (ssize_t)len;
}

static int genmask_cb(uint8_t *buf, size_t len, void *user)
{
    dgw_conn *c = user;
    c->cfg.random(c->cfg.random_user, buf, len);
    return 0;
}

int dgw_ws_open(dgw_conn *c)
{
    static const struct wslay_frame_callbacks cbs = {send_cb, recv_cb,
                                                     genmask_cb};
    dgw_ws_close_ctx(c);
    memset(&c->rx, 0, sizeof c->rx);
    if (wslay_frame_context_init(&c->wsf, &cbs, c) != 0) {
        c->wsf = NULL;
        return DGW_ERR_NOMEM;
    }
    return DGW_OK;
}

void dgw_ws_close_ctx(dgw_conn *c)
{
    if (c->wsf) {
        wslay_frame_context_free(c->wsf);
        c->wsf = NULL;
    }
}

dgw_err dgw_ws_send(dgw_conn *c, uint8_t opcode, const void *data, size_t n)
{
    struct wslay_frame_iocb io = {
        .fin = 1,
        .rsv = 0,
        .opcode = opcode,
        .payload_length = n,
        .mask = 1,
        .data = data,
        .data_length = n,
    };
    if (!c->wsf)
        return DGW_ERR_STATE;
    ssize_t r = wslay_frame_send(c->wsf, &io);
    /* send_cb takes everything it can hold, so anything short means the
     * output is full or memory ran out; the frame context is then mid-frame
     * and the connection must end. */
    if (r < 0 || (size_t)r != n)
        return dgw_fail(c, DGW_ERR_NOMEM, 0,
                        "cannot queue output (out of memory, or over 1 MiB "
                        "unwritten: is the caller writing?)",
                        NULL);
    return DGW_OK;
}

dgw_err dgw_ws_send_close(dgw_conn *c, uint16_t code, const char *reason,
                          size_t reason_len)
{
    uint8_t p[125];
    size_t n = 0;
    if (code != 0 && code != 1005) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        if (reason_len > sizeof p - 2)
            reason_len = sizeof p - 2;
        if (reason_len)
            memcpy(p + 2, reason, reason_len);
        n += reason_len;
    }
    c->close_sent = true;
    return dgw_ws_send(c, WSLAY_CONNECTION_CLOSE, p, n);
}

/* RFC 6455 7.4: codes a peer may put on the wire. */
static bool close_code_valid(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

static dgw_err on_control(dgw_conn *c)
{
    dgw_ws_rx *rx = &c->rx;
    switch (rx->frame_op) {
    case WSLAY_PING:
        if (c->close_sent)
            return DGW_OK;
        return dgw_ws_send(c, WSLAY_PONG, rx->ctrl, rx->ctrl_len);
    case WSLAY_PONG:
        return DGW_OK; /* we never ping; unsolicited pongs are allowed */
    default:
        break;
    }
    /* A close frame. */
    uint16_t code = 1005;
    const char *reason = "";
    size_t reason_len = 0;
    if (rx->ctrl_len == 1)
        return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                        "close frame with a 1-byte payload", NULL);
    if (rx->ctrl_len >= 2) {
        code = (uint16_t)(rx->ctrl[0] << 8 | rx->ctrl[1]);
        if (!close_code_valid(code))
            return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                            "close frame with an invalid status code", NULL);
        reason = (const char *)rx->ctrl + 2;
        reason_len = rx->ctrl_len - 2u;
        dgw_utf8 u;
        dgw_utf8_init(&u);
        if (!dgw_utf8_feed(&u, (const uint8_t *)reason, reason_len) ||
            !dgw_utf8_complete(&u))
            return dgw_fail(c, DGW_ERR_WS_UTF8, 1007,
                            "close reason is not valid UTF-8", NULL);
    }
    c->close_received = true;
    bool we_started = c->close_sent;
    if (!we_started) {
        c->closed_by_server = true;
        c->close_code = code;
        memcpy(c->close_reason, reason, reason_len);
        c->close_reason_len = reason_len;
        /* Echo the code, as RFC 6455 5.5.1 suggests; a failure to queue it
         * has already failed the connection. */
        if (dgw_ws_send_close(c, code, NULL, 0) != DGW_OK)
            return DGW_ERR_NOMEM;
    }
    dgw_finish_close(c, c->close_err);
    return DGW_OK;
}

static dgw_err on_message_end(dgw_conn *c)
{
    dgw_ws_rx *rx = &c->rx;
    rx->in_message = false;
    bool plain = rx->msg_op == WSLAY_TEXT_FRAME ||
                 c->cfg.compress == DGW_COMPRESS_NONE;
    if (rx->msg_op == WSLAY_TEXT_FRAME && !dgw_utf8_complete(&rx->utf8))
        return dgw_fail(c, DGW_ERR_WS_UTF8, 1007,
                        "text message ends inside a UTF-8 sequence", NULL);
    if (!plain) {
        const char *why = NULL;
        int r = dgw_decoder_message_end(&c->dec, &c->msg,
                                        c->cfg.max_message_size, &why);
        if (r < 0)
            return dgw_fail(c, (dgw_err)r, 1007, "decompression failed: ", why);
        if (r == 0)
            return DGW_OK; /* the payload continues in the next message */
    }
    /* An empty message never allocated the buffer: no pointer arithmetic
     * on NULL. */
    const char *payload = c->msg.p ? (const char *)c->msg.p + c->msg.off : "";
    dgw_err e = dgw_gw_payload(c, payload, dgw_buf_live(&c->msg));
    if (c->ev_count == 0)
        dgw_buf_reset(&c->mem, &c->msg, DGW_KEEP_CAP);
    else
        c->msg_busy = true;
    return e;
}

static dgw_err on_data(dgw_conn *c, const uint8_t *p, size_t n)
{
    dgw_ws_rx *rx = &c->rx;
    if (rx->msg_op == WSLAY_TEXT_FRAME) {
        if (!dgw_utf8_feed(&rx->utf8, p, n))
            return dgw_fail(c, DGW_ERR_WS_UTF8, 1007,
                            "text message is not valid UTF-8", NULL);
    }
    if (rx->msg_op == WSLAY_TEXT_FRAME || c->cfg.compress == DGW_COMPRESS_NONE) {
        if (dgw_buf_append(&c->mem, &c->msg, p, n, c->cfg.max_message_size) !=
            DGW_OK)
            return dgw_fail(c, dgw_buf_live(&c->msg) + n > c->cfg.max_message_size
                                   ? DGW_ERR_WS_TOO_LARGE
                                   : DGW_ERR_NOMEM,
                            1009, "message larger than max_message_size", NULL);
        return DGW_OK;
    }
    const char *why = NULL;
    int r = dgw_decoder_feed(&c->dec, p, n, &c->msg, c->cfg.max_message_size,
                             &why);
    if (r != DGW_OK)
        return dgw_fail(c, (dgw_err)r,
                        r == DGW_ERR_INFLATE_TOO_LARGE ? 1009 : 1007,
                        "decompression failed: ", why);
    return DGW_OK;
}

/* Judges a frame header the first time a frame shows up: wslay's frame API
 * returns a header together with the frame's first payload byte (or alone
 * for an empty frame), so an oversized or masked frame is refused then,
 * before any of its payload is kept. */
static dgw_err on_frame_start(dgw_conn *c, const struct wslay_frame_iocb *io)
{
    dgw_ws_rx *rx = &c->rx;
    if (io->mask)
        return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                        "server sent a masked frame", NULL);
    if (io->rsv)
        return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                        "frame has reserved bits set (no extension was "
                        "negotiated)", NULL);
    rx->in_frame = true;
    rx->frame_left = io->payload_length;
    rx->frame_op = io->opcode;
    rx->frame_fin = io->fin;
    switch (io->opcode) {
    case WSLAY_PING:
    case WSLAY_PONG:
    case WSLAY_CONNECTION_CLOSE:
        rx->ctrl_len = 0; /* wslay already refused >125 bytes and !fin */
        return DGW_OK;
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
        if (rx->in_message)
            return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                            "new data frame inside a fragmented message",
                            NULL);
        if (io->opcode == WSLAY_TEXT_FRAME && c->dec.mid_payload)
            return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                            "text message inside a compressed payload", NULL);
        rx->in_message = true;
        rx->msg_op = io->opcode;
        rx->msg_size = 0;
        dgw_utf8_init(&rx->utf8);
        break;
    case WSLAY_CONTINUATION_FRAME:
        if (!rx->in_message)
            return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                            "continuation frame without a message to continue",
                            NULL);
        break;
    default:
        return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                        "frame with an unknown opcode", NULL);
    }
    if (io->payload_length > c->cfg.max_message_size - rx->msg_size)
        return dgw_fail(c, DGW_ERR_WS_TOO_LARGE, 1009,
                        "frame length beyond max_message_size", NULL);
    rx->msg_size += io->payload_length;
    return DGW_OK;
}

static bool reading(const dgw_conn *c)
{
    return c->state >= DGW_STATE_WAIT_HELLO && c->state <= DGW_STATE_CLOSING &&
           c->wsf && c->ev_count == 0;
}

dgw_err dgw_ws_pump(dgw_conn *c)
{
    while (reading(c)) {
        struct wslay_frame_iocb io;
        ssize_t r = wslay_frame_recv(c->wsf, &io);
        if (r == WSLAY_ERR_WANT_READ)
            return DGW_OK;
        if (r < 0)
            return dgw_fail(c, DGW_ERR_WS_PROTOCOL, 1002,
                            "malformed frame header (control frame over 125 "
                            "bytes or fragmented, or a non-minimal length)",
                            NULL);
        dgw_ws_rx *rx = &c->rx;
        dgw_err e;
        if (!rx->in_frame && (e = on_frame_start(c, &io)) != DGW_OK)
            return e;
        rx->frame_left -= io.data_length;
        if (wslay_is_ctrl_frame(rx->frame_op)) {
            memcpy(rx->ctrl + rx->ctrl_len, io.data, io.data_length);
            rx->ctrl_len = (uint8_t)(rx->ctrl_len + io.data_length);
        } else if (io.data_length &&
                   (e = on_data(c, io.data, io.data_length)) != DGW_OK) {
            return e;
        }
        if (rx->frame_left > 0)
            continue;
        rx->in_frame = false;
        if (wslay_is_ctrl_frame(rx->frame_op))
            e = on_control(c);
        else if (rx->frame_fin)
            e = on_message_end(c);
        else
            e = DGW_OK;
        if (e != DGW_OK)
            return e;
    }
    return DGW_OK;
}
