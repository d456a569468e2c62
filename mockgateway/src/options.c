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
            "  --guilds N                  GUILD_CREATE dispatches after READY (default 1)\n"
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

int mg_options_parse(int argc, char **argv, mg_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:0";
    o->heartbeat_interval = 41250;
    o->guilds = 1;
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
                                                  "--max-output"};
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
    if (o->ntokens == 0)
        o->tokens[o->ntokens++] = "test-token";
    o->tokens[o->ntokens] = NULL;
    if (o->tls && (!o->cert || !o->key)) {
        snprintf(err, errlen, "--tls needs --cert FILE and --key FILE");
        return -1;
    }
    return 0;
}
