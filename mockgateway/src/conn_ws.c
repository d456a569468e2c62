/* wslay behind a frame gate.
 *
 * wslay pulls client bytes through ws_recv_cb; the gate there hands it
 * whole frames only, at most MG_TURN_FRAMES a turn, each paid for with a
 * frame credit, and refuses headers wslay would answer by failing the
 * connection without a close frame. What must happen because of a frame
 * (a close from the gate, or from the app inside a message callback) is
 * recorded in the connection and applied by mg_conn_ws_progress() once
 * wslay_event_recv() has returned: wslay is never entered from inside one
 * of its callbacks (issue 12: a close queued from the message callback
 * re-entered wslay_event_recv and aborted the process). */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "encoding.h"
#include "util.h"

/* Hands wslay whole frames from c->wsin, within this turn's budget. */
static size_t gate_admit(mg_conn *c, uint8_t *buf, size_t len)
{
    const uint8_t *in = mg_buf_head(&c->wsin);
    size_t avail = mg_buf_avail(&c->wsin), given = 0;
    uint64_t now = 0;
    while (given < len && given < avail) {
        if (c->gate_left == 0) {
            if (c->close_code)
                break; /* a decision waits: wslay gets nothing more first */
            if (c->turn_frames >= MG_TURN_FRAMES) {
                c->yielded = 1;
                break;
            }
            mg_ws_head h;
            const char *why = NULL;
            int r = mg_ws_parse_client_head(in + given, avail - given, &h, &why);
            if (r == 0)
                break;
            if (r < 0) {
                MG_INFO(&c->srv->cfg.log, "conn %llu (%s): protocol error: %s", (unsigned long long)c->id, c->peer,
                        why);
                mg_conn_ws_decide_close(c, 1002, why, 1);
                break;
            }
            if (!now)
                now = mg_now_ms();
            if (!mg_ws_credit_take(&c->frames, now)) {
                MG_WARN(&c->srv->cfg.log, "conn %llu (%s): more than %u frames at once or %u/s: closing 1008",
                        (unsigned long long)c->id, c->peer, MG_FRAME_BURST, MG_FRAME_RATE);
                mg_conn_ws_decide_close(c, 1008, "too many frames", 1);
                break;
            }
            c->turn_frames++;
            c->gate_left = h.header_len + h.payload_len;
        }
        size_t n = avail - given < len - given ? avail - given : len - given;
        if (n > c->gate_left)
            n = (size_t)c->gate_left;
        memcpy(buf + given, in + given, n);
        given += n;
        c->gate_left -= n;
    }
    mg_buf_consume(&c->wsin, given);
    return given;
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    size_t n = gate_admit(user, buf, len);
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    if (mg_conn_out_append(user, data, len, 0) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    memset(buf, 0, len); /* unused: servers do not mask */
    return 0;
}

/* A client's ETF message reaches the app as JSON text (still marked
 * binary); one that does not decode is Discord's 4002 decode error. */
static void deliver_etf(mg_conn *c, const uint8_t *p, size_t n)
{
    mg_buf json = {0};
    const char *why = "";
    if (mg_etf_to_json(p, n, MG_MAX_MESSAGE * 4, &json, &why) != 0) {
        MG_INFO(&c->srv->cfg.log, "conn %llu: ETF that does not decode: %s", (unsigned long long)c->id, why);
        mg_conn_close(c, 4002, "Error while decoding payload.");
    } else if (c->srv->ops->on_message) {
        c->srv->ops->on_message(c->srv->app, c, WSLAY_BINARY_FRAME, json.len ? json.data : (const uint8_t *)"",
                                json.len);
    }
    mg_buf_free(&json);
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    (void)ctx;
    mg_conn *c = user;
    mg_server *s = c->srv;
    if (c->dead || !s->ops)
        return;
    switch (arg->opcode) {
    case WSLAY_BINARY_FRAME:
        if (c->etf) {
            deliver_etf(c, arg->msg, arg->msg_length);
            break;
        }
        /* fall through */
    case WSLAY_TEXT_FRAME:
        if (s->ops->on_message)
            s->ops->on_message(s->app, c, arg->opcode, arg->msg, arg->msg_length);
        break;
    case WSLAY_PONG:
        if (s->ops->on_pong)
            s->ops->on_pong(s->app, c, arg->msg, arg->msg_length);
        break;
    case WSLAY_CONNECTION_CLOSE:
        c->code_received = arg->status_code ? arg->status_code : 1005;
        if (s->ops->on_peer_close) {
            size_t rl = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
            s->ops->on_peer_close(s->app, c, c->code_received, rl ? arg->msg + 2 : NULL, rl);
        }
        break;
    default:
        break;
    }
}

static const struct wslay_event_callbacks ws_callbacks = {
    ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL, ws_msg_cb,
};

int mg_conn_ws_open(mg_conn *c)
{
    if (wslay_event_context_server_init(&c->ws, &ws_callbacks, c) != 0)
        return -1;
    wslay_event_config_set_max_recv_msg_length(c->ws, MG_MAX_MESSAGE);
    mg_ws_credit_init(&c->frames, MG_FRAME_BURST, MG_FRAME_RATE, mg_now_ms());
    return 0;
}

void mg_conn_ws_decide_close(mg_conn *c, int code, const char *reason, int fails)
{
    if (c->close_code || c->dead)
        return;
    c->close_code = code;
    c->close_fails = fails;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
}

/* Queues the decided close (outside wslay_event_recv). */
static void apply_decision(mg_conn *c)
{
    int code = c->close_code;
    c->close_code = 0;
    if (!wslay_event_get_close_sent(c->ws)) {
        wslay_event_queue_close(c->ws, (uint16_t)code, (const uint8_t *)c->close_reason, strlen(c->close_reason));
        if (c->state == MG_CONN_WS) {
            c->state = MG_CONN_CLOSING;
            c->deadline_ms = mg_now_ms() + MG_CLOSE_TIMEOUT_MS;
        }
    }
    /* After a broken frame nothing that follows can be parsed: send the
     * close, then FIN and drain, rather than wait for the client's close. */
    if (c->close_fails)
        wslay_event_shutdown_read(c->ws);
}

int mg_conn_ws_progress(mg_conn *c)
{
    if (!c->ws || c->dead || c->in_wslay)
        return 0;
    int moved = 0;
    int reading = c->state == MG_CONN_WS || c->state == MG_CONN_CLOSING;
    /* While output waits over its high-water mark nothing new is parsed:
     * what the client sends (pings) could only add to it. */
    if (reading && !c->close_code && wslay_event_want_read(c->ws) && mg_buf_avail(&c->wsin) > 0 &&
        mg_buf_avail(&c->out) < MG_OUTPUT_HIGH_WATER) {
        size_t before = mg_buf_avail(&c->wsin);
        c->in_wslay = 1;
        int rc = wslay_event_recv(c->ws);
        c->in_wslay = 0;
        moved = mg_buf_avail(&c->wsin) != before;
        if (rc != 0 && !c->dead) {
            mg_conn_abort(c, "WebSocket receive failed (out of memory)");
            return 0;
        }
    }
    if (c->dead)
        return 0;
    if (c->close_code) {
        apply_decision(c);
        moved = 1;
    }
    if (wslay_event_want_write(c->ws)) {
        c->in_wslay = 1;
        int rc = wslay_event_send(c->ws);
        c->in_wslay = 0;
        if (rc != 0) {
            if (!c->dead)
                mg_conn_abort(c, "WebSocket send failed");
            return 0;
        }
    }
    if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws) &&
        (c->state == MG_CONN_WS || c->state == MG_CONN_CLOSING))
        mg_conn_start_flush(c); /* close handshake done (or a protocol error) */
    else if (!wslay_event_want_read(c->ws))
        mg_buf_reset(&c->wsin);
    return moved;
}
