#include "default_mode.h"

#include "encoding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Per-connection state of the default mode. */
typedef struct dm_conn {
    mg_conn *c;
    int version;
    int identified;
    mg_session *session;
    uint64_t hb_deadline;       /* heartbeat must arrive before this */
    uint64_t identify_deadline; /* 0 once identified/resumed */
    uint64_t next_message;
    uint64_t messages;
    int zpayload; /* IDENTIFY asked for payload compression */
    mg_ratelimit rl;
} dm_conn;

int mg_build_ready(mg_buf *out, int version, const char *session_id, const char *resume_url,
                   int guilds, int shard_id, int shard_count, size_t pad_to)
{
    size_t start = out->len;
    int rc = mg_buf_printf(out,
                           "{\"v\":%d,\"user\":{\"id\":\"100000000000000001\",\"username\":\"mockbot\","
                           "\"discriminator\":\"0000\",\"global_name\":null,\"avatar\":null,\"bot\":true},"
                           "\"session_id\":\"%s\",\"resume_gateway_url\":\"%s\",\"session_type\":\"normal\","
                           "\"shard\":[%d,%d],\"application\":{\"id\":\"100000000000000001\",\"flags\":0},"
                           "\"_trace\":[\"mockgateway\"],\"private_channels\":[],\"guilds\":[",
                           version, session_id, resume_url, shard_id, shard_count);
    int n = 0;
    for (int k = 0, i; rc == 0 && (i = mg_shard_guild(guilds, shard_id, shard_count, k)) >= 0; k++)
        rc = mg_buf_printf(out, "%s{\"id\":\"%llu\",\"unavailable\":true}", n++ ? "," : "",
                           (unsigned long long)mg_guild_id(i));
    /* A big READY: more unavailable guild stubs, like a bot in many guilds. */
    for (int i = 1000000; rc == 0 && out->len - start + 3 < pad_to; i++)
        rc = mg_buf_printf(out, "%s{\"id\":\"%llu\",\"unavailable\":true}", n++ ? "," : "",
                           (unsigned long long)mg_guild_id(i));
    if (rc == 0)
        rc = mg_buf_append_str(out, "]}");
    return rc;
}

int mg_build_guild_create(mg_buf *out, int i)
{
    unsigned long long id = (unsigned long long)mg_guild_id(i);
    return mg_buf_printf(out,
                         "{\"id\":\"%llu\",\"name\":\"Mock Guild %d\",\"unavailable\":false,"
                         "\"member_count\":1,\"large\":false,\"owner_id\":\"100000000000000002\","
                         "\"roles\":[],\"emojis\":[],\"members\":[],\"voice_states\":[],\"presences\":[],"
                         "\"threads\":[],\"stage_instances\":[],\"channels\":[{\"id\":\"%llu\","
                         "\"type\":0,\"name\":\"general\"}]}",
                         id, i + 1, id + 1);
}

static void send_json(mg_conn *c, const char *json)
{
    mg_conn_send_payload(c, json, strlen(json), NULL);
}

static void close_with(mg_default_mode *m, dm_conn *dc, int code)
{
    MG_INFO(&m->srv->cfg.log, "conn %llu: closing %d (%s)", (unsigned long long)dc->c->id, code,
            mg_close_reason(code));
    if (dc->session && (code == MG_CLOSE_INVALID_SEQ || code == MG_CLOSE_SESSION_TIMEOUT)) {
        mg_session_remove(&m->sessions, dc->session); /* these codes end the session */
        dc->session = NULL;
    }
    mg_conn_close(dc->c, code, mg_close_reason(code));
}

/* Payload compression, as Discord does it: only some payloads (here the
 * larger ones, READY and GUILD_CREATE) come as a zlib stream. */
#define DM_ZPAYLOAD_MIN 256

static void dispatch(mg_default_mode *m, dm_conn *dc, const char *t, const char *d)
{
    (void)m;
    mg_buf p = {0};
    mg_send_opts o = {.ping_len = -1, .zpayload = MG_ZPAYLOAD_WHOLE};
    if (mg_session_dispatch(dc->session, t, d, &p) >= 0)
        mg_conn_send_payload(dc->c, (const char *)p.data, p.len,
                             dc->zpayload && p.len >= DM_ZPAYLOAD_MIN ? &o : NULL);
    mg_buf_free(&p);
}

static void start_session(mg_default_mode *m, dm_conn *dc, const mg_identify_info *info)
{
    dc->session = mg_session_create(&m->sessions, mg_token_bare(info->token), info->shard_id, info->shard_count);
    if (!dc->session) {
        close_with(m, dc, MG_CLOSE_UNKNOWN_ERROR);
        return;
    }
    dc->session->owner = dc;
    dc->identified = 1;
    dc->identify_deadline = 0;
    mg_buf d = {0};
    if (mg_build_ready(&d, dc->version, dc->session->id, m->srv->ws_url, m->cfg.guilds,
                       info->shard_id, info->shard_count, 0) == 0 &&
        mg_buf_cstr(&d))
        dispatch(m, dc, "READY", (const char *)d.data);
    for (int k = 0, i; (i = mg_shard_guild(m->cfg.guilds, info->shard_id, info->shard_count, k)) >= 0; k++) {
        mg_buf_reset(&d);
        if (mg_build_guild_create(&d, i) == 0 && mg_buf_cstr(&d))
            dispatch(m, dc, "GUILD_CREATE", (const char *)d.data);
    }
    mg_buf_free(&d);
    MG_INFO(&m->srv->cfg.log, "conn %llu: identified, session %s shard [%d,%d]",
            (unsigned long long)dc->c->id, dc->session->id, info->shard_id, info->shard_count);
}

/* The budget is overspent: Discord ends every session of the bot and
 * resets its token (PROTOCOL.md 5). The close code is not documented;
 * 4004 is what the bot hears from then on, so it hears it now. */
static void reset_token(mg_default_mode *m)
{
    m->token_reset = 1;
    for (size_t i = 0; i < m->srv->nconns; i++) {
        dm_conn *dc = m->srv->conns[i]->app_data;
        if (!dc)
            continue;
        dc->session = NULL; /* the store goes below */
        if (mg_conn_is_open(dc->c))
            mg_conn_close(dc->c, MG_CLOSE_AUTH_FAILED, mg_close_reason(MG_CLOSE_AUTH_FAILED));
    }
    mg_session_store_free(&m->sessions);
    mg_session_store_init(&m->sessions, 128, 300000);
}

/* An IDENTIFY that passed mg_identify_check(): its bucket and the budget
 * decide. One log line per decision, which bench/run-shards.sh reads to
 * prove that no bucket ever started two sessions within a window. */
static void on_identify(mg_default_mode *m, dm_conn *dc, const mg_identify_info *info, uint64_t now)
{
    struct mg_bucket_last prev;
    mg_start_verdict v = mg_start_check(&m->starts, info->shard_id, now, &prev);
    if (v == MG_START_OK)
        mg_start_spend(&m->starts, info->shard_id, (long)dc->c->id, now);
    char before[96] = "none";
    if (prev.used)
        snprintf(before, sizeof before, "%llu ms, shard %d, %llu ms before", (unsigned long long)(prev.at - m->t0),
                 prev.shard, (unsigned long long)(now - prev.at));
    static const char *const outcome[] = {"started", "too-soon (INVALID_SESSION d=false)",
                                          "over-budget (every session ends, 4004)"};
    MG_INFO(&m->srv->cfg.log,
            "conn %llu: IDENTIFY of shard %d of %d (bucket %d) at %llu ms: %s; bucket's previous: %s; "
            "session starts left %u of %u",
            (unsigned long long)dc->c->id, info->shard_id, info->shard_count,
            mg_start_bucket(&m->starts, info->shard_id), (unsigned long long)(now - m->t0), outcome[v], before,
            m->starts.remaining, m->starts.total);
    switch (v) {
    case MG_START_OK:
        start_session(m, dc, info);
        break;
    case MG_START_TOO_SOON:
        /* Discord's answer to an IDENTIFY over max_concurrency: the session
         * did not start, so it cannot be resumed (PROTOCOL.md 5). */
        send_json(dc->c, "{\"op\":9,\"d\":false,\"s\":null,\"t\":null}");
        break;
    case MG_START_BUDGET_SPENT:
        reset_token(m);
        break;
    }
}

static void replay_cb(void *arg, const char *json, size_t len)
{
    dm_conn *dc = arg;
    mg_conn_send_payload(dc->c, json, len, NULL);
}

static void on_resume(mg_default_mode *m, dm_conn *dc, const cJSON *d)
{
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(d, "token");
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(d, "session_id");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(d, "seq");
    if (!cJSON_IsObject(d) || !cJSON_IsString(token) || !cJSON_IsString(sid) ||
        !(cJSON_IsNumber(seq) || cJSON_IsNull(seq))) {
        close_with(m, dc, MG_CLOSE_DECODE_ERROR);
        return;
    }
    const char *tok = mg_token_bare(token->valuestring);
    if (m->token_reset || !mg_token_accepted(token->valuestring, m->cfg.tokens)) {
        close_with(m, dc, MG_CLOSE_AUTH_FAILED);
        return;
    }
    mg_session *s = mg_session_find(&m->sessions, sid->valuestring);
    long at = cJSON_IsNumber(seq) ? (long)seq->valuedouble : 0;
    mg_replay_status rs = s ? mg_session_can_replay(s, at) : MG_REPLAY_SEQ_AHEAD;
    if (!s || strcmp(s->token, tok) != 0 || rs == MG_REPLAY_SEQ_AHEAD) {
        MG_INFO(&m->srv->cfg.log, "conn %llu: RESUME refused (unknown session or seq ahead)",
                (unsigned long long)dc->c->id);
        send_json(dc->c, "{\"op\":9,\"d\":false,\"s\":null,\"t\":null}");
        return;
    }
    if (rs == MG_REPLAY_SEQ_GONE) {
        dc->session = s; /* so close_with ends it */
        close_with(m, dc, MG_CLOSE_INVALID_SEQ);
        dc->session = NULL;
        return;
    }
    if (s->owner && s->owner != dc) {
        /* Discord lets the newest connection win. */
        dm_conn *old = s->owner;
        old->session = NULL;
        mg_conn_close(old->c, 4000, "session resumed elsewhere");
    }
    s->owner = dc;
    s->detached_at = 0;
    dc->session = s;
    dc->identified = 1;
    dc->identify_deadline = 0;
    mg_session_replay(s, at, replay_cb, dc);
    dispatch(m, dc, "RESUMED", "{\"_trace\":[\"mockgateway\"]}");
    MG_INFO(&m->srv->cfg.log, "conn %llu: resumed session %s from seq %ld to %ld",
            (unsigned long long)dc->c->id, s->id, at, s->seq);
}

static int dm_on_upgrade(void *app, mg_conn *c, const mg_http_request *req, const mg_upgrade_info *up)
{
    (void)app, (void)c, (void)req, (void)up;
    return 0;
}

static void dm_on_open(void *app, mg_conn *c)
{
    mg_default_mode *m = app;
    dm_conn *dc = calloc(1, sizeof *dc);
    if (!dc) {
        mg_conn_fail(c, "out of memory");
        return;
    }
    dc->c = c;
    c->app_data = dc;
    dc->version = c->up.version;
    uint64_t now = mg_now_ms();
    mg_ratelimit_init(&dc->rl, MG_RATE_LIMIT, MG_RATE_WINDOW_MS);
    if (dc->version != 9 && dc->version != 10) {
        close_with(m, dc, MG_CLOSE_INVALID_VERSION);
        return;
    }
    if (c->up.encoding[0] && strcmp(c->up.encoding, "json") != 0 && strcmp(c->up.encoding, "etf") != 0) {
        close_with(m, dc, MG_CLOSE_DECODE_ERROR);
        return;
    }
    char hello[128];
    snprintf(hello, sizeof hello,
             "{\"op\":10,\"d\":{\"heartbeat_interval\":%u,\"_trace\":[\"mockgateway\"]},\"s\":null,\"t\":null}",
             m->cfg.heartbeat_interval);
    send_json(c, hello);
    dc->hb_deadline = now + (uint64_t)m->cfg.heartbeat_interval * 3 / 2;
    dc->identify_deadline = now + (uint64_t)m->cfg.heartbeat_interval * 2;
}

static void dm_on_message(void *app, mg_conn *c, int opcode, const uint8_t *data, size_t len)
{
    mg_default_mode *m = app;
    dm_conn *dc = c->app_data;
    if (!dc || !mg_conn_is_open(c))
        return;
    uint64_t now = mg_now_ms();
    mg_payload p;
    /* Under ETF every payload is a binary frame (conn_ws.c hands it over
     * as JSON text); a text frame is not ETF. */
    int code = c->etf && opcode == WSLAY_TEXT_FRAME ? MG_CLOSE_DECODE_ERROR
                                                    : mg_payload_decode((const char *)data, len, &p);
    if (code) {
        close_with(m, dc, code);
        return;
    }
    if (!mg_ratelimit_hit(&dc->rl, now)) {
        close_with(m, dc, MG_CLOSE_RATE_LIMITED);
        goto out;
    }
    switch (p.op) {
    case 1: {
        dc->hb_deadline = now + (uint64_t)m->cfg.heartbeat_interval * 3 / 2;
        send_json(c, "{\"op\":11,\"d\":null,\"s\":null,\"t\":null}");
        break;
    }
    case 2: {
        if (dc->identified) {
            close_with(m, dc, MG_CLOSE_ALREADY_AUTHENTICATED);
            break;
        }
        mg_identify_info info;
        code = m->token_reset ? MG_CLOSE_AUTH_FAILED : mg_identify_check(p.d, &m->policy, &info);
        /* Payload compression: only with JSON and no transport compression
         * (Discord: it is disabled otherwise). */
        dc->zpayload = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p.d, "compress")) && !c->comp && !c->etf;
        if (code)
            close_with(m, dc, code);
        else
            on_identify(m, dc, &info, now);
        break;
    }
    case 6:
        if (dc->identified)
            close_with(m, dc, MG_CLOSE_ALREADY_AUTHENTICATED);
        else
            on_resume(m, dc, p.d);
        break;
    default:
        if (!mg_op_is_client_command(p.op))
            close_with(m, dc, MG_CLOSE_UNKNOWN_OPCODE);
        else if (!dc->identified)
            close_with(m, dc, MG_CLOSE_NOT_AUTHENTICATED);
        /* Presence, voice state, member requests: accepted, not acted on. */
        break;
    }
out:
    mg_payload_free(&p);
}

static void dm_on_peer_close(void *app, mg_conn *c, int code, const uint8_t *reason, size_t len)
{
    (void)reason, (void)len;
    mg_default_mode *m = app;
    dm_conn *dc = c->app_data;
    /* PROTOCOL.md 3.9: 1000/1001 end the session, anything else keeps it. */
    if (dc && dc->session && (code == 1000 || code == 1001)) {
        mg_session_remove(&m->sessions, dc->session);
        dc->session = NULL;
    }
}

static void dm_on_closed(void *app, mg_conn *c, const mg_close_info *info)
{
    (void)app;
    dm_conn *dc = c->app_data;
    MG_DEBUG(&c->srv->cfg.log, "conn %llu: gone (received %d, sent %d, %s)", (unsigned long long)c->id,
             info->code_received, info->code_sent, info->why);
    if (!dc)
        return;
    if (dc->session && dc->session->owner == dc) {
        dc->session->owner = NULL;
        dc->session->detached_at = mg_now_ms();
    }
    free(dc);
    c->app_data = NULL;
}

/* MESSAGE_CREATE traffic, at the configured rate: each from one of the
 * guilds the session's shard owns (none: no traffic), round-robin. */
static void send_messages(mg_default_mode *m, dm_conn *dc, uint64_t now, uint64_t msg_every)
{
    int shard = dc->session->shard_id, count = dc->session->shard_count;
    int owned = mg_shard_guild_count(m->cfg.guilds, shard, count);
    if (!dc->next_message)
        dc->next_message = now + msg_every;
    while (owned && now >= dc->next_message && mg_conn_is_open(dc->c)) {
        unsigned long long guild =
            (unsigned long long)mg_guild_id(mg_shard_guild(m->cfg.guilds, shard, count, (int)(dc->messages % (uint64_t)owned)));
        char d[512];
        dc->messages++;
        snprintf(d, sizeof d,
                 "{\"id\":\"%llu\",\"type\":0,\"channel_id\":\"%llu\",\"guild_id\":\"%llu\","
                 "\"content\":\"mock message %llu\",\"author\":{\"id\":\"100000000000000002\","
                 "\"username\":\"mockuser\",\"discriminator\":\"0000\"},"
                 "\"timestamp\":\"2026-01-01T00:00:00.000000+00:00\",\"tts\":false,"
                 "\"mention_everyone\":false,\"mentions\":[],\"attachments\":[],\"embeds\":[]}",
                 (unsigned long long)(dc->messages + (1ull << 40)), guild + 1, guild, (unsigned long long)dc->messages);
        dispatch(m, dc, "MESSAGE_CREATE", d);
        dc->next_message += msg_every;
    }
}

static void dm_on_tick(void *app, uint64_t now)
{
    mg_default_mode *m = app;
    if (now < m->last_tick + 50)
        return;
    m->last_tick = now;
    mg_session_expire(&m->sessions, now);
    uint64_t msg_every = m->cfg.message_rate > 0 ? (uint64_t)(1000.0 / m->cfg.message_rate) : 0;
    for (size_t i = 0; i < m->srv->nconns; i++) {
        mg_conn *c = m->srv->conns[i];
        dm_conn *dc = c->app_data;
        if (!dc || !mg_conn_is_open(c))
            continue;
        if (dc->identify_deadline && now >= dc->identify_deadline) {
            close_with(m, dc, MG_CLOSE_SESSION_TIMEOUT);
            continue;
        }
        if (now >= dc->hb_deadline) {
            close_with(m, dc, MG_CLOSE_SESSION_TIMEOUT);
            continue;
        }
        if (dc->session && msg_every)
            send_messages(m, dc, now, msg_every);
    }
}

static void dm_gateway_bot(void *app, uint64_t now, mg_gateway_bot *out)
{
    mg_default_mode *m = app;
    memset(out, 0, sizeof *out);
    out->status = m->token_reset ? 401 : 200;
    out->shards = m->cfg.shards;
    out->max_concurrency = m->starts.max_concurrency;
    out->total = m->starts.total;
    out->remaining = mg_start_remaining(&m->starts, now, &out->reset_after_ms);
}

const mg_app_ops mg_default_mode_ops = {
    dm_on_upgrade, dm_on_open, dm_on_message, NULL, dm_on_peer_close, dm_on_closed, dm_on_tick, dm_gateway_bot,
};

int mg_default_mode_init(mg_default_mode *m, mg_server *srv, const mg_default_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->srv = srv;
    m->cfg = *cfg;
    if (m->cfg.shards < 1)
        m->cfg.shards = 1;
    if (!m->cfg.session_total)
        m->cfg.session_total = m->cfg.session_remaining = 1000;
    if (!m->cfg.session_reset_after_ms)
        m->cfg.session_reset_after_ms = 86400000;
    m->policy.tokens = cfg->tokens;
    m->policy.granted_intents = cfg->granted_intents;
    m->policy.shards = m->cfg.shards;
    m->policy.guilds = cfg->guilds;
    m->policy.max_guilds_per_shard = cfg->max_guilds_per_shard;
    m->t0 = mg_now_ms();
    mg_session_store_init(&m->sessions, 128, 300000);
    return mg_start_limits_init(&m->starts, m->cfg.max_concurrency, m->cfg.identify_window_ms, m->cfg.session_total,
                                m->cfg.session_remaining, m->cfg.session_reset_after_ms, 86400000, m->t0);
}

void mg_default_mode_free(mg_default_mode *m)
{
    mg_session_store_free(&m->sessions);
    mg_start_limits_free(&m->starts);
}
