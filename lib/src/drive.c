/* drive.c - what drives the state machine: the caller's calls, the bytes it
 * feeds and the timers it fires, each turned into an input for
 * dgw_step(). Nothing here writes the state. */
#include <string.h>

#include "conn.h"
#include "mutant.h"

static void step(dgw_conn *c, dgw_input kind)
{
    dgw_in in = {.kind = kind};
    dgw_step(c, &in);
}

static void failure(dgw_conn *c, dgw_err err, uint16_t code, const char *why,
                    const char *why2)
{
    dgw_in in = {.kind = IN_FAILURE, .err = err, .code = code, .why = why,
                 .why2 = why2};
    dgw_step(c, &in);
}

static bool in_states(const dgw_conn *c, unsigned set)
{
    return (1u << c->state) & set;
}

#define S(x) (1u << DGW_STATE_##x)
#define HB (S(IDENTIFYING) | S(RESUMING) | S(CONNECTED))

/* ---- start ----------------------------------------------------------- */

/* Forgets everything the last transport left behind; the session, the
 * queued commands and the backoff count stay. */
static void reset_transport(dgw_conn *c)
{
    dgw_buf_reset(&c->mem, &c->out, 0);
    dgw_buf_reset(&c->mem, &c->http, 0);
    dgw_buf_reset(&c->mem, &c->msg, 0);
    dgw_buf_reset(&c->mem, &c->decoded, 0);
    dgw_buf_reset(&c->mem, &c->long_name, 0);
    c->msg_busy = false;
    c->ev_head = c->ev_count = 0;
    c->resp_head_done = false;
    dgw_ws_reset(&c->ws);
    dgw_hb_reset(&c->hb);
    dgw_rl_new_window(&c->rl, c->cfg.rate_limit_reserved);
    c->session_sent = false;
    c->identify_pending = c->identify_wanted = c->identify_permitted = false;
    c->handshake_deadline = c->ready_deadline = c->close_deadline = 0;
    c->close_sent = c->closed_by_server = c->fatal = false;
    c->close_code = 0;
    c->close_reason_len = 0;
    c->close_err = DGW_OK;
    c->reached_open = false;
    c->connected_at = 0;
    c->retry_after_ms = 0;
    c->errmsg[0] = '\0';
}

dgw_err dgw_conn_start(dgw_conn *c, uint64_t now_ms)
{
    if (!c)
        return DGW_ERR_INVALID_ARGUMENT;
    if (c->state != DGW_STATE_IDLE)
        return dgw_set_error(c, DGW_ERR_STATE, "start() needs state IDLE, not ",
                             dgw_state_name(c->state));
    c->now = now_ms;
    reset_transport(c);
    int r = DGW_MUTANT(M_COMPRESS_CONTEXT_KEPT) && c->dec.ctx
                ? DGW_OK
                : dgw_decoder_reset(&c->dec);
    if (r != DGW_OK)
        return dgw_set_error(c, (dgw_err)r, "cannot set up decompression",
                             NULL);
    uint8_t key[16];
    c->cfg.random(c->cfg.random_user, key, sizeof key);
    dgw_base64(key, sizeof key, c->ws_key);
    r = dgw_http_build_request(&c->mem, &c->out, &c->current_url, c->query,
                               c->ws_key);
    if (r != DGW_OK)
        return dgw_set_error(c, (dgw_err)r, "cannot build the upgrade request",
                             NULL);
    step(c, IN_START);
    return DGW_OK;
}

/* ---- bytes in -------------------------------------------------------- */

/* True once the rejected response's body is all here (or capped). */
static bool body_complete(const dgw_conn *c)
{
    size_t have = dgw_buf_live(&c->http) - c->resp.head_len;
    if (have >= c->cfg.max_http_body_size)
        return true;
    return c->resp.content_length >= 0 &&
           have >= (unsigned long long)c->resp.content_length;
}

static size_t recv_upgrade(dgw_conn *c, const uint8_t *data, size_t len)
{
    size_t cap = c->cfg.max_http_header_size + c->cfg.max_http_body_size;
    size_t room = cap - dgw_buf_live(&c->http);
    size_t take = len < room ? len : room;
    if (dgw_buf_append(&c->mem, &c->http, data, take, cap) != DGW_OK) {
        failure(c, DGW_ERR_NOMEM, 0, "out of memory", NULL);
        return len;
    }
    if (c->resp_head_done) {
        if (body_complete(c))
            step(c, IN_REJECTED);
        return len; /* body bytes past the cap are dropped */
    }
    const char *why = NULL;
    int r = dgw_http_parse_response(c->http.p + c->http.off,
                                    dgw_buf_live(&c->http), &c->resp, &why);
    if (r < 0) {
        failure(c, DGW_ERR_HTTP, 0, "bad upgrade response: ", why);
        return len;
    }
    if (r == 0 || c->resp.head_len > c->cfg.max_http_header_size) {
        if (dgw_buf_live(&c->http) >= c->cfg.max_http_header_size)
            failure(c, DGW_ERR_HTTP_TOO_LARGE, 0,
                    "upgrade response headers over max_http_header_size",
                    NULL);
        return take;
    }
    if (c->resp.status != 101) {
        c->resp_head_done = true;
        if (body_complete(c))
            step(c, IN_REJECTED);
        return len;
    }
    if ((why = dgw_http_check_upgrade(&c->resp, c->ws_key)) != NULL) {
        failure(c, DGW_ERR_HANDSHAKE, 0, "bad upgrade response: ", why);
        return len;
    }
    /* Bytes after the head are already WebSocket frames: hand them back. */
    size_t extra = dgw_buf_live(&c->http) - c->resp.head_len;
    dgw_buf_reset(&c->mem, &c->http, 0);
    step(c, IN_UPGRADED);
    return take - extra;
}

/* Which input a payload is, in the current state. Payloads the state has
 * no use for (anything before HELLO; while we close, all but dispatches
 * and ACKs) are reported, not acted on. */
static dgw_input classify(const dgw_conn *c, const dgw_gw_msg *m)
{
    bool hb = in_states(c, HB);
    switch (m->kind) {
    case DGW_GW_HELLO:
        if (c->state == DGW_STATE_WAIT_HELLO)
            return dgw_has_session(c) ? IN_HELLO_RESUME : IN_HELLO_IDENTIFY;
        return hb ? IN_HELLO_AGAIN : IN_OTHER;
    case DGW_GW_DISPATCH:
        if (!hb && c->state != DGW_STATE_CLOSING)
            return IN_OTHER;
        if (hb && m->which == DGW_GW_READY)
            return IN_READY;
        if (c->state == DGW_STATE_RESUMING && m->which == DGW_GW_RESUMED)
            return IN_RESUMED;
        return IN_DISPATCH;
    case DGW_GW_ACK:
        return hb || c->state == DGW_STATE_CLOSING ? IN_ACK : IN_OTHER;
    case DGW_GW_HEARTBEAT_REQUEST:
        return hb ? IN_BEAT_REQUESTED : IN_OTHER;
    case DGW_GW_RECONNECT:
        return hb ? IN_RECONNECT_OP : IN_OTHER;
    case DGW_GW_INVALID_SESSION:
        if (!hb)
            return IN_OTHER;
        /* d=true without a session has nothing to resume: a new one. */
        return (DGW_MUTANT(M_INVALID_FALSE_RESUMES) ||
                (m->resumable && !DGW_MUTANT(M_INVALID_TRUE_IDENTIFIES))) &&
                       dgw_has_session(c)
                   ? IN_INVALID_RESUME
                   : IN_INVALID_NEW;
    case DGW_GW_OTHER:
        break;
    }
    return IN_OTHER;
}

/* The caller has taken every event: what they pointed at can go. */
static void release_message(dgw_conn *c)
{
    if (!c->msg_busy || c->ev_count)
        return;
    if (!c->ws.in_message)
        dgw_buf_reset(&c->mem, &c->msg, DGW_KEEP_CAP);
    dgw_buf_reset(&c->mem, &c->decoded, DGW_KEEP_CAP);
    dgw_etf_decoder_trim(&c->etf, DGW_KEEP_CAP);
    dgw_buf_reset(&c->mem, &c->long_name, 0);
    c->msg_busy = false;
}

/* A binary message that is not transport-compressed is one whole zlib
 * stream (payload compression) or an ETF term: both become JSON text in
 * c->decoded. Returns the payload to parse, or NULL after a failure. */
static const char *decode_binary(dgw_conn *c, const char *p, size_t *n)
{
    const char *why = NULL;
    int r;
    if (c->cfg.payload_compress)
        r = dgw_payload_inflate(&c->pz, (const uint8_t *)p, *n, &c->decoded,
                                c->cfg.max_message_size, &why);
    else
        r = dgw_etf_decode(&c->etf, (const uint8_t *)p, *n, &c->decoded,
                           c->cfg.max_message_size, &why);
    if (r != DGW_OK) {
        uint16_t code = r == DGW_ERR_NOMEM ? 1011
                        : r == DGW_ERR_WS_TOO_LARGE ||
                                r == DGW_ERR_INFLATE_TOO_LARGE
                            ? 1009
                            : 1007;
        failure(c, (dgw_err)r, code,
                c->cfg.payload_compress ? "compressed payload: "
                                        : "ETF payload: ",
                why);
        return NULL;
    }
    *n = dgw_buf_live(&c->decoded);
    return c->decoded.p ? (const char *)c->decoded.p + c->decoded.off : "";
}

static void on_message(dgw_conn *c)
{
    /* An empty message never allocated the buffer: no pointer arithmetic
     * on NULL. */
    const char *p = c->msg.p ? (const char *)c->msg.p + c->msg.off : "";
    size_t n = dgw_buf_live(&c->msg);
    if (c->ws.msg_op == DGW_OP_BINARY &&
        (c->cfg.payload_compress || c->cfg.encoding == DGW_ENCODING_ETF) &&
        !(p = decode_binary(c, p, &n)))
        return;
    c->stats.payload_bytes_in += n;
    dgw_gw_msg m;
    const char *why = NULL;
    dgw_err e = dgw_gw_parse(p, n, &m, &why);
    if (e != DGW_OK) {
        failure(c, e, 1007, why, NULL);
        return;
    }
    dgw_in in = {.kind = classify(c, &m), .msg = &m, .payload = p,
                 .payload_len = n};
    dgw_step(c, &in);
}

static void on_ws(dgw_conn *c, const dgw_ws_result *r)
{
    dgw_in in = {.ctrl = r->ctrl, .ctrl_len = r->ctrl_len};
    switch (r->kind) {
    case DGW_WS_NONE:
    case DGW_WS_PONG: /* we never ping; unsolicited pongs are allowed */
        return;
    case DGW_WS_MESSAGE:
        on_message(c);
        /* Events point into the message: keep it until they are taken. */
        c->msg_busy = true;
        if (!c->ev_count)
            release_message(c);
        return;
    case DGW_WS_PING:
        in.kind = IN_PING;
        break;
    case DGW_WS_CLOSE:
        in.kind = IN_SERVER_CLOSE;
        in.code = r->close_code;
        break;
    case DGW_WS_ERROR:
        failure(c, r->err, r->ws_code, r->why, r->why2);
        return;
    }
    dgw_step(c, &in);
}

/* Messages are decoded until one queues an event (so its slices stay
 * valid) or the connection closes; every byte taken is decoded. */
static size_t recv_frames(dgw_conn *c, const uint8_t *data, size_t len)
{
    size_t used = 0;
    while (used < len && c->ev_count == 0 &&
           in_states(c, S(WAIT_HELLO) | HB | S(CLOSING))) {
        dgw_ws_result r;
        used += dgw_ws_read(&c->ws, data + used, len - used, &r);
        on_ws(c, &r);
    }
    return used;
}

long dgw_conn_recv(dgw_conn *c, const uint8_t *data, size_t len,
                   uint64_t now_ms)
{
    if (!c || (len && !data))
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    if (c->state == DGW_STATE_IDLE)
        return dgw_set_error(c, DGW_ERR_STATE, "recv() before start()", NULL);
    if (c->state == DGW_STATE_CLOSED)
        return (long)len;
    if (c->ev_count)
        return 0;
    release_message(c);
    c->call_err = DGW_OK;
    size_t used = c->state == DGW_STATE_UPGRADING ? recv_upgrade(c, data, len)
                                                  : recv_frames(c, data, len);
    c->stats.bytes_in += used;
    if (c->call_err != DGW_OK)
        return c->call_err;
    return (long)used;
}

void dgw_conn_recv_eof(dgw_conn *c, uint64_t now_ms)
{
    if (!c || c->state == DGW_STATE_IDLE || c->state == DGW_STATE_CLOSED)
        return;
    c->now = now_ms;
    /* A rejection's body without Content-Length ends here. */
    if (c->state == DGW_STATE_UPGRADING && c->resp_head_done)
        step(c, IN_REJECTED);
    else
        step(c, IN_EOF);
}

/* ---- bytes out ------------------------------------------------------- */

size_t dgw_conn_peek_output(dgw_conn *c, const uint8_t **out)
{
    size_t n = c ? dgw_buf_live(&c->out) : 0;
    *out = n ? c->out.p + c->out.off : NULL;
    return n;
}

void dgw_conn_consume_output(dgw_conn *c, size_t n)
{
    if (!c)
        return;
    if (n > dgw_buf_live(&c->out))
        n = dgw_buf_live(&c->out);
    c->stats.bytes_out += n;
    dgw_buf_consume(&c->out, n);
    /* Output is rare (a heartbeat every ~41 s): hold nothing while idle. */
    if (dgw_buf_live(&c->out) == 0)
        dgw_buf_reset(&c->mem, &c->out, 0);
}

/* ---- timers ---------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return b && b < a ? b : a;
}

uint64_t dgw_conn_next_timeout(const dgw_conn *c)
{
    if (!c)
        return DGW_NO_TIMEOUT;
    uint64_t t = DGW_NO_TIMEOUT;
    if (in_states(c, S(UPGRADING) | S(WAIT_HELLO)))
        t = earliest(t, c->handshake_deadline);
    if (c->state == DGW_STATE_CLOSING)
        t = earliest(t, c->close_deadline);
    if (!in_states(c, HB))
        return t;
    if (in_states(c, S(IDENTIFYING) | S(RESUMING)))
        t = earliest(t, c->ready_deadline);
    if (c->hb.interval)
        t = earliest(t, c->hb.next ? c->hb.next : 1);
    /* Behind the gate, once the permit was asked for, only the caller's
     * call moves the IDENTIFY on. */
    if (c->identify_pending && !c->identify_wanted &&
        c->state == DGW_STATE_IDENTIFYING)
        t = earliest(t, dgw_send_session_due(c));
    return earliest(t, dgw_send_next_due(c));
}

dgw_err dgw_conn_handle_timeout(dgw_conn *c, uint64_t now_ms)
{
    if (!c)
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    c->call_err = DGW_OK;
    uint64_t now = now_ms;
    if (in_states(c, S(UPGRADING) | S(WAIT_HELLO)) && c->handshake_deadline &&
        now >= c->handshake_deadline)
        step(c, IN_HANDSHAKE_TIMEOUT);
    if (c->state == DGW_STATE_CLOSING && c->close_deadline &&
        now >= c->close_deadline)
        step(c, IN_CLOSE_TIMEOUT);
    if (in_states(c, S(IDENTIFYING) | S(RESUMING)) && c->ready_deadline &&
        now >= c->ready_deadline)
        step(c, IN_READY_TIMEOUT);
    switch (in_states(c, HB) ? dgw_hb_check(&c->hb, now) : DGW_HB_NOTHING) {
    case DGW_HB_ZOMBIE:
        step(c, IN_ZOMBIE);
        break;
    case DGW_HB_BEAT: {
        dgw_in in = {.kind = IN_BEAT_DUE, .regular = true};
        dgw_step(c, &in);
        break;
    }
    case DGW_HB_NOTHING:
        break;
    }
    if (in_states(c, HB) && c->hb.deferred &&
        dgw_send_slot(c, DGW_SEND_HEARTBEAT))
        step(c, IN_BEAT_DUE);
    if (c->state == DGW_STATE_IDENTIFYING && c->identify_pending &&
        !c->identify_wanted && now >= dgw_send_session_due(c))
        step(c, IN_IDENTIFY_DUE);
    if (in_states(c, HB) && dgw_send_can_flush(c))
        step(c, IN_FLUSH_DUE);
    return c->call_err;
}

/* ---- events ---------------------------------------------------------- */

bool dgw_conn_has_events(const dgw_conn *c)
{
    return c && c->ev_count > 0;
}

bool dgw_conn_poll_event(dgw_conn *c, dgw_event *ev)
{
    if (!c || !ev)
        return false;
    if (c->ev_count == 0) {
        release_message(c);
        return false;
    }
    *ev = c->evq[c->ev_head];
    c->ev_head = (c->ev_head + 1) % DGW_EVQ_LEN;
    c->ev_count--;
    return true;
}

dgw_err dgw_conn_identify_permit(dgw_conn *c, uint64_t now_ms)
{
    if (!c)
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    if (!c->identify_wanted || c->state != DGW_STATE_IDENTIFYING)
        return dgw_set_error(c, DGW_ERR_STATE, "no IDENTIFY is waiting for a "
                             "permit", NULL);
    c->identify_permitted = true;
    c->call_err = DGW_OK;
    step(c, IN_IDENTIFY_DUE);
    return c->call_err;
}

void dgw_conn_stats(const dgw_conn *c, dgw_stats *out)
{
    if (!out)
        return;
    if (!c) {
        memset(out, 0, sizeof *out);
        out->latency_ms = out->latency_avg_ms = -1;
        return;
    }
    *out = c->stats;
}

/* ---- close and reconnect -------------------------------------------- */

static bool valid_client_close_code(uint16_t code)
{
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

dgw_err dgw_conn_close(dgw_conn *c, uint16_t code, const char *reason,
                       uint64_t now_ms)
{
    if (!c || !valid_client_close_code(code) ||
        (reason && (strlen(reason) > 123 || !dgw_utf8_valid_str(reason))))
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    if (!in_states(c, S(UPGRADING) | S(WAIT_HELLO) | HB))
        return dgw_set_error(c, DGW_ERR_STATE, "cannot close in state ",
                             dgw_state_name(c->state));
    c->call_err = DGW_OK;
    dgw_in in = {.kind = IN_CALLER_CLOSE, .code = code, .why = reason};
    dgw_step(c, &in);
    return c->call_err;
}

dgw_err dgw_conn_reconnect(dgw_conn *c, uint64_t now_ms, uint32_t *wait_ms)
{
    if (!c || !wait_ms)
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    *wait_ms = 0;
    if (c->state != DGW_STATE_CLOSED)
        return dgw_set_error(c, DGW_ERR_STATE,
                             "reconnect() needs state CLOSED, not ",
                             dgw_state_name(c->state));
    if (c->fatal) {
        char code[6];
        unsigned v = c->close_code;
        for (int i = 4; i >= 0; i--, v /= 10)
            code[i] = (char)('0' + v % 10);
        code[5] = '\0';
        return dgw_set_error(c, DGW_ERR_FATAL_CLOSE,
                             "server closed with a code that forbids "
                             "reconnecting: ",
                             code);
    }
    step(c, IN_RECONNECT);
    *wait_ms = c->next_wait;
    return DGW_OK;
}
