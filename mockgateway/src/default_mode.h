/* The default app: behaves like Discord's gateway (PROTOCOL.md). */
#ifndef MG_DEFAULT_MODE_H
#define MG_DEFAULT_MODE_H

#include "rules.h"
#include "server.h"
#include "session.h"

typedef struct mg_default_config {
    const char *const *tokens;   /* NULL-terminated */
    uint32_t heartbeat_interval; /* ms */
    int guilds;                  /* GUILD_CREATE count after READY */
    double message_rate;         /* MESSAGE_CREATE per second per session, 0 none */
    int64_t granted_intents;     /* privileged intents granted */
} mg_default_config;

typedef struct mg_default_mode {
    mg_server *srv;
    mg_default_config cfg;
    mg_identify_policy policy;
    mg_session_store sessions;
    uint64_t last_tick;
} mg_default_mode;

void mg_default_mode_init(mg_default_mode *m, mg_server *srv, const mg_default_config *cfg);
void mg_default_mode_free(mg_default_mode *m);
extern const mg_app_ops mg_default_mode_ops;

/* Builds READY's d for a session (JSON text appended to out). Exposed for
 * scenario mode, which sends the same READY. pad_to: grow the guild list
 * until d is at least that many bytes (0: guilds stubs only). */
int mg_build_ready(mg_buf *out, int version, const char *session_id, const char *resume_url,
                   int guilds, int shard_id, int shard_count, size_t pad_to);

#endif
