/*
 * options.h - dgw-shards' command line.
 */
#ifndef SHARDS_OPTIONS_H
#define SHARDS_OPTIONS_H

#include <dgw.h>
#include <stdbool.h>
#include <stdint.h>

#define DEFAULT_API "https://discord.com/api/v10"
#define DEFAULT_IDENTIFY_WINDOW_MS 5000

typedef struct options {
    const char *api;          /* REST base; NULL: $MOCKGATEWAY_API or Discord */
    const char *url;          /* gateway URL given: no /gateway/bot */
    const char *cafile;
    const char *state_file;
    uint32_t shards;          /* 0: /gateway/bot's */
    bool range;               /* --shard-range given */
    uint32_t range_first, range_last;
    uint32_t max_concurrency; /* 0: /gateway/bot's */
    uint32_t identify_window_ms;
    bool budget_given;
    uint32_t session_budget;
    uint32_t backoff_base_ms; /* 0: libdgw's default */
    uint64_t intents;
    uint32_t large_threshold;
    dgw_compress compress;
    uint64_t max_events;      /* 0: no limit */
    bool ready_exit;
    bool quiet;
    int log_level;            /* LOG_* of out.h */
} options;

/* Parses argv into o. Prints the problem (or --help) and returns false
 * when the program must exit: *exit_status says with what. */
bool options_parse(int argc, char **argv, options *o, int *exit_status);

#endif
