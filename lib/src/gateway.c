/* gateway.c - what received payloads mean, and the heartbeat clock.
 *
 * PROTOCOL.md section 3 in code: HELLO starts the heartbeat (first beat
 * jittered) and IDENTIFY or RESUME; READY/RESUMED make the session live;
 * op 1 asks for a beat now; op 7 and op 9 end the connection in the way
 * each requires; a beat due while the last one is unacknowledged means the
 * connection is a zombie. */
#include <string.h>

#include "conn.h"

/* Longer than any real interval (Discord sends ~41 s); anything above is a
 * broken or hostile server, and would park the connection for hours. */
#define DGW_HEARTBEAT_MAX_MS 600000u

typedef struct payload {
    int64_t op;
    bool has_op;
    dgw_span d, t, s;
    dgw_json_type d_type, t_type, s_type;
} payload;

static dgw_err bad_payload(dgw_conn *c, dgw_err err, const char *why)
{
    return dgw_fail(c, err, 1007, why, NULL);
}

static dgw_err scan(dgw_conn *c, const char *p, size_t n, payload *pl)
{
    dgw_json_iter it;
    dgw_span k, v;
    dgw_json_type t;
    memset(pl, 0, sizeof *pl);
    if (!dgw_json_iter_init(&it, (dgw_span){p, n}))
        return bad_payload(c, DGW_ERR_PAYLOAD, "payload is not a JSON object");
    while (dgw_json_iter_next(&it, &k, &v, &t)) {
        if (dgw_json_key_is(k, "op")) {
            if (t != DGW_JSON_NUMBER || !dgw_json_int(v, &pl->op) ||
                pl->op < 0 || pl->op > 255)
                return bad_payload(c, DGW_ERR_PAYLOAD,
                                   "payload \"op\" is not a small integer");
            pl->has_op = true;
        } else if (dgw_json_key_is(k, "d")) {
            pl->d = v;
            pl->d_type = t;
        } else if (dgw_json_key_is(k, "t")) {
            pl->t = v;
            pl->t_type = t;
        } else if (dgw_json_key_is(k, "s")) {
            pl->s = v;
            pl->s_type = t;
        }
    }
    if (it.failed)
        return bad_payload(c, DGW_ERR_PAYLOAD, "payload is not valid JSON");
    for (const char *q = it.p; q < p + n; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
            return bad_payload(c, DGW_ERR_PAYLOAD,
                               "payload has bytes after the JSON object");
    if (!pl->has_op)
        return bad_payload(c, DGW_ERR_PAYLOAD, "payload has no \"op\"");
    return DGW_OK;
}

static dgw_evslot *payload_event(dgw_conn *c, dgw_event_type type,
                                 const payload *pl, const char *p, size_t n)
{
    dgw_evslot *s = dgw_push_event(c, type);
    s->ev.op = (int)pl->op;
    s->ev.seq = -1;
    if (pl->d_type != DGW_JSON_INVALID) {
        s->ev.data = pl->d.p;
        s->ev.data_len = pl->d.n;
    } else {
        s->ev.data = "null";
        s->ev.data_len = 4;
    }
    s->ev.payload = p;
    s->ev.payload_len = n;
    return s;
}

static dgw_err on_ready(dgw_conn *c, const payload *pl)
{
    dgw_span v;
    char url[DGW_URL_PATH_MAX + DGW_URL_HOST_MAX];
    if (pl->d_type != DGW_JSON_OBJECT ||
        dgw_json_get(pl->d, "session_id", &v) != DGW_JSON_STRING ||
        dgw_json_unescape(v, c->session_id, sizeof c->session_id) <= 0) {
        c->session_id[0] = '\0';
        return bad_payload(c, DGW_ERR_READY,
                           "READY without a usable session_id");
    }
    dgw_mem_strfree(&c->mem, c->resume_url);
    c->resume_url = NULL;
    if (dgw_json_get(pl->d, "resume_gateway_url", &v) == DGW_JSON_STRING &&
        dgw_json_unescape(v, url, sizeof url) > 0) {
        dgw_url parsed;
        const char *why;
        /* An unusable resume URL is not fatal: resume at the gateway URL. */
        if (dgw_url_parse(url, &parsed, &why)) {
            c->resume_url = dgw_mem_strdup(&c->mem, url);
            if (!c->resume_url)
                return dgw_fail(c, DGW_ERR_NOMEM, 1011, "out of memory", NULL);
        }
    }
    return DGW_OK;
}

static dgw_err on_dispatch(dgw_conn *c, const payload *pl, const char *p,
                           size_t n)
{
    char name[DGW_NAME_MAX];
    name[0] = '\0';
    if (pl->t_type == DGW_JSON_STRING &&
        dgw_json_unescape(pl->t, name, sizeof name) < 0)
        return bad_payload(c, DGW_ERR_PAYLOAD,
                           "dispatch event name is malformed or too long");
    int64_t seq = -1;
    if (pl->s_type == DGW_JSON_NUMBER && (!dgw_json_int(pl->s, &seq) || seq < 0))
        return bad_payload(c, DGW_ERR_PAYLOAD,
                           "dispatch \"s\" is not a non-negative integer");
    if (strcmp(name, "READY") == 0) {
        dgw_err e = on_ready(c, pl);
        if (e != DGW_OK)
            return e;
    }
    if (seq >= 0)
        c->seq = seq;
    if (strcmp(name, "READY") == 0 || strcmp(name, "RESUMED") == 0) {
        /* The session works again: reset backoff, leave the handshake. */
        if (c->state == DGW_STATE_IDENTIFYING || c->state == DGW_STATE_RESUMING)
            c->state = DGW_STATE_CONNECTED;
        c->attempts = 0;
    }
    dgw_evslot *s = payload_event(c, DGW_EV_DISPATCH, pl, p, n);
    s->ev.seq = seq;
    if (name[0]) {
        memcpy(s->name, name, sizeof name);
        s->ev.name = s->name;
    }
    return DGW_OK;
}

static dgw_err on_hello(dgw_conn *c, const payload *pl, const char *p,
                        size_t n)
{
    dgw_span v;
    int64_t iv;
    if (pl->d_type != DGW_JSON_OBJECT ||
        dgw_json_get(pl->d, "heartbeat_interval", &v) != DGW_JSON_NUMBER)
        return bad_payload(c, DGW_ERR_HELLO,
                           "HELLO without a numeric heartbeat_interval");
    if (!dgw_json_int(v, &iv) || iv <= 0 || iv > DGW_HEARTBEAT_MAX_MS)
        return bad_payload(c, DGW_ERR_HELLO,
                           "HELLO heartbeat_interval is not an integer in "
                           "1..600000 ms");
    bool first = c->hb_interval == 0;
    c->hb_interval = (uint32_t)iv;
    dgw_rl_reserve_for_interval(&c->rl, c->cfg.rate_limit_reserved,
                                c->hb_interval);
    /* First beat at interval * jitter, jitter uniform in [0, 1): spreads
     * the beats of many clients that connected at once. */
    uint64_t jitter = ((uint64_t)c->hb_interval * dgw_random_u32(c)) >> 32;
    c->hb_next = c->now + jitter;
    c->hb_acked = true;
    c->handshake_deadline = 0;
    dgw_evslot *s = payload_event(c, DGW_EV_HELLO, pl, p, n);
    s->ev.heartbeat_interval_ms = c->hb_interval;
    if (!first || c->state != DGW_STATE_WAIT_HELLO)
        return DGW_OK; /* a repeated HELLO only re-arms the heartbeat */
    if (dgw_has_session(c)) {
        c->state = DGW_STATE_RESUMING;
        return dgw_cmd_resume(c);
    }
    c->state = DGW_STATE_IDENTIFYING;
    if (c->identify_pending && c->identify_at > c->now)
        return DGW_OK; /* INVALID_SESSION's wait is not over */
    c->identify_pending = false;
    return dgw_cmd_identify(c);
}

dgw_err dgw_gw_payload(dgw_conn *c, const char *p, size_t n)
{
    payload pl;
    dgw_err e = scan(c, p, n, &pl);
    if (e != DGW_OK)
        return e;
    if (c->state == DGW_STATE_CLOSING && pl.op != 0 && pl.op != 11) {
        /* Our close frame is out: nothing may follow it (RFC 6455 5.5.1),
         * and the connection is ending anyway. Report, do not act. */
        payload_event(c, DGW_EV_PAYLOAD, &pl, p, n);
        return DGW_OK;
    }
    switch (pl.op) {
    case 0:
        return on_dispatch(c, &pl, p, n);
    case 1:
        /* The server wants a beat now; it expects an ACK for it too. */
        return c->hb_interval ? dgw_gw_heartbeat(c) : DGW_OK;
    case 7:
        payload_event(c, DGW_EV_RECONNECT, &pl, p, n);
        return dgw_begin_close(c, DGW_CLOSE_RESUMABLE, "reconnect requested");
    case 9: {
        bool resumable = pl.d_type == DGW_JSON_TRUE;
        dgw_evslot *s = payload_event(c, DGW_EV_INVALID_SESSION, &pl, p, n);
        s->ev.resumable = resumable;
        if (resumable)
            return dgw_begin_close(c, DGW_CLOSE_RESUMABLE, "resuming");
        /* A fresh IDENTIFY after a random 1-5 s (Discord's docs), on this
         * connection if it stays open, else on the next one. */
        dgw_clear_session(c);
        c->identify_at = c->now + 1000 + dgw_random_u32(c) % 4001;
        c->identify_pending = true;
        if (c->state == DGW_STATE_RESUMING || c->state == DGW_STATE_CONNECTED)
            c->state = DGW_STATE_IDENTIFYING;
        return DGW_OK;
    }
    case 10:
        return on_hello(c, &pl, p, n);
    case 11: {
        /* An ACK with no beat outstanding (servers do send extras) leaves
         * the measured latency alone. */
        if (!c->hb_acked)
            c->latency = (int64_t)(c->now - c->hb_sent_at);
        c->hb_acked = true;
        dgw_evslot *s = payload_event(c, DGW_EV_HEARTBEAT_ACK, &pl, p, n);
        s->ev.latency_ms = c->latency < 0 ? 0
                           : c->latency > UINT32_MAX ? UINT32_MAX
                                                     : (uint32_t)c->latency;
        return DGW_OK;
    }
    default:
        payload_event(c, DGW_EV_PAYLOAD, &pl, p, n);
        return DGW_OK;
    }
}

dgw_err dgw_gw_heartbeat(dgw_conn *c)
{
    /* Beats count against the 120/60 s limit too. The reserve sized at
     * HELLO keeps a slot free for every regular beat; only a server that
     * floods op 1 can use them up, and then the beat waits for a slot
     * rather than earn a 4008 close. */
    if (!dgw_rl_can_send(&c->rl, c->now, true)) {
        c->hb_deferred = true;
        return DGW_OK;
    }
    c->hb_deferred = false;
    char buf[48];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":1,\"d\":");
    if (c->seq >= 0)
        dgw_jw_int(&w, c->seq);
    else
        dgw_jw_lit(&w, "null");
    dgw_jw_lit(&w, "}");
    c->hb_sent_at = c->now;
    c->hb_acked = false;
    return dgw_cmd_submit(c, buf, w.len, true);
}

static bool heartbeating(const dgw_conn *c)
{
    return c->hb_interval > 0 && (c->state == DGW_STATE_IDENTIFYING ||
                                  c->state == DGW_STATE_RESUMING ||
                                  c->state == DGW_STATE_CONNECTED);
}

dgw_err dgw_gw_timeouts(dgw_conn *c)
{
    uint64_t now = c->now;
    if (c->handshake_deadline && now >= c->handshake_deadline &&
        (c->state == DGW_STATE_UPGRADING || c->state == DGW_STATE_WAIT_HELLO))
        return dgw_fail(c, DGW_ERR_TIMEOUT, 1002,
                        c->state == DGW_STATE_UPGRADING
                            ? "no upgrade response in time"
                            : "no HELLO in time",
                        NULL);
    if (c->state == DGW_STATE_CLOSING && c->close_deadline &&
        now >= c->close_deadline) {
        dgw_finish_close(c, DGW_ERR_TIMEOUT);
        return DGW_OK;
    }
    if (heartbeating(c) && now >= c->hb_next) {
        if (!c->hb_acked)
            return dgw_fail(c, DGW_ERR_ZOMBIE, DGW_CLOSE_RESUMABLE,
                            "no heartbeat ACK before the next beat was due "
                            "(zombie connection)",
                            NULL);
        dgw_err e = dgw_gw_heartbeat(c);
        if (e != DGW_OK)
            return e;
        c->hb_next += c->hb_interval;
        if (c->hb_next <= now) /* the caller slept through beats */
            c->hb_next = now + c->hb_interval;
    }
    if (c->hb_deferred && heartbeating(c)) {
        dgw_err e = dgw_gw_heartbeat(c);
        if (e != DGW_OK)
            return e;
    }
    if (c->identify_pending && now >= c->identify_at &&
        c->state == DGW_STATE_IDENTIFYING && c->hb_interval > 0) {
        c->identify_pending = false;
        dgw_err e = dgw_cmd_identify(c);
        if (e != DGW_OK)
            return e;
    }
    return dgw_cmd_flush_queue(c);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return b && b < a ? b : a;
}

uint64_t dgw_gw_next_timeout(const dgw_conn *c)
{
    uint64_t t = DGW_NO_TIMEOUT;
    if (c->state == DGW_STATE_UPGRADING || c->state == DGW_STATE_WAIT_HELLO)
        t = earliest(t, c->handshake_deadline);
    if (c->state == DGW_STATE_CLOSING)
        return earliest(t, c->close_deadline);
    if (heartbeating(c))
        t = earliest(t, c->hb_next ? c->hb_next : 1);
    if (c->identify_pending && c->state == DGW_STATE_IDENTIFYING &&
        c->hb_interval > 0)
        t = earliest(t, c->identify_at ? c->identify_at : 1);
    if (c->rl.q_head && heartbeating(c))
        t = earliest(t, dgw_rl_next_free(&c->rl, c->now, false));
    if (c->hb_deferred && heartbeating(c))
        t = earliest(t, dgw_rl_next_free(&c->rl, c->now, true));
    return t;
}
