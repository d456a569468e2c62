/* The default app: behaves like Discord's gateway (PROTOCOL.md). */
#ifndef MG_DEFAULT_MODE_H
#define MG_DEFAULT_MODE_H

#include "rules.h"
#include "server.h"
#include "session.h"
#include "sharding.h"

typedef struct mg_default_config {
    const char *const *tokens;   /* NULL-terminated: one bot, these are its tokens */
    uint32_t heartbeat_interval; /* ms */
    int guilds;                  /* the bot's guilds, spread over the shards */
    double message_rate;         /* MESSAGE_CREATE per second per session, 0 none */
    int64_t granted_intents;     /* privileged intents granted */
    /* The bot's shards as GET /gateway/bot reports them (0 values: 1
     * shard, max_concurrency 1, the window unchecked, a budget of 1000). */
    int shards, max_concurrency;
    uint32_t identify_window_ms;
    uint32_t session_total, session_remaining;
    uint64_t session_reset_after_ms;
    int max_guilds_per_shard; /* 0: no limit */
} mg_default_config;

typedef struct mg_default_mode {
    mg_server *srv;
    mg_default_config cfg;
    mg_identify_policy policy;
    mg_session_store sessions;
    mg_start_limits starts;
    int token_reset;  /* the budget was overspent: the token no longer authenticates */
    uint64_t t0;      /* start, for the times of the IDENTIFY log */
    uint64_t last_tick;
} mg_default_mode;

/* Returns 0, or -1 when out of memory. */
int mg_default_mode_init(mg_default_mode *m, mg_server *srv, const mg_default_config *cfg);
void mg_default_mode_free(mg_default_mode *m);
extern const mg_app_ops mg_default_mode_ops;

/* Builds READY's d for a session (JSON text appended to out): `guilds`
 * is the bot's guild count, and the READY of shard_id of shard_count
 * lists (as unavailable stubs) the ones it owns. Exposed for scenario
 * mode, which sends the same READY. pad_to: grow the guild list until d
 * is at least that many bytes (0: guilds stubs only). */
int mg_build_ready(mg_buf *out, int version, const char *session_id, const char *resume_url,
                   int guilds, int shard_id, int shard_count, size_t pad_to);
/* Builds the d of guild i's GUILD_CREATE (appended to out). */
int mg_build_guild_create(mg_buf *out, int i);

#endif
