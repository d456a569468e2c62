/* send.c - the send path: frames out, the 120-per-60-s window, the command
 * queue, and the public command calls (their life cycle is in dgw.h).
 *
 * Heartbeats may use the slots kept for them; IDENTIFY and RESUME take any
 * free slot and never wait behind queued commands; commands wait until the
 * connection's IDENTIFY or RESUME is out, then go in order while the
 * window has room for them. */
#include <string.h>

#include "commands.h"
#include "conn.h"
#include "etf.h"

dgw_err dgw_send_frame(dgw_conn *c, uint8_t opcode, const void *p, size_t n)
{
    uint8_t mask[4];
    c->cfg.random(c->cfg.random_user, mask, sizeof mask);
    if (dgw_frame_write(&c->mem, &c->out, DGW_OUT_MAX, opcode, p, n, mask) ==
        DGW_OK)
        return DGW_OK;
    return dgw_set_error(c, DGW_ERR_NOMEM,
                         "cannot queue output (out of memory, or over 1 MiB "
                         "unwritten: is the caller writing?)",
                         NULL);
}

bool dgw_send_slot(dgw_conn *c, dgw_send_kind kind)
{
    return dgw_rl_can_send(&c->rl, c->now, kind != DGW_SEND_COMMAND);
}

dgw_err dgw_send_prepare(dgw_encoding enc, const char *json, size_t n,
                         uint8_t buf[DGW_MAX_SEND_PAYLOAD],
                         const uint8_t **wire, size_t *wire_n,
                         const char **why)
{
    if (enc == DGW_ENCODING_ETF) {
        *wire = buf;
        return (dgw_err)dgw_etf_encode(json, n, 0, buf, DGW_MAX_SEND_PAYLOAD,
                                       wire_n, why);
    }
    if (n > DGW_MAX_SEND_PAYLOAD) {
        *why = "payload over 4096 bytes";
        return DGW_ERR_SEND_TOO_LARGE;
    }
    *wire = (const uint8_t *)json;
    *wire_n = n;
    return DGW_OK;
}

dgw_err dgw_send_payload(dgw_conn *c, const char *json, size_t n,
                         dgw_send_kind kind)
{
    uint8_t buf[DGW_MAX_SEND_PAYLOAD];
    const uint8_t *wire;
    size_t wn;
    const char *why = NULL;
    dgw_err e = dgw_send_prepare(c->cfg.encoding, json, n, buf, &wire, &wn, &why);
    if (e != DGW_OK)
        return dgw_set_error(c, e, why, NULL);
    return dgw_send_wire(c, wire, wn, kind);
}

dgw_err dgw_send_wire(dgw_conn *c, const uint8_t *p, size_t n,
                      dgw_send_kind kind)
{
    uint8_t op = c->cfg.encoding == DGW_ENCODING_ETF ? DGW_OP_BINARY
                                                     : DGW_OP_TEXT;
    dgw_err e = dgw_send_frame(c, op, p, n);
    if (e != DGW_OK)
        return e;
    dgw_rl_record(&c->rl, c->now, kind == DGW_SEND_HEARTBEAT);
    if (kind == DGW_SEND_COMMAND)
        c->stats.commands_sent++;
    return DGW_OK;
}

bool dgw_send_can_flush(const dgw_conn *c)
{
    return c->rl.q_head && c->session_sent &&
           dgw_rl_available_at(&c->rl, c->now, false) <= c->now;
}

dgw_err dgw_send_flush(dgw_conn *c)
{
    if (!c->session_sent)
        return DGW_OK;
    dgw_queued *q;
    while ((q = dgw_rl_peek(&c->rl)) && dgw_send_slot(c, DGW_SEND_COMMAND)) {
        dgw_err e = dgw_send_wire(c, (const uint8_t *)q->data, q->len,
                                  DGW_SEND_COMMAND);
        if (e != DGW_OK)
            return e;
        dgw_rl_pop(&c->rl, &c->mem);
    }
    return DGW_OK;
}

void dgw_send_drop_queue(dgw_conn *c)
{
    uint32_t n = c->rl.q_len;
    if (n == 0)
        return;
    while (dgw_rl_peek(&c->rl))
        dgw_rl_pop(&c->rl, &c->mem);
    c->stats.commands_dropped += n;
    dgw_push_event(c, DGW_EV_COMMANDS_DROPPED)->dropped = n;
}

uint64_t dgw_send_next_due(const dgw_conn *c)
{
    uint64_t t = DGW_NO_TIMEOUT;
    if (c->hb.deferred)
        t = dgw_rl_available_at(&c->rl, c->now, true);
    if (c->rl.q_head && c->session_sent) {
        uint64_t q = dgw_rl_available_at(&c->rl, c->now, false);
        if (q < t)
            t = q;
    }
    return t;
}

uint64_t dgw_send_session_due(const dgw_conn *c)
{
    uint64_t slot = dgw_rl_available_at(&c->rl, c->now, true);
    return slot > c->identify_not_before ? slot : c->identify_not_before;
}

/* ---- the public command calls ---------------------------------------- */

/* Commands need an open gateway connection with a session on the way. */
static dgw_err can_command(dgw_conn *c, uint64_t now)
{
    c->now = now;
    switch (c->state) {
    case DGW_STATE_IDENTIFYING:
    case DGW_STATE_RESUMING:
    case DGW_STATE_CONNECTED:
        return DGW_OK;
    default:
        return dgw_set_error(c, DGW_ERR_STATE, "cannot send in state ",
                             dgw_state_name(c->state));
    }
}

static dgw_err submit(dgw_conn *c, dgw_err built, const dgw_jw *w,
                      const char *why)
{
    if (built != DGW_OK)
        return dgw_set_error(c, built, why, NULL);
    /* The queue holds the wire form: the limit is checked now, on what
     * will be sent, and nothing is encoded twice. */
    uint8_t buf[DGW_MAX_SEND_PAYLOAD];
    const uint8_t *wire;
    size_t wn;
    dgw_err e = dgw_send_prepare(c->cfg.encoding, w->p, w->len, buf, &wire, &wn,
                                 &why);
    if (e != DGW_OK)
        return dgw_set_error(c, e, why, NULL);
    if (c->rl.q_head || !c->session_sent ||
        !dgw_send_slot(c, DGW_SEND_COMMAND)) {
        e = dgw_rl_enqueue(&c->rl, &c->mem, (const char *)wire, wn);
        if (e == DGW_ERR_RATE_LIMITED)
            return dgw_set_error(c, e,
                                 "send rate limit reached and the send queue "
                                 "is full",
                                 NULL);
        if (e == DGW_OK)
            c->stats.commands_queued++;
        return e;
    }
    return dgw_send_wire(c, wire, wn, DGW_SEND_COMMAND);
}

dgw_err dgw_conn_send(dgw_conn *c, int op, const char *d_json, size_t d_len,
                      uint64_t now_ms)
{
    if (!c || op < 0 || op > 255 || (d_len && !d_json))
        return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    char buf[DGW_CMD_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    const char *why = NULL;
    e = dgw_cmd_raw(op, d_json, d_len, &w, &why);
    return submit(c, e, &w, why);
}

/* The typed commands: validate and build with `build`, then submit. An
 * invalid argument is refused before the state is looked at. */
typedef dgw_err (*build_fn)(const void *arg, dgw_jw *w, const char **why);

static dgw_err command(dgw_conn *c, uint64_t now, build_fn build,
                       const void *arg)
{
    if (!c || !arg)
        return DGW_ERR_INVALID_ARGUMENT;
    char buf[DGW_CMD_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    const char *why = NULL;
    dgw_err e = build(arg, &w, &why);
    if (e == DGW_ERR_INVALID_ARGUMENT)
        return e;
    dgw_err s = can_command(c, now);
    return s != DGW_OK ? s : submit(c, e, &w, why);
}

static dgw_err build_presence(const void *a, dgw_jw *w, const char **why)
{
    return dgw_cmd_presence(a, w, why);
}

static dgw_err build_voice_state(const void *a, dgw_jw *w, const char **why)
{
    return dgw_cmd_voice_state(a, w, why);
}

static dgw_err build_members(const void *a, dgw_jw *w, const char **why)
{
    return dgw_cmd_request_members(a, w, why);
}

typedef struct guild_list {
    const char *const *ids;
    size_t n;
} guild_list;

static dgw_err build_soundboard(const void *a, dgw_jw *w, const char **why)
{
    const guild_list *g = a;
    return dgw_cmd_soundboard(g->ids, g->n, w, why);
}

typedef struct channel_info {
    const char *guild_id;
    unsigned fields;
} channel_info;

static dgw_err build_channel_info(const void *a, dgw_jw *w, const char **why)
{
    const channel_info *ci = a;
    return dgw_cmd_channel_info(ci->guild_id, ci->fields, w, why);
}

dgw_err dgw_conn_update_presence(dgw_conn *c, const dgw_presence *p,
                                 uint64_t now_ms)
{
    return command(c, now_ms, build_presence, p);
}

dgw_err dgw_conn_update_voice_state(dgw_conn *c, const dgw_voice_state *v,
                                    uint64_t now_ms)
{
    return command(c, now_ms, build_voice_state, v);
}

dgw_err dgw_conn_request_guild_members(dgw_conn *c,
                                       const dgw_request_members *r,
                                       uint64_t now_ms)
{
    return command(c, now_ms, build_members, r);
}

dgw_err dgw_conn_request_soundboard_sounds(dgw_conn *c,
                                           const char *const *guild_ids,
                                           size_t n, uint64_t now_ms)
{
    guild_list g = {guild_ids, n};
    return command(c, now_ms, build_soundboard, &g);
}

dgw_err dgw_conn_request_channel_info(dgw_conn *c, const char *guild_id,
                                      unsigned fields, uint64_t now_ms)
{
    channel_info ci = {guild_id, fields};
    return command(c, now_ms, build_channel_info, &ci);
}
