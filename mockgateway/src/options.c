#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "rules.h"

void mg_options_usage(FILE *f)
{
    fprintf(f,
            "usage: mockgateway [OPTIONS]\n"
            "       mockgateway run [OPTIONS] SCENARIO_OR_DIR... -- CLIENT_CMD [ARGS...]  (see run --help)\n"
            "A mock Discord gateway. Prints the gateway URL as its first line on stdout.\n"
            "  --listen HOST:PORT          address to listen on (default 127.0.0.1:0: any free port)\n"
            "  --tls                       serve wss:// and https:// (needs --cert and --key)\n"
            "  --cert FILE                 PEM certificate chain, leaf first\n"
            "  --key FILE                  PEM private key (RSA or EC)\n"
            "  --heartbeat-interval MS     HELLO heartbeat_interval (default 41250)\n"
            "  --token TOKEN               accepted bot token, repeatable (default test-token)\n"
            "  --guilds N                  the bot's guilds (default 1), spread over the shards\n"
            "                              by (guild_id >> 22) %% num_shards: READY, GUILD_CREATE\n"
            "                              and MESSAGE_CREATE of a guild go to its shard only\n"
            "Sharding (what GET /gateway/bot reports and IDENTIFY must respect):\n"
            "  --shards N                  the bot's shard count (default 1); with N > 1 every\n"
            "                              IDENTIFY must carry shard [id, N], else 4010\n"
            "  --max-concurrency N         IDENTIFY buckets, shard_id %% N (default 1)\n"
            "  --identify-window-ms MS     one IDENTIFY per bucket per MS, else INVALID_SESSION\n"
            "                              d=false (default 5000, Discord's; 0: unchecked)\n"
            "  --session-start-total N     session starts a day (default 1000)\n"
            "  --session-start-remaining N starts left now (default: the total); an IDENTIFY\n"
            "                              with none left ends every session and resets the\n"
            "                              token: 4004 from then on\n"
            "  --session-start-reset-after MS  until the budget refills (default 86400000)\n"
            "  --max-guilds-per-shard N    more for an IDENTIFY's shard: 4011 (default 2500;\n"
            "                              0: no limit)\n"
            "  --message-rate N[/s]        MESSAGE_CREATE per second per session (default 1, 0 off)\n"
            "  --granted-intents MASK      privileged intents the bot has (default 33026: all)\n"
            "  --log-level LEVEL           error|warn|info|debug (default info)\n"
            "  --upgrade-timeout MS        close connections that send no request (default 10000)\n"
            "  --max-output MIB            output queued for all clients together before the\n"
            "                              connection with the largest backlog is cut (default 256)\n"
            "  --scenario FILE|DIR         run scenarios against outside clients instead of the\n"
            "                              default mode (repeatable); exit 0 only if all pass\n"
            "  --junit FILE                with --scenario: write JUnit XML\n"
            "  --transcript-dir DIR        with --scenario: write transcripts as DIR/NAME.log\n"
            "  --help                      this text\n"
            "Signals: SIGINT/SIGTERM shut down cleanly. Logs go to stderr; tokens are redacted.\n");
}

static int parse_num(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || end == s || (*end && strcmp(end, "/s") != 0) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The options of the sharded bot: name, range, where the value goes. */
static int parse_sharding(mg_options *o, const char *a, const char *v, int *remaining_given, char *err,
                          size_t errlen)
{
    static const struct {
        const char *name;
        double min, max;
        const char *unit;
    } specs[] = {
        {"--shards", 1, 65536, ""},
        {"--max-concurrency", 1, 1024, ""},
        {"--identify-window-ms", 0, 3600000, " ms"},
        {"--session-start-total", 1, 4294967295.0, ""},
        {"--session-start-remaining", 0, 4294967295.0, ""},
        {"--session-start-reset-after", 1, 86400000.0 * 365, " ms"},
        {"--max-guilds-per-shard", 0, 1000000, ""},
    };
    size_t k = 0;
    while (strcmp(specs[k].name, a) != 0)
        k++;
    double num;
    if (parse_num(v, specs[k].min, specs[k].max, &num) != 0 || num != (double)(uint64_t)num) {
        snprintf(err, errlen, "%s: want an integer %.0f..%.0f%s, got %s", a, specs[k].min, specs[k].max,
                 specs[k].unit, v);
        return -1;
    }
    switch (k) {
    case 0: o->shards = (int)num; break;
    case 1: o->max_concurrency = (int)num; break;
    case 2: o->identify_window_ms = (uint32_t)num; break;
    case 3: o->session_total = (uint32_t)num; break;
    case 4: o->session_remaining = (uint32_t)num; *remaining_given = 1; break;
    case 5: o->session_reset_after_ms = (uint64_t)num; break;
    default: o->max_guilds_per_shard = (int)num; break;
    }
    return 0;
}

int mg_options_parse(int argc, char **argv, mg_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:0";
    o->heartbeat_interval = 41250;
    o->guilds = 1;
    o->shards = 1;
    o->max_concurrency = 1;
    o->identify_window_ms = 5000;
    o->session_total = 1000;
    o->session_reset_after_ms = 86400000;
    o->max_guilds_per_shard = 2500;
    int remaining_given = 0;
    o->message_rate = 1;
    o->granted_intents = MG_PRIVILEGED_INTENTS;
    o->log_level = MG_LOG_INFO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double num;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = 1;
            continue;
        }
        if (!strcmp(a, "--tls")) {
            o->tls = 1;
            continue;
        }
        static const char *const with_value[] = {"--listen", "--cert", "--key", "--heartbeat-interval", "--token",
                                                  "--guilds", "--message-rate", "--granted-intents", "--log-level",
                                                  "--scenario", "--junit", "--transcript-dir", "--upgrade-timeout",
                                                  "--max-output", "--shards", "--max-concurrency",
                                                  "--identify-window-ms", "--session-start-total",
                                                  "--session-start-remaining", "--session-start-reset-after",
                                                  "--max-guilds-per-shard"};
        int known = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(a, with_value[k]);
        if (!known) {
            snprintf(err, errlen, "unknown option %s (see --help)", a);
            return -1;
        }
        if (!v) {
            snprintf(err, errlen, "%s needs a value", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--listen")) {
            o->listen = v;
        } else if (!strcmp(a, "--cert")) {
            o->cert = v;
        } else if (!strcmp(a, "--key")) {
            o->key = v;
        } else if (!strcmp(a, "--heartbeat-interval")) {
            if (parse_num(v, 1, 3600000, &num) != 0) {
                snprintf(err, errlen, "--heartbeat-interval: want 1..3600000 ms, got %s", v);
                return -1;
            }
            o->heartbeat_interval = (uint32_t)num;
        } else if (!strcmp(a, "--token")) {
            if (o->ntokens == MG_MAX_TOKENS) {
                snprintf(err, errlen, "at most %d --token options", MG_MAX_TOKENS);
                return -1;
            }
            o->tokens[o->ntokens++] = v;
        } else if (!strcmp(a, "--guilds")) {
            if (parse_num(v, 0, 10000, &num) != 0) {
                snprintf(err, errlen, "--guilds: want 0..10000, got %s", v);
                return -1;
            }
            o->guilds = (int)num;
        } else if (!strcmp(a, "--shards") || !strcmp(a, "--max-concurrency") ||
                   !strcmp(a, "--identify-window-ms") || !strcmp(a, "--session-start-total") ||
                   !strcmp(a, "--session-start-remaining") || !strcmp(a, "--session-start-reset-after") ||
                   !strcmp(a, "--max-guilds-per-shard")) {
            if (parse_sharding(o, a, v, &remaining_given, err, errlen) != 0)
                return -1;
        } else if (!strcmp(a, "--message-rate")) {
            if (parse_num(v, 0, 1000, &num) != 0) {
                snprintf(err, errlen, "--message-rate: want 0..1000 per second, got %s", v);
                return -1;
            }
            o->message_rate = num;
        } else if (!strcmp(a, "--granted-intents")) {
            if (parse_num(v, 0, (double)MG_KNOWN_INTENTS, &num) != 0) {
                snprintf(err, errlen, "--granted-intents: want a bit mask, got %s", v);
                return -1;
            }
            o->granted_intents = (int64_t)num;
        } else if (!strcmp(a, "--log-level")) {
            if (mg_log_level_parse(v, &o->log_level) != 0) {
                snprintf(err, errlen, "--log-level: want error|warn|info|debug, got %s", v);
                return -1;
            }
        } else if (!strcmp(a, "--scenario")) {
            if (o->nscenarios == 64) {
                snprintf(err, errlen, "at most 64 --scenario options");
                return -1;
            }
            o->scenarios[o->nscenarios++] = v;
        } else if (!strcmp(a, "--upgrade-timeout")) {
            if (parse_num(v, 1, 3600000, &num) != 0) {
                snprintf(err, errlen, "--upgrade-timeout: want 1..3600000 ms, got %s", v);
                return -1;
            }
            o->upgrade_timeout_ms = (uint32_t)num;
        } else if (!strcmp(a, "--max-output")) {
            if (parse_num(v, 1, 65536, &num) != 0) {
                snprintf(err, errlen, "--max-output: want 1..65536 MiB, got %s", v);
                return -1;
            }
            o->max_total_output = (size_t)num << 20;
        } else if (!strcmp(a, "--junit")) {
            o->junit = v;
        } else if (!strcmp(a, "--transcript-dir")) {
            o->transcript_dir = v;
        }
    }
    if (!remaining_given)
        o->session_remaining = o->session_total;
    if (o->session_remaining > o->session_total) {
        snprintf(err, errlen, "--session-start-remaining %u is more than the total %u", o->session_remaining,
                 o->session_total);
        return -1;
    }
    if (o->ntokens == 0)
        o->tokens[o->ntokens++] = "test-token";
    o->tokens[o->ntokens] = NULL;
    if (o->tls && (!o->cert || !o->key)) {
        snprintf(err, errlen, "--tls needs --cert FILE and --key FILE");
        return -1;
    }
    return 0;
}
