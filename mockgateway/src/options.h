/* Command line of the server mode (`mockgateway [OPTIONS]`). */
#ifndef MG_OPTIONS_H
#define MG_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define MG_MAX_TOKENS 32

typedef struct mg_options {
    const char *listen;
    int tls;
    const char *cert, *key;
    uint32_t heartbeat_interval;
    const char *tokens[MG_MAX_TOKENS + 1]; /* NULL-terminated */
    int ntokens;
    int guilds;
    /* The bot as GET /gateway/bot describes it, and as IDENTIFY must respect it. */
    int shards;
    int max_concurrency;
    uint32_t identify_window_ms; /* 0: buckets unchecked */
    uint32_t session_total, session_remaining;
    uint64_t session_reset_after_ms;
    int max_guilds_per_shard; /* 0: no limit */
    double message_rate;
    int64_t granted_intents;
    mg_log_level log_level;
    const char *scenarios[64];
    int nscenarios;
    const char *junit, *transcript_dir;
    uint32_t upgrade_timeout_ms;
    size_t max_total_output; /* bytes; 0: the server's default */
    int help;
} mg_options;

/* Parses argv (argv[0] is the program). Returns 0, or -1 with a message in
 * err. Defaults: 127.0.0.1:0, interval 41250, token "test-token", 1 guild,
 * 1 shard, max_concurrency 1, a 5000 ms IDENTIFY window, 1000 session
 * starts a day, 2500 guilds per shard, 1 message/s, all privileged intents
 * granted, log level info. */
int mg_options_parse(int argc, char **argv, mg_options *o, char *err, size_t errlen);
void mg_options_usage(FILE *f);

#endif
