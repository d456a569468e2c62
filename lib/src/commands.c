/* commands.c - payloads the client sends. Every payload is written into a
 * writer one byte larger than the gateway's limit, so the size check costs
 * nothing; caller strings are checked to be UTF-8 (a text frame must be,
 * RFC 6455 5.6) and caller JSON to be one JSON value. */
#include "commands.h"

#include <string.h>

#include "mutant.h"
#include "utf8.h"

void dgw_cmd_identify(const dgw_identify *id, bool payload_compress,
                      dgw_jw *w)
{
    dgw_jw_lit(w, "{\"op\":2,\"d\":{\"token\":");
    dgw_jw_str(w, id->token);
    dgw_jw_lit(w, ",\"intents\":");
    dgw_jw_int(w, (int64_t)id->intents);
    if (!DGW_MUTANT(M_IDENTIFY_NO_PROPERTIES)) {
        dgw_jw_lit(w, ",\"properties\":{\"os\":");
        dgw_jw_str(w, id->os ? id->os : "linux");
        dgw_jw_lit(w, ",\"browser\":");
        dgw_jw_str(w, id->browser ? id->browser : "libdgw");
        dgw_jw_lit(w, ",\"device\":");
        dgw_jw_str(w, id->device ? id->device : "libdgw");
        dgw_jw_lit(w, "}");
    }
    if (payload_compress)
        dgw_jw_lit(w, ",\"compress\":true");
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
    if (id->presence_json) {
        dgw_jw_lit(w, ",\"presence\":");
        dgw_jw_lit(w, id->presence_json);
    }
    dgw_jw_lit(w, "}}");
}

void dgw_cmd_resume(const char *token, const char *session_id, int64_t seq,
                    dgw_jw *w)
{
    dgw_jw_lit(w, "{\"op\":6,\"d\":{\"token\":");
    dgw_jw_str(w, token);
    dgw_jw_lit(w, ",\"session_id\":");
    dgw_jw_str(w, session_id);
    dgw_jw_lit(w, ",\"seq\":");
    if (seq >= 0)
        dgw_jw_int(w, seq);
    else
        dgw_jw_lit(w, "null");
    dgw_jw_lit(w, "}}");
}

void dgw_cmd_heartbeat(int64_t seq, dgw_jw *w)
{
    dgw_jw_lit(w, "{\"op\":1,\"d\":");
    if (seq >= 0)
        dgw_jw_int(w, seq);
    else
        dgw_jw_lit(w, "null");
    dgw_jw_lit(w, "}");
}

static dgw_err invalid(const char **why, const char *what)
{
    *why = what;
    return DGW_ERR_INVALID_ARGUMENT;
}

static dgw_err finish(const dgw_jw *w, const char **why)
{
    if (!dgw_cmd_overflow(w))
        return DGW_OK;
    *why = "command payload over 4096 bytes";
    return DGW_ERR_SEND_TOO_LARGE;
}

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

dgw_err dgw_cmd_raw(int op, const char *d_json, size_t d_len, dgw_jw *w,
                    const char **why)
{
    /* These ops carry the connection's own bookkeeping (heartbeat
     * schedule, session); sent raw they would bypass it. */
    if (op == 1 || op == 2 || op == 6)
        return invalid(why, "ops 1, 2 and 6 are sent by the library itself");
    if (d_len == 0) {
        d_json = "null";
        d_len = 4;
    } else if (!dgw_json_is_value(d_json, d_len) ||
               !dgw_utf8_valid(d_json, d_len)) {
        return invalid(why, "d is not one JSON value in UTF-8");
    }
    dgw_jw_lit(w, "{\"op\":");
    dgw_jw_int(w, op);
    dgw_jw_lit(w, ",\"d\":");
    dgw_jw_raw(w, d_json, d_len);
    dgw_jw_lit(w, "}");
    return finish(w, why);
}

dgw_err dgw_cmd_presence(const dgw_presence *p, dgw_jw *w, const char **why)
{
    if (!p->status || !dgw_utf8_valid_str(p->status))
        return invalid(why, "presence status is missing or not UTF-8");
    if (p->activities_json && !is_json(p->activities_json))
        return invalid(why, "presence activities is not JSON in UTF-8");
    dgw_jw_lit(w, "{\"op\":3,\"d\":{\"since\":");
    if (p->since_ms >= 0)
        dgw_jw_int(w, p->since_ms);
    else
        dgw_jw_lit(w, "null");
    dgw_jw_lit(w, ",\"activities\":");
    dgw_jw_lit(w, p->activities_json ? p->activities_json : "[]");
    dgw_jw_lit(w, ",\"status\":");
    dgw_jw_str(w, p->status);
    dgw_jw_lit(w, ",\"afk\":");
    dgw_jw_bool(w, p->afk);
    dgw_jw_lit(w, "}}");
    return finish(w, why);
}

dgw_err dgw_cmd_voice_state(const dgw_voice_state *v, dgw_jw *w,
                            const char **why)
{
    if (!is_snowflake(v->guild_id) ||
        (v->channel_id && !is_snowflake(v->channel_id)))
        return invalid(why, "voice state guild_id/channel_id is not a "
                            "snowflake");
    dgw_jw_lit(w, "{\"op\":4,\"d\":{\"guild_id\":");
    dgw_jw_str(w, v->guild_id);
    dgw_jw_lit(w, ",\"channel_id\":");
    if (v->channel_id)
        dgw_jw_str(w, v->channel_id);
    else
        dgw_jw_lit(w, "null");
    dgw_jw_lit(w, ",\"self_mute\":");
    dgw_jw_bool(w, v->self_mute);
    dgw_jw_lit(w, ",\"self_deaf\":");
    dgw_jw_bool(w, v->self_deaf);
    dgw_jw_lit(w, "}}");
    return finish(w, why);
}

dgw_err dgw_cmd_request_members(const dgw_request_members *r, dgw_jw *w,
                                const char **why)
{
    if (!is_snowflake(r->guild_id))
        return invalid(why, "guild_id is not a snowflake");
    if (r->user_ids_json && !is_json(r->user_ids_json))
        return invalid(why, "user_ids is not JSON in UTF-8");
    if ((r->nonce && strlen(r->nonce) > 32) || !dgw_utf8_valid_str(r->nonce))
        return invalid(why, "nonce is over 32 bytes or not UTF-8");
    if (!dgw_utf8_valid_str(r->query))
        return invalid(why, "query is not UTF-8");
    dgw_jw_lit(w, "{\"op\":8,\"d\":{\"guild_id\":");
    dgw_jw_str(w, r->guild_id);
    if (r->query || !r->user_ids_json) {
        dgw_jw_lit(w, ",\"query\":");
        dgw_jw_str(w, r->query ? r->query : "");
        dgw_jw_lit(w, ",\"limit\":");
        dgw_jw_int(w, r->limit);
    }
    if (r->user_ids_json) {
        dgw_jw_lit(w, ",\"user_ids\":");
        dgw_jw_lit(w, r->user_ids_json);
    }
    if (r->presences)
        dgw_jw_lit(w, ",\"presences\":true");
    if (r->nonce) {
        dgw_jw_lit(w, ",\"nonce\":");
        dgw_jw_str(w, r->nonce);
    }
    dgw_jw_lit(w, "}}");
    return finish(w, why);
}

dgw_err dgw_cmd_soundboard(const char *const *guild_ids, size_t n,
                           dgw_jw *w, const char **why)
{
    if (n && !guild_ids)
        return invalid(why, "no guild ids");
    for (size_t i = 0; i < n; i++)
        if (!is_snowflake(guild_ids[i]))
            return invalid(why, "a guild id is not a snowflake");
    dgw_jw_lit(w, "{\"op\":31,\"d\":{\"guild_ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            dgw_jw_lit(w, ",");
        dgw_jw_str(w, guild_ids[i]);
    }
    dgw_jw_lit(w, "]}}");
    return finish(w, why);
}

dgw_err dgw_cmd_channel_info(const char *guild_id, unsigned fields, dgw_jw *w,
                             const char **why)
{
    static const struct {
        unsigned bit;
        const char *name;
    } known[] = {{DGW_CHANNEL_INFO_STATUS, "status"},
                 {DGW_CHANNEL_INFO_VOICE_START_TIME, "voice_start_time"}};
    if (!is_snowflake(guild_id))
        return invalid(why, "guild_id is not a snowflake");
    unsigned all = DGW_CHANNEL_INFO_STATUS | DGW_CHANNEL_INFO_VOICE_START_TIME;
    if (fields == 0 || (fields & ~all))
        return invalid(why, "fields must name status and/or voice_start_time");
    dgw_jw_lit(w, "{\"op\":43,\"d\":{\"guild_id\":");
    dgw_jw_str(w, guild_id);
    dgw_jw_lit(w, ",\"fields\":[");
    bool first = true;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (!(fields & known[i].bit))
            continue;
        if (!first)
            dgw_jw_lit(w, ",");
        dgw_jw_str(w, known[i].name);
        first = false;
    }
    dgw_jw_lit(w, "]}}");
    return finish(w, why);
}
