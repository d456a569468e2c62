/* commands.c - payloads the client sends, and the send path that keeps
 * them inside the gateway's limits (4096 bytes, 120 per 60 s). Payloads are
 * built in a stack buffer one byte larger than the limit, so the size check
 * costs nothing and sending never allocates except to queue output. */
#include <string.h>

#include "conn.h"

#define SEND_BUF (DGW_MAX_SEND_PAYLOAD + 1)

static dgw_err send_now(dgw_conn *c, const char *p, size_t n, bool heartbeat)
{
    dgw_rl_record(&c->rl, c->now, heartbeat);
    return dgw_ws_send(c, WSLAY_TEXT_FRAME, p, n);
}

dgw_err dgw_cmd_submit(dgw_conn *c, const char *p, size_t n, bool heartbeat)
{
    if (n > DGW_MAX_SEND_PAYLOAD)
        return dgw_set_error(c, DGW_ERR_SEND_TOO_LARGE,
                             "payload over 4096 bytes", NULL);
    if (heartbeat) {
        /* Heartbeats skip the queue (a late beat is a dead connection) and
         * may use the reserved slots; dgw_gw_heartbeat() checked that one
         * is free. */
        return send_now(c, p, n, true);
    }
    if (c->rl.q_head || !dgw_rl_can_send(&c->rl, c->now, false)) {
        dgw_err e = dgw_rl_enqueue(&c->rl, &c->mem, p, n);
        if (e == DGW_ERR_RATE_LIMITED)
            return dgw_set_error(c, e,
                                 "send rate limit reached and the send queue "
                                 "is full",
                                 NULL);
        return e;
    }
    return send_now(c, p, n, false);
}

dgw_err dgw_cmd_flush_queue(dgw_conn *c)
{
    if (c->state != DGW_STATE_IDENTIFYING && c->state != DGW_STATE_RESUMING &&
        c->state != DGW_STATE_CONNECTED)
        return DGW_OK;
    dgw_queued *q;
    while ((q = dgw_rl_peek(&c->rl)) && dgw_rl_can_send(&c->rl, c->now, false)) {
        dgw_err e = send_now(c, q->data, q->len, false);
        if (e != DGW_OK)
            return e;
        dgw_rl_pop(&c->rl, &c->mem);
    }
    return DGW_OK;
}

/* Builds IDENTIFY into w. Also used by dgw_conn_new() to refuse a
 * configuration whose IDENTIFY could never be sent. */
void dgw_cmd_build_identify(const dgw_conn *c, dgw_jw *w)
{
    const dgw_identify *id = &c->cfg.identify;
    dgw_jw_lit(w, "{\"op\":2,\"d\":{\"token\":");
    dgw_jw_str(w, c->token);
    dgw_jw_lit(w, ",\"intents\":");
    dgw_jw_int(w, (int64_t)id->intents);
    dgw_jw_lit(w, ",\"properties\":{\"os\":");
    dgw_jw_str(w, c->os ? c->os : "linux");
    dgw_jw_lit(w, ",\"browser\":");
    dgw_jw_str(w, c->browser ? c->browser : "libdgw");
    dgw_jw_lit(w, ",\"device\":");
    dgw_jw_str(w, c->device ? c->device : "libdgw");
    dgw_jw_lit(w, "}");
    if (id->large_threshold) {
        dgw_jw_lit(w, ",\"large_threshold\":");
        dgw_jw_int(w, id->large_threshold);
    }
    if (id->shard_count) {
        dgw_jw_lit(w, ",\"shard\":[");
        dgw_jw_int(w, id->shard_id);
        dgw_jw_lit(w, ",");
        dgw_jw_int(w, id->shard_count);
        dgw_jw_lit(w, "]");
    }
    if (c->presence) {
        dgw_jw_lit(w, ",\"presence\":");
        dgw_jw_lit(w, c->presence);
    }
    dgw_jw_lit(w, "}}");
}

dgw_err dgw_cmd_identify(dgw_conn *c)
{
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_cmd_build_identify(c, &w);
    if (w.overflow)
        return dgw_set_error(c, DGW_ERR_SEND_TOO_LARGE, "IDENTIFY too large",
                             NULL);
    return dgw_cmd_submit(c, buf, w.len, false);
}

dgw_err dgw_cmd_resume(dgw_conn *c)
{
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":6,\"d\":{\"token\":");
    dgw_jw_str(&w, c->token);
    dgw_jw_lit(&w, ",\"session_id\":");
    dgw_jw_str(&w, c->session_id);
    dgw_jw_lit(&w, ",\"seq\":");
    if (c->seq >= 0)
        dgw_jw_int(&w, c->seq);
    else
        dgw_jw_lit(&w, "null");
    dgw_jw_lit(&w, "}}");
    if (w.overflow)
        return dgw_set_error(c, DGW_ERR_SEND_TOO_LARGE, "RESUME too large",
                             NULL);
    return dgw_cmd_submit(c, buf, w.len, false);
}

/* Commands need an open gateway connection whose IDENTIFY/RESUME went out
 * (or goes out first: the send queue keeps order). */
static dgw_err can_command(dgw_conn *c, uint64_t now)
{
    c->now = now;
    switch (c->state) {
    case DGW_STATE_IDENTIFYING:
        if (c->identify_pending)
            return dgw_set_error(c, DGW_ERR_STATE,
                                 "IDENTIFY is waiting out INVALID_SESSION; "
                                 "commands must wait too",
                                 NULL);
        return DGW_OK;
    case DGW_STATE_RESUMING:
    case DGW_STATE_CONNECTED:
        return DGW_OK;
    default:
        return dgw_set_error(c, DGW_ERR_STATE,
                             "cannot send in state ", dgw_state_name(c->state));
    }
}

static dgw_err finish(dgw_conn *c, dgw_jw *w)
{
    if (w->overflow)
        return dgw_set_error(c, DGW_ERR_SEND_TOO_LARGE,
                             "command payload over 4096 bytes", NULL);
    return dgw_cmd_submit(c, w->p, w->len, false);
}

/* Text frames must be UTF-8 (RFC 6455 5.6), and the server would close
 * 1007 on anything else: caller strings are checked before they are sent. */
static bool is_json(const char *s)
{
    return s && dgw_json_is_value(s, strlen(s)) && dgw_utf8_valid_str(s);
}

static bool is_snowflake(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

dgw_err dgw_conn_send(dgw_conn *c, int op, const char *d_json, size_t d_len,
                      uint64_t now_ms)
{
    if (!c || op < 0 || op > 255 || (d_len && !d_json))
        return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    if (d_len == 0) {
        d_json = "null";
        d_len = 4;
    } else if (!dgw_json_is_value(d_json, d_len) ||
               !dgw_utf8_valid(d_json, d_len)) {
        return dgw_set_error(c, DGW_ERR_INVALID_ARGUMENT,
                             "d is not one JSON value in UTF-8", NULL);
    }
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":");
    dgw_jw_int(&w, op);
    dgw_jw_lit(&w, ",\"d\":");
    dgw_jw_raw(&w, d_json, d_len);
    dgw_jw_lit(&w, "}");
    return finish(c, &w);
}

dgw_err dgw_conn_update_presence(dgw_conn *c, const dgw_presence *p,
                                 uint64_t now_ms)
{
    if (!c || !p || !p->status || !dgw_utf8_valid_str(p->status) ||
        (p->activities_json && !is_json(p->activities_json)))
        return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":3,\"d\":{\"since\":");
    if (p->since_ms >= 0)
        dgw_jw_int(&w, p->since_ms);
    else
        dgw_jw_lit(&w, "null");
    dgw_jw_lit(&w, ",\"activities\":");
    dgw_jw_lit(&w, p->activities_json ? p->activities_json : "[]");
    dgw_jw_lit(&w, ",\"status\":");
    dgw_jw_str(&w, p->status);
    dgw_jw_lit(&w, ",\"afk\":");
    dgw_jw_bool(&w, p->afk);
    dgw_jw_lit(&w, "}}");
    return finish(c, &w);
}

dgw_err dgw_conn_update_voice_state(dgw_conn *c, const dgw_voice_state *v,
                                    uint64_t now_ms)
{
    if (!c || !v || !is_snowflake(v->guild_id) ||
        (v->channel_id && !is_snowflake(v->channel_id)))
        return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":4,\"d\":{\"guild_id\":");
    dgw_jw_str(&w, v->guild_id);
    dgw_jw_lit(&w, ",\"channel_id\":");
    if (v->channel_id)
        dgw_jw_str(&w, v->channel_id);
    else
        dgw_jw_lit(&w, "null");
    dgw_jw_lit(&w, ",\"self_mute\":");
    dgw_jw_bool(&w, v->self_mute);
    dgw_jw_lit(&w, ",\"self_deaf\":");
    dgw_jw_bool(&w, v->self_deaf);
    dgw_jw_lit(&w, "}}");
    return finish(c, &w);
}

dgw_err dgw_conn_request_guild_members(dgw_conn *c,
                                       const dgw_request_members *r,
                                       uint64_t now_ms)
{
    if (!c || !r || !is_snowflake(r->guild_id) ||
        (r->user_ids_json && !is_json(r->user_ids_json)) ||
        (r->nonce && strlen(r->nonce) > 32) || !dgw_utf8_valid_str(r->query) ||
        !dgw_utf8_valid_str(r->nonce))
        return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":8,\"d\":{\"guild_id\":");
    dgw_jw_str(&w, r->guild_id);
    if (r->query || !r->user_ids_json) {
        dgw_jw_lit(&w, ",\"query\":");
        dgw_jw_str(&w, r->query ? r->query : "");
        dgw_jw_lit(&w, ",\"limit\":");
        dgw_jw_int(&w, r->limit);
    }
    if (r->user_ids_json) {
        dgw_jw_lit(&w, ",\"user_ids\":");
        dgw_jw_lit(&w, r->user_ids_json);
    }
    if (r->presences)
        dgw_jw_lit(&w, ",\"presences\":true");
    if (r->nonce) {
        dgw_jw_lit(&w, ",\"nonce\":");
        dgw_jw_str(&w, r->nonce);
    }
    dgw_jw_lit(&w, "}}");
    return finish(c, &w);
}

dgw_err dgw_conn_request_soundboard_sounds(dgw_conn *c,
                                           const char *const *guild_ids,
                                           size_t n, uint64_t now_ms)
{
    if (!c || (n && !guild_ids))
        return DGW_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!is_snowflake(guild_ids[i]))
            return DGW_ERR_INVALID_ARGUMENT;
    dgw_err e = can_command(c, now_ms);
    if (e != DGW_OK)
        return e;
    char buf[SEND_BUF];
    dgw_jw w;
    dgw_jw_init(&w, buf, sizeof buf);
    dgw_jw_lit(&w, "{\"op\":31,\"d\":{\"guild_ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            dgw_jw_lit(&w, ",");
        dgw_jw_str(&w, guild_ids[i]);
    }
    dgw_jw_lit(&w, "]}}");
    return finish(c, &w);
}
