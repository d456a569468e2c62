/* conn.c - the connection's state machine.
 *
 * Every state change is a row of `edges` below and happens in dgw_step(),
 * which looks the row up, writes the new state, and runs the input's
 * actions (send these bytes, arm or cancel these deadlines, queue this
 * event, close with this code). The public calls and the byte pumps only
 * turn what happened (bytes, a timer, a caller's request) into an input;
 * the protocol modules they use (ws, gateway, heartbeat, commands) decide
 * and return, and never act. docs/state-machine.dot is drawn from the
 * table (tests/state_dot.c), and a test keeps the two equal. */
#include <string.h>

#include "commands.h"
#include "conn.h"
#include "mutant.h"

#ifdef DGW_MUTANTS
dgw_mutant_id dgw_mutant;
/* M_HEARTBEAT_D_STALE: the s at HELLO (one connection per mutant process). */
static int64_t mutant_seq_at_hello = -1;
#endif

#define S(x) (1u << DGW_STATE_##x)
/* Heartbeating: the session handshake is on or done. */
#define HB (S(IDENTIFYING) | S(RESUMING) | S(CONNECTED))
/* The WebSocket is open and we have not begun to close it. */
#define LIVE (S(WAIT_HELLO) | HB)
/* A transport exists. */
#define TRANSPORT (S(UPGRADING) | LIVE | S(CLOSING))

static const dgw_edge edges[] = {
    {IN_START, S(IDLE), DGW_STATE_UPGRADING},
    {IN_UPGRADED, S(UPGRADING), DGW_STATE_WAIT_HELLO},
    {IN_REJECTED, S(UPGRADING), DGW_STATE_CLOSED},
    {IN_HANDSHAKE_TIMEOUT, S(UPGRADING) | S(WAIT_HELLO), DGW_STATE_CLOSED},
    {IN_HELLO_IDENTIFY, S(WAIT_HELLO), DGW_STATE_IDENTIFYING},
    {IN_HELLO_RESUME, S(WAIT_HELLO), DGW_STATE_RESUMING},
    {IN_HELLO_AGAIN, HB, DGW_SAME},
    {IN_IDENTIFY_DUE, S(IDENTIFYING), DGW_SAME},
    {IN_READY, S(IDENTIFYING) | S(RESUMING), DGW_STATE_CONNECTED},
    {IN_READY, S(CONNECTED), DGW_SAME},
    {IN_RESUMED, S(RESUMING), DGW_STATE_CONNECTED},
    {IN_DISPATCH, HB | S(CLOSING), DGW_SAME},
    {IN_ACK, HB | S(CLOSING), DGW_SAME},
    {IN_BEAT_REQUESTED, HB, DGW_SAME},
    {IN_BEAT_DUE, HB, DGW_SAME},
    {IN_FLUSH_DUE, HB, DGW_SAME},
    {IN_ZOMBIE, HB, DGW_STATE_CLOSED},
    {IN_READY_TIMEOUT, S(IDENTIFYING) | S(RESUMING), DGW_STATE_CLOSED},
    {IN_RECONNECT_OP, HB, DGW_STATE_CLOSING},
    {IN_INVALID_RESUME, HB, DGW_STATE_CLOSING},
    {IN_INVALID_NEW, HB, DGW_STATE_IDENTIFYING},
    {IN_OTHER, LIVE | S(CLOSING), DGW_SAME},
    {IN_PING, LIVE | S(CLOSING), DGW_SAME},
    {IN_CALLER_CLOSE, S(UPGRADING), DGW_STATE_CLOSED},
    {IN_CALLER_CLOSE, LIVE, DGW_STATE_CLOSING},
    {IN_SERVER_CLOSE, LIVE | S(CLOSING), DGW_STATE_CLOSED},
    {IN_CLOSE_TIMEOUT, S(CLOSING), DGW_STATE_CLOSED},
    {IN_EOF, TRANSPORT, DGW_STATE_CLOSED},
    {IN_FAILURE, TRANSPORT, DGW_STATE_CLOSED},
    {IN_RECONNECT, S(CLOSED), DGW_STATE_IDLE},
};

const dgw_edge *dgw_transitions(size_t *n)
{
    *n = sizeof edges / sizeof edges[0];
    return edges;
}

const char *dgw_input_name(dgw_input in)
{
    static const char *const names[IN__COUNT] = {
        [IN_START] = "start()",
        [IN_UPGRADED] = "101",
        [IN_REJECTED] = "other HTTP status",
        [IN_HELLO_IDENTIFY] = "HELLO, no session",
        [IN_HELLO_RESUME] = "HELLO, session",
        [IN_HELLO_AGAIN] = "HELLO again",
        [IN_IDENTIFY_DUE] = "IDENTIFY delay over",
        [IN_READY] = "READY",
        [IN_RESUMED] = "RESUMED",
        [IN_DISPATCH] = "dispatch",
        [IN_ACK] = "op 11 ACK",
        [IN_BEAT_REQUESTED] = "op 1",
        [IN_RECONNECT_OP] = "op 7 RECONNECT",
        [IN_INVALID_RESUME] = "op 9 true",
        [IN_INVALID_NEW] = "op 9 false",
        [IN_OTHER] = "other op",
        [IN_PING] = "ping",
        [IN_SERVER_CLOSE] = "server close",
        [IN_EOF] = "EOF",
        [IN_FAILURE] = "protocol error",
        [IN_HANDSHAKE_TIMEOUT] = "handshake timeout",
        [IN_READY_TIMEOUT] = "READY timeout",
        [IN_BEAT_DUE] = "heartbeat timer",
        [IN_ZOMBIE] = "zombie",
        [IN_FLUSH_DUE] = "send queue timer",
        [IN_CLOSE_TIMEOUT] = "close timeout",
        [IN_CALLER_CLOSE] = "close()",
        [IN_RECONNECT] = "reconnect()",
    };
    return (unsigned)in < IN__COUNT && names[in] ? names[in] : "?";
}

const char *dgw_state_timers(dgw_state s)
{
    /* What dgw_conn_next_timeout() can return in each state ("\\n":
     * a line break in the diagram's dot label). */
    switch (s) {
    case DGW_STATE_UPGRADING:
    case DGW_STATE_WAIT_HELLO:
        return "handshake_timeout";
    case DGW_STATE_IDENTIFYING:
        return "heartbeat (first jittered, regular, deferred),\\n"
               "ready_timeout after IDENTIFY, IDENTIFY delay\\n"
               "(INVALID_SESSION 1-5 s, 5 s window), send queue";
    case DGW_STATE_RESUMING:
        return "heartbeat, ready_timeout, send queue";
    case DGW_STATE_CONNECTED:
        return "heartbeat, send queue";
    case DGW_STATE_CLOSING:
        return "close_timeout";
    default:
        return NULL;
    }
}

static const dgw_edge *find_edge(dgw_state s, dgw_input in)
{
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        if (edges[i].in == in && (edges[i].from & (1u << s)))
            return &edges[i];
    return NULL;
}

/* ---- small helpers -------------------------------------------------- */

uint32_t dgw_random_u32(dgw_conn *c)
{
    uint8_t b[4];
    c->cfg.random(c->cfg.random_user, b, sizeof b);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           b[3];
}

dgw_err dgw_set_error(dgw_conn *c, dgw_err err, const char *a, const char *b)
{
    size_t n = 0;
    for (const char *part = a; part; part = part == a ? b : NULL) {
        size_t k = strlen(part);
        if (k > sizeof c->errmsg - 1 - n)
            k = sizeof c->errmsg - 1 - n;
        memcpy(c->errmsg + n, part, k);
        n += k;
    }
    c->errmsg[n] = '\0';
    return err;
}

dgw_event *dgw_push_event(dgw_conn *c, dgw_event_type type)
{
    /* An input queues at most three events and decoding stops at the
     * first, so the ring cannot fill; were it ever to, the oldest event
     * would be lost rather than memory overwritten. */
    unsigned i = (c->ev_head + c->ev_count) % DGW_EVQ_LEN;
    if (c->ev_count == DGW_EVQ_LEN) {
        c->ev_head = (c->ev_head + 1) % DGW_EVQ_LEN;
        c->ev_count--;
    }
    c->ev_count++;
    dgw_event *e = &c->evq[i];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->seq = -1;
    return e;
}

bool dgw_has_session(const dgw_conn *c)
{
    return c->session_id[0] != '\0';
}

static void clear_session(dgw_conn *c)
{
    c->session_id[0] = '\0';
    if (!DGW_MUTANT(M_SEQ_NOT_RESET))
        c->seq = -1;
    dgw_mem_strfree(&c->mem, c->resume_url);
    c->resume_url = NULL;
    c->resume_url_failed = false;
    /* Queued commands belonged to the session that ended. */
    dgw_send_drop_queue(c);
}

static uint64_t later(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Deadlines are absolute times; 0 means none, so a deadline that would be
 * 0 is moved to 1. */
static uint64_t deadline(const dgw_conn *c, uint32_t ms)
{
    uint64_t d = c->now + ms;
    return d ? d : 1;
}

/* ---- actions -------------------------------------------------------- */

static void closed_event(dgw_conn *c, dgw_err err, dgw_end_cause cause)
{
    c->close_err = err;
    c->stats.ended_by[cause]++;
    if (c->reached_open && c->close_code == 0 && !c->close_sent)
        c->close_code = 1006;
    dgw_event *s = dgw_push_event(c, DGW_EV_CLOSED);
    s->close_code = c->close_code;
    s->close_reason = c->close_reason;
    s->close_reason_len = c->close_reason_len;
    s->closed_by_server = c->closed_by_server;
    s->fatal = c->fatal;
    s->resumable = dgw_has_session(c);
    s->error = err;
    s->end_cause = (int)cause;
}

/* Our close frame. A failure to queue it leaves nothing to wait for. */
static dgw_err send_close(dgw_conn *c, uint16_t code, const char *reason,
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
    return dgw_send_frame(c, DGW_OP_CLOSE, p, n);
}

/* We close first and wait for the server's answer (CLOSING). */
static dgw_err begin_close(dgw_conn *c, uint16_t code, const char *reason,
                           dgw_end_cause cause)
{
    c->closing_cause = cause;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > sizeof c->close_reason)
        rl = sizeof c->close_reason;
    c->close_code = code;
    memcpy(c->close_reason, reason ? reason : "", rl);
    c->close_reason_len = rl;
    if (code == 1000 || code == 1001)
        clear_session(c); /* Discord ends the session on these */
    c->close_deadline = deadline(c, c->cfg.close_timeout_ms);
    return send_close(c, code, reason, rl);
}

/* A failure ends the transport at once: a peer that broke the protocol or
 * stopped answering does not get to hold us in CLOSING. It still gets a
 * close frame saying why, when the WebSocket is open. */
static void fail_now(dgw_conn *c, dgw_state from, dgw_end_cause cause,
                     dgw_err err, uint16_t code, const char *why,
                     const char *why2)
{
    dgw_set_error(c, err, why, why2);
    c->call_err = err;
    bool open = (1u << from) & (LIVE | S(CLOSING));
    if (!c->close_sent && !c->closed_by_server) {
        c->close_code = open ? code : 0;
        c->close_reason_len = 0;
        if (open && code)
            send_close(c, code, NULL, 0); /* best effort */
    }
    closed_event(c, err, cause);
}

static dgw_event *payload_event(dgw_conn *c, dgw_event_type type,
                                 const dgw_in *in)
{
    dgw_event *s = dgw_push_event(c, type);
    c->stats.events++;
    s->op = in->msg->op;
    s->data = in->msg->d.p;
    s->data_len = in->msg->d.n;
    s->payload = in->payload;
    s->payload_len = in->payload_len;
    return s;
}

static dgw_err dispatch_event(dgw_conn *c, const dgw_in *in)
{
    const dgw_gw_msg *m = in->msg;
    if (m->seq >= 0 &&
        !(DGW_MUTANT(M_REPLAY_SEQ_IGNORED) &&
          (c->state == DGW_STATE_RESUMING || in->kind == IN_RESUMED)))
        c->seq = m->seq;
    c->stats.dispatches++;
    dgw_event *s = payload_event(c, DGW_EV_DISPATCH, in);
    s->seq = m->seq;
    if (!m->t.n)
        return DGW_OK;
    /* The unescaped name is never longer than its JSON form. */
    char *dst = c->name;
    size_t cap = sizeof c->name;
    if (m->t.n >= cap) {
        if (DGW_MUTANT(M_REFUSE_LONG_EVENT_NAME))
            return dgw_set_error(c, DGW_ERR_PAYLOAD, "event name too long",
                                 NULL);
        if (dgw_buf_reserve(&c->mem, &c->long_name, m->t.n, m->t.n + 1) !=
            DGW_OK)
            return dgw_set_error(c, DGW_ERR_NOMEM,
                                 "out of memory for an event name", NULL);
        dst = (char *)c->long_name.p;
        cap = c->long_name.cap;
    }
    long len = dgw_gw_name(m, dst, cap);
    if (len < 0)
        return dgw_set_error(c, DGW_ERR_PAYLOAD,
                             "dispatch event name is malformed", NULL);
    s->name = dst;
    s->name_len = (size_t)len;
    return DGW_OK;
}

static dgw_err send_heartbeat(dgw_conn *c, bool regular)
{
    /* Beats count against the 120/60 s limit too. The slots kept for them
     * (sized at HELLO) hold every regular beat; only a server flooding
     * op 1 can use them up, and then the beat waits for a slot rather
     * than earn a 4008 close. */
    if (!dgw_send_slot(c, DGW_SEND_HEARTBEAT)) {
        dgw_hb_defer(&c->hb, c->now, regular);
        return DGW_OK;
    }
    char buf[48];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    int64_t d = c->seq;
#ifdef DGW_MUTANTS
    if (DGW_MUTANT(M_HEARTBEAT_D_NULL))
        d = -1;
    if (DGW_MUTANT(M_HEARTBEAT_D_STALE))
        d = mutant_seq_at_hello;
#endif
    dgw_cmd_heartbeat(d, &w);
    dgw_err e = dgw_send_payload(c, buf, w.len, DGW_SEND_HEARTBEAT);
    if (e == DGW_OK) {
        dgw_hb_sent(&c->hb, c->now, regular);
        c->stats.heartbeats_sent++;
    }
    return e;
}

/* IDENTIFY is sent once its delays are over (INVALID_SESSION's 1-5 s, the
 * 5 s between two IDENTIFYs) and a slot is free; until then it is pending
 * and dgw_conn_next_timeout() says when to look again. Behind the gate, it
 * then also waits for the caller's permit, asked for once. */
static dgw_err try_identify(dgw_conn *c)
{
    c->identify_pending = true;
    if (c->now < c->identify_not_before ||
        !dgw_send_slot(c, DGW_SEND_SESSION))
        return DGW_OK;
    if (c->cfg.identify_gate && !c->identify_permitted) {
        if (!c->identify_wanted) {
            c->identify_wanted = true;
            dgw_push_event(c, DGW_EV_IDENTIFY_WANTED);
        }
        return DGW_OK;
    }
    char buf[DGW_CMD_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_cmd_identify(&c->cfg.identify, c->cfg.payload_compress, &w);
    dgw_err e = dgw_send_payload(c, buf, w.len, DGW_SEND_SESSION);
    if (e != DGW_OK)
        return e;
    c->identify_pending = false;
    c->identify_wanted = c->identify_permitted = false;
    c->session_sent = true;
    c->stats.identifies++;
    c->last_identify = c->now;
    if (!c->cfg.identify_gate)
        c->identify_not_before = c->now + c->cfg.identify_interval_ms;
    c->ready_deadline = deadline(c, c->cfg.ready_timeout_ms);
    return dgw_send_flush(c);
}

static dgw_err send_resume(dgw_conn *c)
{
    char buf[DGW_CMD_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_cmd_resume(c->cfg.identify.token, c->session_id, c->seq, &w);
    if (dgw_cmd_overflow(&w))
        return dgw_set_error(c, DGW_ERR_SEND_TOO_LARGE, "RESUME too large",
                             NULL);
    dgw_err e = dgw_send_payload(c, buf, w.len, DGW_SEND_SESSION);
    if (e != DGW_OK)
        return e;
    c->session_sent = true;
    c->stats.resumes++;
    c->ready_deadline = deadline(c, c->cfg.ready_timeout_ms);
    return dgw_send_flush(c);
}

static void start_heartbeat(dgw_conn *c, const dgw_gw_msg *m)
{
    dgw_hb_start(&c->hb, m->heartbeat_interval, c->now, dgw_random_u32(c));
#ifdef DGW_MUTANTS
    mutant_seq_at_hello = c->seq;
#endif
    dgw_rl_reserve_for_interval(&c->rl, c->cfg.rate_limit_reserved,
                                m->heartbeat_interval);
    c->handshake_deadline = 0;
}

static void hello_event(dgw_conn *c, const dgw_in *in)
{
    dgw_event *s = payload_event(c, DGW_EV_HELLO, in);
    s->heartbeat_interval_ms = in->msg->heartbeat_interval;
}

/* READY names the session and where to resume it. A resume URL whose
 * scheme differs from the configured one is refused: it could move the
 * token from TLS to plain TCP. */
static dgw_err take_session(dgw_conn *c, const dgw_gw_msg *m)
{
    memcpy(c->session_id, m->session_id, sizeof c->session_id);
    dgw_mem_strfree(&c->mem, c->resume_url);
    c->resume_url = NULL;
    c->resume_url_failed = false;
    if (!m->resume_url[0])
        return DGW_OK;
    dgw_url u;
    const char *why;
    if (dgw_url_parse(m->resume_url, &u, &why) &&
        u.tls != c->gateway_url.tls && !DGW_MUTANT(M_RESUME_URL_DOWNGRADE)) {
        dgw_set_error(c, DGW_OK,
                      "resume_gateway_url refused: its scheme differs from "
                      "the gateway URL's; resuming at the gateway URL",
                      NULL);
        return DGW_OK;
    }
    c->resume_url = dgw_mem_strdup(&c->mem, m->resume_url);
    if (!c->resume_url)
        return dgw_set_error(c, DGW_ERR_NOMEM, "out of memory", NULL);
    return DGW_OK;
}

static void set_close_info(dgw_conn *c, uint16_t code, const uint8_t *reason,
                           size_t len)
{
    c->close_code = code;
    if (len > sizeof c->close_reason)
        len = sizeof c->close_reason;
    if (len)
        memcpy(c->close_reason, reason, len);
    c->close_reason_len = len;
}

static void server_close(dgw_conn *c, const dgw_in *in)
{
    if (!c->close_sent) {
        /* The server closed first: echo its code (RFC 6455 5.5.1), and
         * let the code decide the session (PROTOCOL.md 4). */
        c->closed_by_server = true;
        set_close_info(c, in->code, in->ctrl, in->ctrl_len);
        c->fatal = dgw_close_code_is_fatal(in->code) &&
                   !(DGW_MUTANT(M_RECONNECT_AFTER_4004) && in->code == 4004);
        bool keep = dgw_close_code_keeps_session(in->code);
        if (DGW_MUTANT(M_RESUME_AFTER_4007) && in->code == 4007)
            keep = true;
        if ((DGW_MUTANT(M_IDENTIFY_AFTER_4000) && in->code == 4000) ||
            (DGW_MUTANT(M_SERVER_1001_ENDS_SESSION) && in->code == 1001))
            keep = false;
        if (!keep)
            clear_session(c);
        send_close(c, DGW_MUTANT(M_NO_CLOSE_ECHO) ? 0 : in->code, NULL, 0);
    }
    closed_event(c, c->close_err,
                 c->close_sent && !c->closed_by_server ? c->closing_cause
                                                       : DGW_END_SERVER_CLOSE);
}

static void eof(dgw_conn *c, dgw_state from)
{
    if (from == DGW_STATE_CLOSING) {
        closed_event(c, c->close_err, c->closing_cause);
        return;
    }
    if (DGW_MUTANT(M_DROP_ENDS_SESSION))
        clear_session(c);
    dgw_err err = DGW_ERR_EOF;
    const char *what = "connection ended without a close frame";
    if (from == DGW_STATE_UPGRADING) {
        what = "connection ended during the upgrade";
    } else if (c->dec.mid_payload) {
        err = DGW_ERR_INFLATE_TRUNCATED;
        what = "connection ended inside a compressed payload";
    } else if (dgw_ws_mid_message(&c->ws)) {
        what = "connection ended inside a message";
    }
    dgw_set_error(c, err, what, NULL);
    closed_event(c, err, DGW_END_EOF);
}

/* Retry-After on a rejected upgrade (RFC 9110 10.2.3), honoured up to an
 * hour. */
static uint32_t retry_after_ms(const dgw_conn *c)
{
    long long s = c->resp.retry_after;
    if (s < 0)
        return 0;
    return s > 3600 ? 3600000u : (uint32_t)s * 1000u;
}

static void rejected(dgw_conn *c)
{
    const dgw_http_response *r = &c->resp;
    const char *base = (const char *)c->http.p + c->http.off;
    size_t body = dgw_buf_live(&c->http) - r->head_len;
    if (r->content_length >= 0 && (unsigned long long)r->content_length < body)
        body = (size_t)r->content_length;
    if (body > c->cfg.max_http_body_size)
        body = c->cfg.max_http_body_size;
    dgw_event *s = dgw_push_event(c, DGW_EV_REJECTED);
    s->http_status = r->status;
    s->http_headers = base + r->fields_off;
    s->http_headers_len = r->fields_len;
    s->http_body = base + r->head_len;
    s->http_body_len = body;
    if (!DGW_MUTANT(M_IGNORE_RETRY_AFTER))
        c->retry_after_ms = retry_after_ms(c);
    if (DGW_MUTANT(M_REJECTION_FATAL))
        c->fatal = true;
    char code[4] = {(char)('0' + r->status / 100 % 10),
                    (char)('0' + r->status / 10 % 10),
                    (char)('0' + r->status % 10), 0};
    dgw_set_error(c, DGW_ERR_REJECTED, "upgrade rejected with HTTP status ",
                  code);
    closed_event(c, DGW_ERR_REJECTED, DGW_END_REJECTED);
}

/* Where the next (or current) attempt goes: the resume URL while a session
 * can be resumed there, else the gateway URL. */
void dgw_conn_pick_url(dgw_conn *c)
{
    c->current_url = c->gateway_url;
    c->current_is_resume = false;
    const char *why;
    if (dgw_has_session(c) && c->resume_url && !c->resume_url_failed &&
        !DGW_MUTANT(M_RESUME_AT_GATEWAY_URL) &&
        dgw_url_parse(c->resume_url, &c->current_url, &why))
        c->current_is_resume = true;
    else
        c->current_url = c->gateway_url;
}

/* dgw_conn_reconnect(): the backoff, and what the next attempt uses. */
static uint32_t next_wait(dgw_conn *c)
{
    if (c->current_is_resume && !c->reached_open &&
        !DGW_MUTANT(M_NO_RESUME_URL_FALLBACK)) {
        /* Discord: when a reconnect fails, go back to the cached gateway
         * URL. The session is kept: RESUME works there too. */
        c->resume_url_failed = true;
    }
    bool stable = c->connected_at &&
                  (c->now - c->connected_at >= c->cfg.backoff_stable_ms ||
                   DGW_MUTANT(M_BACKOFF_RESET_ON_READY));
    if (stable)
        c->failures = 0;
    else if (c->failures < UINT32_MAX)
        c->failures++;
    uint64_t wait = 0;
    if (c->failures > 0) {
        /* Exponential, capped, with "equal jitter": half fixed, half
         * random, so retries spread out but never collapse to zero. */
        unsigned shift = c->failures - 1 > 16 ? 16 : c->failures - 1;
        wait = (uint64_t)c->cfg.backoff_base_ms << shift;
        if (wait > c->cfg.backoff_max_ms)
            wait = c->cfg.backoff_max_ms;
        wait = wait / 2 + dgw_random_u32(c) % (wait / 2 + 1);
    }
    wait = later(wait, c->retry_after_ms);
    if (!dgw_has_session(c) && c->identify_not_before > c->now)
        wait = later(wait, c->identify_not_before - c->now);
    dgw_conn_pick_url(c);
    return wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
}

/* The actions of one input. `from` is the state before, c->state the one
 * after. Returns an error only when an action failed in a way that ends
 * the connection (then dgw_step() applies IN_FAILURE). */
static dgw_err act(dgw_conn *c, const dgw_in *in, dgw_state from)
{
    const dgw_gw_msg *m = in->msg;
    switch (in->kind) {
    case IN_START:
        c->stats.attempts++;
        c->handshake_deadline = deadline(c, c->cfg.handshake_timeout_ms);
        return DGW_OK;
    case IN_UPGRADED:
        c->reached_open = true;
        c->handshake_deadline = deadline(c, c->cfg.handshake_timeout_ms);
        dgw_push_event(c, DGW_EV_UPGRADED);
        if (DGW_MUTANT(M_IDENTIFY_BEFORE_HELLO) && !dgw_has_session(c) &&
            c->now >= c->identify_not_before)
            return try_identify(c);
        return DGW_OK;
    case IN_REJECTED:
        rejected(c);
        return DGW_OK;
    case IN_HELLO_IDENTIFY:
        hello_event(c, in);
        start_heartbeat(c, m);
        if (DGW_MUTANT(M_IDENTIFY_BEFORE_HELLO) && c->session_sent)
            return DGW_OK;
        return try_identify(c);
    case IN_HELLO_RESUME:
        hello_event(c, in);
        start_heartbeat(c, m);
        return send_resume(c);
    case IN_HELLO_AGAIN:
        /* Only the interval changes: a HELLO is no ACK, and IDENTIFY or
         * RESUME already went (or waits). */
        hello_event(c, in);
        if (DGW_MUTANT(M_HELLO_IS_ACK))
            dgw_hb_acked(&c->hb, c->now);
        dgw_hb_change_interval(&c->hb, m->heartbeat_interval, c->now);
        dgw_rl_reserve_for_interval(&c->rl, c->cfg.rate_limit_reserved,
                                    m->heartbeat_interval);
        return DGW_OK;
    case IN_IDENTIFY_DUE:
        return try_identify(c);
    case IN_READY: {
        dgw_err e = take_session(c, m);
        if (e != DGW_OK)
            return e;
    }
        /* fall through */
    case IN_RESUMED:
        c->ready_deadline = 0;
        if (from != DGW_STATE_CONNECTED)
            c->connected_at = c->now;
        return dispatch_event(c, in);
    case IN_DISPATCH:
        return dispatch_event(c, in);
    case IN_ACK: {
        int64_t rtt = dgw_hb_acked(&c->hb, c->now);
        if (rtt >= 0) {
            c->stats.heartbeats_acked++;
            c->stats.latency_ms = rtt;
            c->stats.latency_avg_ms =
                c->stats.latency_avg_ms < 0
                    ? rtt
                    : c->stats.latency_avg_ms +
                          (rtt - c->stats.latency_avg_ms) / 8;
        }
        dgw_event *s = payload_event(c, DGW_EV_HEARTBEAT_ACK, in);
        s->latency_ms = rtt < 0 ? 0 : rtt > UINT32_MAX ? UINT32_MAX
                                                          : (uint32_t)rtt;
        return DGW_OK;
    }
    case IN_BEAT_REQUESTED:
        /* It expects an ACK like any beat; the regular schedule stays. */
        if (DGW_MUTANT(M_OP1_ANSWERED_LATE))
            return DGW_OK;
        return send_heartbeat(c, false);
    case IN_BEAT_DUE:
        return send_heartbeat(c, in->regular);
    case IN_FLUSH_DUE:
        return dgw_send_flush(c);
    case IN_ZOMBIE:
        fail_now(c, from, DGW_END_ZOMBIE, DGW_ERR_ZOMBIE,
                 DGW_MUTANT(M_ZOMBIE_CLOSE_1000) ? 1000 : DGW_CLOSE_RESUMABLE,
                 "no heartbeat ACK for a whole interval (zombie connection)",
                 NULL);
        return DGW_OK;
    case IN_READY_TIMEOUT:
        fail_now(c, from, DGW_END_TIMEOUT, DGW_ERR_TIMEOUT, DGW_CLOSE_RESUMABLE,
                 from == DGW_STATE_RESUMING ? "no RESUMED in time"
                                            : "no READY in time",
                 NULL);
        return DGW_OK;
    case IN_HANDSHAKE_TIMEOUT:
        fail_now(c, from, DGW_END_TIMEOUT, DGW_ERR_TIMEOUT, DGW_CLOSE_RESUMABLE,
                 from == DGW_STATE_UPGRADING ? "no upgrade response in time"
                                             : "no HELLO in time",
                 NULL);
        return DGW_OK;
    case IN_RECONNECT_OP:
        payload_event(c, DGW_EV_RECONNECT, in);
        if (DGW_MUTANT(M_RECONNECT_IDENTIFIES))
            clear_session(c);
        return begin_close(c,
                           DGW_MUTANT(M_RECONNECT_CLOSE_1000)
                               ? 1000
                               : DGW_CLOSE_RESUMABLE,
                           "reconnect requested", DGW_END_RECONNECT);
    case IN_INVALID_RESUME:
        payload_event(c, DGW_EV_INVALID_SESSION, in)->resumable = true;
        return begin_close(c, DGW_CLOSE_RESUMABLE, "resuming",
                           DGW_END_INVALID_SESSION);
    case IN_INVALID_NEW:
        /* A fresh IDENTIFY after a random 1-5 s (Discord's docs), on this
         * connection if it stays open, else on the next one. Nothing but
         * heartbeats goes out before it. */
        payload_event(c, DGW_EV_INVALID_SESSION, in)->resumable =
            m->resumable;
        clear_session(c);
        c->session_sent = false;
        c->ready_deadline = 0;
        c->identify_not_before =
            later(DGW_MUTANT(M_INVALID_SESSION_NO_WAIT)
                      ? c->now
                      : c->now + 1000 + dgw_random_u32(c) % 4001,
                  c->last_identify ? c->last_identify +
                                         c->cfg.identify_interval_ms
                                   : 0);
        return try_identify(c);
    case IN_OTHER:
        payload_event(c, DGW_EV_PAYLOAD, in);
        return DGW_OK;
    case IN_PING:
        if (c->close_sent)
            return DGW_OK; /* nothing may follow our close frame */
        if (DGW_MUTANT(M_NO_PONG))
            return DGW_OK;
        return dgw_send_frame(c, DGW_OP_PONG, in->ctrl,
                              DGW_MUTANT(M_PONG_EMPTY) ? 0 : in->ctrl_len);
    case IN_CALLER_CLOSE:
        if (from == DGW_STATE_UPGRADING) {
            /* No WebSocket yet: nothing to say to the server. */
            if (in->code == 1000 || in->code == 1001)
                clear_session(c);
            c->close_code = 0;
            closed_event(c, DGW_OK, DGW_END_CALLER);
            return DGW_OK;
        }
        return begin_close(c, in->code, in->why, DGW_END_CALLER);
    case IN_SERVER_CLOSE:
        server_close(c, in);
        return DGW_OK;
    case IN_CLOSE_TIMEOUT:
        dgw_set_error(c, DGW_ERR_TIMEOUT,
                      "the server did not answer our close frame", NULL);
        closed_event(c, DGW_ERR_TIMEOUT, c->closing_cause);
        return DGW_OK;
    case IN_EOF:
        eof(c, from);
        return DGW_OK;
    case IN_FAILURE:
        fail_now(c, from, DGW_END_ERROR, in->err, in->code, in->why, in->why2);
        return DGW_OK;
    case IN_RECONNECT:
        c->next_wait = next_wait(c);
        return DGW_OK;
    case IN__COUNT:
        break;
    }
    return DGW_OK;
}

void dgw_step(dgw_conn *c, const dgw_in *in)
{
    dgw_state from = c->state;
    const dgw_edge *e = find_edge(from, in->kind);
    if (!e)
        return; /* callers only give inputs the state accepts */
    if (e->to != DGW_SAME)
        c->state = (dgw_state)e->to;
    dgw_err err = act(c, in, from);
    if (err == DGW_OK)
        return;
    /* An action could not be carried out (no memory, output full): the
     * connection cannot go on. */
    dgw_in f = {.kind = IN_FAILURE, .err = err, .code = 1011,
                .why = c->errmsg[0] ? c->errmsg : dgw_strerror(err)};
    char why[DGW_ERRMSG_MAX];
    memcpy(why, f.why, strlen(f.why) + 1);
    f.why = why;
    dgw_step(c, &f);
}
