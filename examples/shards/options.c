/*
 * options.c - dgw-shards' command line. See options.h.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: dgw-shards [options]\n"
        "Runs the shards of a bot in one thread and prints every gateway payload as\n"
        "one JSON line tagged with its shard. The token is read from DISCORD_TOKEN.\n"
        "\n"
        "Where and how many:\n"
        "  --api URL               REST base for GET /gateway/bot (http or https);\n"
        "                          default: $MOCKGATEWAY_API or " DEFAULT_API "\n"
        "  --url URL               gateway URL (ws:// or wss://): no /gateway/bot, so\n"
        "                          --shards is required and the session-start budget\n"
        "                          is unknown unless --session-budget gives it\n"
        "  --shards N              shard count (default: /gateway/bot's \"shards\")\n"
        "  --shard-range A-B       run only shards A..B of the count (one process of\n"
        "                          several; give each its own --state-file)\n"
        "Pacing (Discord's values come from /gateway/bot; override only for tests):\n"
        "  --max-concurrency N     IDENTIFY buckets (shard_id %% N)\n"
        "  --identify-window-ms MS one IDENTIFY per bucket per MS (default %d)\n"
        "  --session-budget N      session starts left (replaces \"remaining\")\n"
        "  --backoff-base-ms MS    first reconnect delay (default 1000; doubles per\n"
        "                          failed attempt, with jitter)\n"
        "Sessions:\n"
        "  --state-file PATH       save sessions on exit, RESUME them on the next start\n"
        "Identify:\n"
        "  --intents N             gateway intents (default 513)\n"
        "  --compress MODE         none, zlib-stream or zstd-stream (default none)\n"
        "  --large-threshold N     IDENTIFY large_threshold (50-250)\n"
        "  --cafile FILE           trust anchors (PEM); default: $MOCKGATEWAY_CA, or\n"
        "                          /etc/ssl/certs/ca-certificates.crt\n"
        "Runs and output:\n"
        "  --max-events N          stop cleanly after N dispatches in total\n"
        "  --ready-exit            stop cleanly once every shard is connected and\n"
        "                          print how long it took\n"
        "  --quiet                 no payloads, warnings only, totals at exit\n"
        "  --log-level LEVEL       error, warn, info (default) or debug\n"
        "  --help                  this text\n"
        "\n"
        "Signals: SIGINT/SIGTERM close every shard resumably (4900) and save the\n"
        "state file; SIGUSR1 prints one statistics line per shard and the totals.\n"
        "Exit status: 0 stopped cleanly, 1 error, 2 fatal close code, 3 TLS failure,\n"
        "4 session-start budget exhausted.\n",
        DEFAULT_IDENTIFY_WINDOW_MS);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, UINT32_MAX, &v) || v < min)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_range(const char *s, uint32_t *first, uint32_t *last)
{
    char a[16], b[16];
    const char *dash = strchr(s, '-');
    if (dash == NULL || dash == s || (size_t)(dash - s) >= sizeof a ||
        strlen(dash + 1) >= sizeof b)
        return false;
    memcpy(a, s, (size_t)(dash - s));
    a[dash - s] = '\0';
    strcpy(b, dash + 1);
    return parse_u32(a, 0, first) && parse_u32(b, 0, last) && *first <= *last;
}

static bool parse_compress(const char *s, dgw_compress *c)
{
    if (strcmp(s, "none") == 0)
        *c = DGW_COMPRESS_NONE;
    else if (strcmp(s, "zlib-stream") == 0)
        *c = DGW_COMPRESS_ZLIB_STREAM;
    else if (strcmp(s, "zstd-stream") == 0)
        *c = DGW_COMPRESS_ZSTD_STREAM;
    else
        return false;
    return true;
}

enum {
    O_API = 256, O_URL, O_SHARDS, O_RANGE, O_MC, O_WINDOW, O_BUDGET, O_STATE,
    O_BACKOFF, O_INTENTS, O_COMPRESS, O_LARGE, O_CAFILE, O_MAX, O_READY, O_QUIET, O_LOG,
    O_HELP
};

static const struct option longopts[] = {
    {"api", required_argument, 0, O_API},
    {"url", required_argument, 0, O_URL},
    {"shards", required_argument, 0, O_SHARDS},
    {"shard-range", required_argument, 0, O_RANGE},
    {"max-concurrency", required_argument, 0, O_MC},
    {"identify-window-ms", required_argument, 0, O_WINDOW},
    {"session-budget", required_argument, 0, O_BUDGET},
    {"state-file", required_argument, 0, O_STATE},
    {"backoff-base-ms", required_argument, 0, O_BACKOFF},
    {"intents", required_argument, 0, O_INTENTS},
    {"compress", required_argument, 0, O_COMPRESS},
    {"large-threshold", required_argument, 0, O_LARGE},
    {"cafile", required_argument, 0, O_CAFILE},
    {"max-events", required_argument, 0, O_MAX},
    {"ready-exit", no_argument, 0, O_READY},
    {"quiet", no_argument, 0, O_QUIET},
    {"log-level", required_argument, 0, O_LOG},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

static const char *name_of(int ch)
{
    for (const struct option *lo = longopts; lo->name != NULL; lo++)
        if (lo->val == ch)
            return lo->name;
    return "?";
}

/* One option's value into o; false when it is not valid. */
static bool take(int ch, const char *arg, options *o)
{
    uint64_t v;
    switch (ch) {
    case O_API: o->api = arg; return true;
    case O_URL: o->url = arg; return true;
    case O_CAFILE: o->cafile = arg; return true;
    case O_STATE: o->state_file = arg; return true;
    case O_SHARDS: return parse_u32(arg, 1, &o->shards);
    case O_RANGE:
        o->range = true;
        return parse_range(arg, &o->range_first, &o->range_last);
    case O_MC: return parse_u32(arg, 1, &o->max_concurrency);
    case O_WINDOW: return parse_u32(arg, 0, &o->identify_window_ms);
    case O_BUDGET:
        o->budget_given = true;
        return parse_u32(arg, 0, &o->session_budget);
    case O_BACKOFF: return parse_u32(arg, 1, &o->backoff_base_ms);
    case O_INTENTS: return parse_u64(arg, UINT64_MAX, &o->intents);
    case O_COMPRESS: return parse_compress(arg, &o->compress);
    case O_LARGE:
        if (!parse_u64(arg, 250, &v))
            return false;
        o->large_threshold = (uint32_t)v;
        return true;
    case O_MAX: return parse_u64(arg, UINT64_MAX, &o->max_events);
    case O_READY: o->ready_exit = true; return true;
    case O_QUIET: o->quiet = true; return true;
    case O_LOG: return out_parse_level(arg, &o->log_level);
    default: return false;
    }
}

bool options_parse(int argc, char **argv, options *o, int *exit_status)
{
    memset(o, 0, sizeof *o);
    o->intents = 513; /* GUILDS | GUILD_MESSAGES: no privileged intent */
    o->identify_window_ms = DEFAULT_IDENTIFY_WINDOW_MS;
    o->log_level = LOG_INFO;
    bool level_given = false;
    *exit_status = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h' || ch == O_HELP) {
            usage(stdout);
            *exit_status = 0;
            return false;
        }
        if (ch < O_API || ch > O_LOG) {
            usage(stderr);
            return false;
        }
        if (!take(ch, optarg, o)) {
            fprintf(stderr, "dgw-shards: bad value for --%s: %s\n",
                    name_of(ch), optarg ? optarg : "");
            return false;
        }
        level_given |= ch == O_LOG;
    }
    if (optind != argc) {
        fprintf(stderr, "dgw-shards: unexpected argument: %s\n", argv[optind]);
        return false;
    }
    if (o->url != NULL && o->shards == 0) {
        fprintf(stderr, "dgw-shards: --url skips GET /gateway/bot: give --shards too\n");
        return false;
    }
    if (o->quiet && !level_given)
        o->log_level = LOG_WARN;
    return true;
}
