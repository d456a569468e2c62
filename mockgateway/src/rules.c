#include "rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sharding.h"

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

static int json_space(unsigned char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* What cJSON lets through: raw control characters (it even skips NUL as
 * whitespace) and escapes that decode to NUL. */
static const char *json_text_fault(const char *b, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (!in_string) {
            if (ch == '"')
                in_string = 1;
            else if (ch < 0x20 && !json_space(ch))
                return "a control character outside a string";
            continue;
        }
        if (ch < 0x20)
            return "a raw control character in a string";
        if (ch == '"') {
            in_string = 0;
        } else if (ch == '\\') {
            if (n - i > 5 && memcmp(b + i + 1, "u0000", 5) == 0)
                return "a string holding U+0000";
            i++; /* the escaped character */
        }
    }
    return NULL;
}

cJSON *mg_json_parse_strict(const char *buf, size_t len, const char **why)
{
    const char *fault = json_text_fault(buf, len);
    if (fault) {
        *why = fault;
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        *why = "not JSON";
        return NULL;
    }
    for (size_t i = (size_t)(end - buf); i < len; i++) {
        if (!json_space((unsigned char)buf[i])) {
            cJSON_Delete(root);
            *why = "bytes after the JSON value";
            return NULL;
        }
    }
    return root;
}

const char *mg_token_bare(const char *token) { return strncmp(token, "Bot ", 4) == 0 ? token + 4 : token; }

int mg_token_accepted(const char *token, const char *const *accepted)
{
    const char *t = mg_token_bare(token);
    for (const char *const *p = accepted; p && *p; p++)
        if (strcmp(*p, t) == 0)
            return 1;
    return 0;
}

int mg_payload_decode(const char *buf, size_t len, mg_payload *out)
{
    memset(out, 0, sizeof *out);
    if (len > MG_MAX_PAYLOAD)
        return MG_CLOSE_DECODE_ERROR;
    const char *why;
    cJSON *root = mg_json_parse_strict(buf, len, &why);
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
    if (!mg_token_accepted(token->valuestring, pol->tokens))
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
    /* A sharded bot must say which shard of its count a connection is. */
    if (pol->shards > 1 && (!shard || out->shard_count != pol->shards))
        return MG_CLOSE_INVALID_SHARD;
    if (pol->max_guilds_per_shard > 0 &&
        mg_shard_guild_count(pol->guilds, out->shard_id, out->shard_count) > pol->max_guilds_per_shard)
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
