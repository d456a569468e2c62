/* mockgateway: a mock Discord gateway server (default mode), a scenario
 * server (--scenario), and a conformance runner (`run ... -- CLIENT`). */
#include <stdio.h>
#include <string.h>

#include "default_mode.h"
#include "options.h"
#include "runner.h"
#include "server.h"

static int serve(const mg_options *o)
{
    char err[512];
    mg_tls_config tls;
    if (o->tls && mg_tls_config_load(&tls, o->cert, o->key, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway: %s\n", err);
        return 2;
    }
    mg_server srv;
    mg_server_config cfg = {
        .listen = o->listen,
        .tls = o->tls ? &tls : NULL,
        .log = {.level = o->log_level},
        .secrets = o->tokens,
        .upgrade_timeout_ms = o->upgrade_timeout_ms,
        .max_total_output = o->max_total_output,
    };
    if (mg_server_init(&srv, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway: %s\n", err);
        if (o->tls)
            mg_tls_config_free(&tls);
        return 2;
    }
    /* The first stdout line is the contract with scripts using port 0. */
    printf("%s\n", srv.ws_url);
    fflush(stdout);
    MG_INFO(&srv.cfg.log, "default mode on %s (REST %s/gateway/bot), heartbeat_interval %u ms", srv.ws_url,
            srv.api_url, o->heartbeat_interval);
    mg_default_mode dm;
    mg_default_config dc = {
        .tokens = o->tokens,
        .heartbeat_interval = o->heartbeat_interval,
        .guilds = o->guilds,
        .message_rate = o->message_rate,
        .granted_intents = o->granted_intents,
        .shards = o->shards,
        .max_concurrency = o->max_concurrency,
        .identify_window_ms = o->identify_window_ms,
        .session_total = o->session_total,
        .session_remaining = o->session_remaining,
        .session_reset_after_ms = o->session_reset_after_ms,
        .max_guilds_per_shard = o->max_guilds_per_shard,
    };
    if (mg_default_mode_init(&dm, &srv, &dc) != 0) {
        fprintf(stderr, "mockgateway: out of memory\n");
        mg_server_free(&srv);
        mg_default_mode_free(&dm);
        if (o->tls)
            mg_tls_config_free(&tls);
        return 2;
    }
    MG_INFO(&srv.cfg.log, "the bot: %d shard(s), %d guild(s), max_concurrency %d, IDENTIFY window %u ms, "
            "session starts %u of %u left", o->shards, o->guilds, o->max_concurrency, o->identify_window_ms,
            o->session_remaining, o->session_total);
    mg_server_set_app(&srv, &mg_default_mode_ops, &dm);
    mg_server_run(&srv);
    mg_server_close_all(&srv);
    mg_server_free(&srv);
    mg_default_mode_free(&dm);
    if (o->tls)
        mg_tls_config_free(&tls);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return mg_runner_main(argc - 1, argv + 1);
    mg_options o;
    char err[512];
    if (mg_options_parse(argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway: %s\n", err);
        mg_options_usage(stderr);
        return 2;
    }
    if (o.help) {
        mg_options_usage(stdout);
        return 0;
    }
    if (o.nscenarios > 0) {
        mg_runner_opts ro = {
            .listen = o.listen, .cert = o.cert, .key = o.key, .tls = o.tls,
            .junit = o.junit, .transcript_dir = o.transcript_dir, .token = o.tokens[0],
            .grace_ms = 2000, .log = {.level = o.log_level},
            .scenarios = o.scenarios, .nscenarios = (size_t)o.nscenarios,
            .supports = ~0u, /* the outside client is whatever it is: run everything */
        };
        return mg_runner_execute(&ro);
    }
    return serve(&o);
}
