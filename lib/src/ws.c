/* ws.c - WebSocket messages, client side (RFC 6455 sections 5 and 7). */
#include "ws.h"

#include <string.h>

#include "mutant.h"

void dgw_ws_init(dgw_ws *ws, dgw_mem *mem, dgw_buf *msg, dgw_decoder *dec,
                 size_t max_message, dgw_compress compress)
{
    memset(ws, 0, sizeof *ws);
    ws->mem = mem;
    ws->msg = msg;
    ws->dec = dec;
    ws->max_message = max_message;
    ws->compress = compress;
    dgw_ws_reset(ws);
}

void dgw_ws_reset(dgw_ws *ws)
{
    dgw_frame_reader_init(&ws->fr);
    ws->in_message = false;
    ws->msg_size = 0;
    ws->ctrl_len = 0;
}

static size_t fail(dgw_ws_result *res, size_t used, dgw_err err,
                   uint16_t ws_code, const char *why, const char *why2)
{
    res->kind = DGW_WS_ERROR;
    res->err = err;
    res->ws_code = ws_code;
    res->why = why;
    res->why2 = why2;
    return used;
}

/* Plain bytes go to the message buffer as they are; with transport
 * compression, binary messages are inflated on arrival. Text messages are
 * always plain (what servers send when compression does not pay). */
static bool is_plain(const dgw_ws *ws)
{
    return ws->msg_op == DGW_OP_TEXT || ws->compress == DGW_COMPRESS_NONE;
}

/* A new frame's header: judge it against the open message. */
static const char *on_header(dgw_ws *ws, dgw_err *err, uint16_t *code)
{
    const dgw_frame_reader *fr = &ws->fr;
    *err = DGW_ERR_WS_PROTOCOL;
    *code = 1002;
    if (dgw_op_is_control(fr->opcode)) {
        ws->ctrl_len = 0;
        if (DGW_MUTANT(M_PING_ENDS_MESSAGE) && fr->opcode == DGW_OP_PING)
            ws->in_message = false;
        return NULL;
    }
    if (fr->opcode == DGW_OP_CONTINUATION) {
        if (!ws->in_message)
            return "continuation frame without a message to continue";
    } else {
        if (ws->in_message)
            return "new data frame inside a fragmented message";
        if (fr->opcode == DGW_OP_TEXT && ws->dec->mid_payload)
            return "text message inside a compressed payload";
        ws->in_message = true;
        ws->msg_op = fr->opcode;
        ws->msg_size = 0;
    }
    if (fr->length > ws->max_message - ws->msg_size) {
        *err = DGW_ERR_WS_TOO_LARGE;
        *code = 1009;
        return "frame length beyond max_message_size";
    }
    ws->msg_size += fr->length;
    /* The frame header gives the exact size of a plain message's next
     * bytes: reserve them once instead of growing as they come. */
    if (is_plain(ws) && fr->length > 0 &&
        dgw_buf_reserve(ws->mem, ws->msg, (size_t)fr->length,
                        ws->max_message) != DGW_OK) {
        *err = DGW_ERR_NOMEM;
        *code = 1011;
        return "out of memory for the message";
    }
    return NULL;
}

/* A text message's UTF-8 is not checked here: the payload scan (json.h)
 * checks it with the JSON grammar in the same read of the bytes, when the
 * message ends (RFC 6455 8.1 lets a client fail it then). */
static size_t on_data(dgw_ws *ws, const uint8_t *p, size_t n,
                      dgw_ws_result *res, size_t used)
{
    if (is_plain(ws)) {
        int r = dgw_buf_append(ws->mem, ws->msg, p, n, ws->max_message);
        if (r != DGW_OK)
            return fail(res, used, r == DGW_ERR_NOMEM ? DGW_ERR_NOMEM
                                                      : DGW_ERR_WS_TOO_LARGE,
                        r == DGW_ERR_NOMEM ? 1011 : 1009,
                        "message larger than max_message_size", NULL);
        return used;
    }
    const char *why = NULL;
    int r = dgw_decoder_feed(ws->dec, p, n, ws->msg, ws->max_message, &why);
    if (r != DGW_OK)
        return fail(res, used, (dgw_err)r,
                    r == DGW_ERR_INFLATE_TOO_LARGE ? 1009
                    : r == DGW_ERR_NOMEM           ? 1011
                                                   : 1007,
                    "decompression failed: ", why);
    return used;
}

/* The last frame of a data message is in. */
static size_t on_message_end(dgw_ws *ws, dgw_ws_result *res, size_t used)
{
    ws->in_message = false;
    if (!is_plain(ws)) {
        const char *why = NULL;
        int r = dgw_decoder_message_end(ws->dec, ws->msg, ws->max_message,
                                        &why);
        if (r < 0)
            return fail(res, used, (dgw_err)r,
                        r == DGW_ERR_INFLATE_TOO_LARGE ? 1009 : 1007,
                        "decompression failed: ", why);
        if (r == 0 && !DGW_MUTANT(M_MESSAGE_IS_PAYLOAD))
            return used; /* the payload continues in the next message */
    }
    res->kind = DGW_WS_MESSAGE;
    return used;
}

/* RFC 6455 7.4: the codes a peer may put on the wire. */
static bool close_code_valid(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

static size_t on_control(dgw_ws *ws, dgw_ws_result *res, size_t used)
{
    res->ctrl = ws->ctrl;
    res->ctrl_len = ws->ctrl_len;
    switch (ws->fr.opcode) {
    case DGW_OP_PING:
        res->kind = DGW_WS_PING;
        return used;
    case DGW_OP_PONG:
        res->kind = DGW_WS_PONG;
        return used;
    default:
        break;
    }
    res->close_code = 1005;
    res->ctrl_len = 0;
    if (ws->ctrl_len == 1)
        return fail(res, used, DGW_ERR_WS_PROTOCOL, 1002,
                    "close frame with a 1-byte payload", NULL);
    if (ws->ctrl_len >= 2) {
        uint16_t code = (uint16_t)(ws->ctrl[0] << 8 | ws->ctrl[1]);
        if (!close_code_valid(code))
            return fail(res, used, DGW_ERR_WS_PROTOCOL, 1002,
                        "close frame with an invalid status code", NULL);
        if (!dgw_utf8_valid(ws->ctrl + 2, ws->ctrl_len - 2u))
            return fail(res, used, DGW_ERR_WS_UTF8, 1007,
                        "close reason is not valid UTF-8", NULL);
        res->close_code = code;
        res->ctrl = ws->ctrl + 2;
        res->ctrl_len = ws->ctrl_len - 2u;
    }
    res->kind = DGW_WS_CLOSE;
    return used;
}

size_t dgw_ws_read(dgw_ws *ws, const uint8_t *in, size_t n,
                   dgw_ws_result *res)
{
    memset(res, 0, sizeof *res);
    size_t used = 0;
    while (used < n) {
        dgw_frame_step st;
        used += dgw_frame_read(&ws->fr, in + used, n - used, &st);
        switch (st.kind) {
        case DGW_FRAME_MORE:
            continue;
        case DGW_FRAME_ERROR:
            return fail(res, used, DGW_ERR_WS_PROTOCOL, 1002, st.why, NULL);
        case DGW_FRAME_HEADER: {
            dgw_err err;
            uint16_t code;
            const char *why = on_header(ws, &err, &code);
            if (why)
                return fail(res, used, err, code, why, NULL);
            /* An empty frame has no payload bytes to wait for. */
            if (ws->fr.length == 0)
                used += dgw_frame_read(&ws->fr, in + used, 0, &st);
            else
                continue;
            break;
        }
        case DGW_FRAME_PAYLOAD:
            break;
        }
        /* A payload slice (maybe empty), possibly the frame's last. */
        if (dgw_op_is_control(ws->fr.opcode)) {
            memcpy(ws->ctrl + ws->ctrl_len, st.data, st.len);
            ws->ctrl_len = (uint8_t)(ws->ctrl_len + st.len);
            if (st.end)
                return on_control(ws, res, used);
            continue;
        }
        if (st.len) {
            on_data(ws, st.data, st.len, res, used);
            if (res->kind == DGW_WS_ERROR)
                return used;
        }
        if (st.end && ws->fr.fin) {
            on_message_end(ws, res, used);
            if (res->kind != DGW_WS_NONE)
                return used;
        }
    }
    return used;
}
