/* The gateway's rules as pure functions: payload decoding, IDENTIFY
 * validation, the command rate limit. No sockets, no clocks: tests call them
 * directly. Each returns a Discord close code (PROTOCOL.md section 4) or 0. */
#ifndef MG_RULES_H
#define MG_RULES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define MG_MAX_PAYLOAD 4096
#define MG_KNOWN_INTENTS ((1LL << 26) - 1) /* bits 0-25 */
#define MG_PRIVILEGED_INTENTS ((1LL << 1) | (1LL << 8) | (1LL << 15))
#define MG_RATE_LIMIT 120
#define MG_RATE_WINDOW_MS 60000u

enum {
    MG_CLOSE_UNKNOWN_ERROR = 4000,
    MG_CLOSE_UNKNOWN_OPCODE = 4001,
    MG_CLOSE_DECODE_ERROR = 4002,
    MG_CLOSE_NOT_AUTHENTICATED = 4003,
    MG_CLOSE_AUTH_FAILED = 4004,
    MG_CLOSE_ALREADY_AUTHENTICATED = 4005,
    MG_CLOSE_INVALID_SEQ = 4007,
    MG_CLOSE_RATE_LIMITED = 4008,
    MG_CLOSE_SESSION_TIMEOUT = 4009,
    MG_CLOSE_INVALID_SHARD = 4010,
    MG_CLOSE_SHARDING_REQUIRED = 4011,
    MG_CLOSE_INVALID_VERSION = 4012,
    MG_CLOSE_INVALID_INTENTS = 4013,
    MG_CLOSE_DISALLOWED_INTENTS = 4014
};

/* Human text for a close code ("" when unknown). */
const char *mg_close_reason(int code);

/* Parses one JSON text strictly where cJSON is lenient: nothing but JSON
 * whitespace after the value, no raw control characters, and no U+0000 in
 * a string (every check compares C strings, which end there:
 * "test-token\u0000x" compared equal to "test-token"). Returns the tree
 * (free with cJSON_Delete), or NULL with a reason in *why. */
cJSON *mg_json_parse_strict(const char *buf, size_t len, const char **why);

/* A token as the gateway compares it: without its optional "Bot " prefix. */
const char *mg_token_bare(const char *token);
/* Whether token (bare or "Bot ...") is one of the NULL-terminated accepted
 * tokens; whole strings are compared (strict parsing rules out NULs). */
int mg_token_accepted(const char *token, const char *const *accepted);

typedef struct mg_payload {
    cJSON *root; /* owned: free with mg_payload_free */
    int op;
    const cJSON *d; /* may be NULL */
} mg_payload;

/* Parses a client payload: size cap, strict JSON (mg_json_parse_strict),
 * an object with an integer "op". Returns 0, or 4002 (too big, not JSON,
 * no op). out->root is set only on success. */
int mg_payload_decode(const char *buf, size_t len, mg_payload *out);
void mg_payload_free(mg_payload *p);

/* Whether op is one a client may send (1,2,3,4,6,8,31). */
int mg_op_is_client_command(int op);

typedef struct mg_identify_policy {
    const char *const *tokens; /* NULL-terminated accepted tokens */
    int64_t granted_intents;   /* privileged bits the bot may use */
    int shards;                /* the bot's shard count; > 1: every IDENTIFY
                                  must carry [id, shards] (else 4010) */
    int guilds;                /* the bot's guilds (mg_guild_id) */
    int max_guilds_per_shard;  /* more for the IDENTIFY's shard: 4011 (0: no limit) */
} mg_identify_policy;

typedef struct mg_identify_info {
    char token[128];
    int64_t intents;
    int shard_id, shard_count;
} mg_identify_info;

/* Checks an IDENTIFY's d. Returns 0 and fills out, or 4002 (shape), 4004,
 * 4010 (a shard outside its count, or, when pol->shards > 1, a missing
 * shard or another count), 4011 (the shard would own more than
 * pol->max_guilds_per_shard of pol->guilds), 4013, 4014. */
int mg_identify_check(const cJSON *d, const mg_identify_policy *pol, mg_identify_info *out);

/* Sliding-window command counter: at most `limit` commands in any `window_ms`. */
typedef struct mg_ratelimit {
    uint64_t stamps[MG_RATE_LIMIT];
    unsigned limit; /* <= MG_RATE_LIMIT */
    uint32_t window_ms;
    unsigned count, head;
} mg_ratelimit;

void mg_ratelimit_init(mg_ratelimit *rl, unsigned limit, uint32_t window_ms);
/* Records a command at now; returns 1 if allowed, 0 if over the limit. */
int mg_ratelimit_hit(mg_ratelimit *rl, uint64_t now_ms);

#endif
