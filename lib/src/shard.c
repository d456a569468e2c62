/* shard.c - pure helpers for sharded bots (PROTOCOL.md 5): guild to shard,
 * shard to IDENTIFY bucket, and the body of GET /gateway/bot. */
#include <string.h>

#include "dgw.h"
#include "json.h"

uint32_t dgw_shard_for_guild(uint64_t guild_id, uint32_t num_shards)
{
    return num_shards ? (uint32_t)((guild_id >> 22) % num_shards) : 0;
}

uint32_t dgw_shard_bucket(uint32_t shard_id, uint32_t max_concurrency)
{
    return max_concurrency ? shard_id % max_concurrency : 0;
}

/* A member of obj that must be a non-negative integer <= max. */
static bool get_uint(dgw_span obj, const char *name, uint64_t max,
                     uint64_t *out)
{
    dgw_span v;
    int64_t x;
    if (dgw_json_get(obj, name, &v) != DGW_JSON_NUMBER || !dgw_json_int(v, &x) ||
        x < 0 || (uint64_t)x > max)
        return false;
    *out = (uint64_t)x;
    return true;
}

static dgw_err bad(const char **why, const char *what)
{
    *why = what;
    return DGW_ERR_INVALID_ARGUMENT;
}

dgw_err dgw_parse_gateway_bot(const char *json, size_t len,
                              dgw_gateway_bot *out, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    if (!json || !out)
        return bad(why, "no body");
    memset(out, 0, sizeof *out);
    dgw_span body = {json, len}, v, limit;
    dgw_json_iter it;
    if (!dgw_json_is_value(json, len) || !dgw_json_iter_init(&it, body))
        return bad(why, "the body is not a JSON object");
    if (dgw_json_get(body, "url", &v) != DGW_JSON_STRING)
        return bad(why, "\"url\" is missing or not a string");
    if (dgw_json_unescape(v, out->url, sizeof out->url) <= 0)
        return bad(why, "\"url\" is empty, malformed or over 255 bytes");
    uint64_t x;
    if (!get_uint(body, "shards", UINT32_MAX, &x) || x == 0)
        return bad(why, "\"shards\" is missing or not an integer >= 1");
    out->shards = (uint32_t)x;
    if (dgw_json_get(body, "session_start_limit", &limit) != DGW_JSON_OBJECT)
        return bad(why, "\"session_start_limit\" is missing or not an object");
    if (!get_uint(limit, "total", UINT32_MAX, &x))
        return bad(why, "\"session_start_limit.total\" is not an integer");
    out->total = (uint32_t)x;
    if (!get_uint(limit, "remaining", UINT32_MAX, &x))
        return bad(why, "\"session_start_limit.remaining\" is not an integer");
    out->remaining = (uint32_t)x;
    if (!get_uint(limit, "reset_after", UINT64_MAX >> 1, &x))
        return bad(why, "\"session_start_limit.reset_after\" is not an integer");
    out->reset_after_ms = x;
    if (!get_uint(limit, "max_concurrency", UINT32_MAX, &x) || x == 0)
        return bad(why, "\"session_start_limit.max_concurrency\" is not an "
                        "integer >= 1");
    out->max_concurrency = (uint32_t)x;
    return DGW_OK;
}
