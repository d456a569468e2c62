#include "rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *mg_close_reason(int code)
{
    switch (code) {
    case 4000: return "Unknown error.";
    case 4001: return "Unknown opcode.";
    case 4002: return "Decode error.";
    case 4003: return "Not authenticated.";
    case 4004: return "Authentication failed.";
    case 4005: return "Already authenticated.";
    case 4007: return "Invalid seq.";
    case 4008: return "Rate limited.";
    case 4009: return "Session timed out.";
    case 4010: return "Invalid shard.";
    case 4011: return "Sharding required.";
    case 4012: return "Invalid API version.";
    case 4013: return "Invalid intent(s).";
    case 4014: return "Disallowed intent(s).";
    default: return "";
    }
}

int mg_payload_decode(const char *buf, size_t len, mg_payload *out)
{
    memset(out, 0, sizeof *out);
    if (len > MG_MAX_PAYLOAD)
        return MG_CLOSE_DECODE_ERROR;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    if (!root)
        return MG_CLOSE_DECODE_ERROR;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "op");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(op) || op->valuedouble != floor(op->valuedouble) ||
        op->valuedouble < 0 || op->valuedouble > 1000) {
        cJSON_Delete(root);
        return MG_CLOSE_DECODE_ERROR;
    }
    out->root = root;
    out->op = (int)op->valuedouble;
    out->d = cJSON_GetObjectItemCaseSensitive(root, "d");
    return 0;
}

void mg_payload_free(mg_payload *p)
{
    cJSON_Delete(p->root);
    p->root = NULL;
}

int mg_op_is_client_command(int op)
{
    return op == 1 || op == 2 || op == 3 || op == 4 || op == 6 || op == 8 || op == 31;
}

static int is_int(const cJSON *j)
{
    return cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
           fabs(j->valuedouble) < 9007199254740992.0;
}

int mg_identify_check(const cJSON *d, const mg_identify_policy *pol, mg_identify_info *out)
{
    memset(out, 0, sizeof *out);
    out->shard_count = 1;
    if (!cJSON_IsObject(d))
        return MG_CLOSE_DECODE_ERROR;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(d, "token");
    const cJSON *intents = cJSON_GetObjectItemCaseSensitive(d, "intents");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(d, "properties");
    if (!cJSON_IsString(token) || !is_int(intents) || !cJSON_IsObject(props))
        return MG_CLOSE_DECODE_ERROR;
    static const char *const prop_names[] = {"os", "browser", "device"};
    for (int i = 0; i < 3; i++)
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(props, prop_names[i])))
            return MG_CLOSE_DECODE_ERROR;
    snprintf(out->token, sizeof out->token, "%s", token->valuestring);
    /* Discord accepts "Bot <token>" here as well as the bare token. */
    const char *t = token->valuestring;
    if (strncmp(t, "Bot ", 4) == 0)
        t += 4;
    int ok = 0;
    for (const char *const *p = pol->tokens; p && *p; p++)
        if (strcmp(*p, t) == 0)
            ok = 1;
    if (!ok)
        return MG_CLOSE_AUTH_FAILED;
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(d, "shard");
    if (shard) {
        if (!cJSON_IsArray(shard) || cJSON_GetArraySize(shard) != 2)
            return MG_CLOSE_DECODE_ERROR;
        const cJSON *id = cJSON_GetArrayItem(shard, 0), *count = cJSON_GetArrayItem(shard, 1);
        if (!is_int(id) || !is_int(count))
            return MG_CLOSE_DECODE_ERROR;
        if (count->valuedouble < 1 || id->valuedouble < 0 || id->valuedouble >= count->valuedouble ||
            count->valuedouble > 65536)
            return MG_CLOSE_INVALID_SHARD;
        out->shard_id = (int)id->valuedouble;
        out->shard_count = (int)count->valuedouble;
    }
    if (pol->require_sharding && out->shard_count < 2)
        return MG_CLOSE_SHARDING_REQUIRED;
    if (intents->valuedouble < 0)
        return MG_CLOSE_INVALID_INTENTS;
    int64_t bits = (int64_t)intents->valuedouble;
    out->intents = bits;
    if (bits & ~(int64_t)MG_KNOWN_INTENTS)
        return MG_CLOSE_INVALID_INTENTS;
    if (bits & MG_PRIVILEGED_INTENTS & ~pol->granted_intents)
        return MG_CLOSE_DISALLOWED_INTENTS;
    return 0;
}

void mg_ratelimit_init(mg_ratelimit *rl, unsigned limit, uint32_t window_ms)
{
    memset(rl, 0, sizeof *rl);
    rl->limit = limit == 0 || limit > MG_RATE_LIMIT ? MG_RATE_LIMIT : limit;
    rl->window_ms = window_ms;
}

int mg_ratelimit_hit(mg_ratelimit *rl, uint64_t now_ms)
{
    /* stamps is a ring of the last `limit` command times: the oldest one
     * decides whether one more fits in the window. */
    if (rl->count < rl->limit) {
        rl->stamps[(rl->head + rl->count) % rl->limit] = now_ms;
        rl->count++;
        return 1;
    }
    uint64_t oldest = rl->stamps[rl->head];
    if (now_ms - oldest < rl->window_ms)
        return 0;
    rl->stamps[rl->head] = now_ms;
    rl->head = (rl->head + 1) % rl->limit;
    return 1;
}
