/*
 * dgw-shards - the sharded reference driver for libdgw.
 *
 * One thread, one epoll loop, N shards: each shard is a dgw_conn (behind
 * the IDENTIFY gate) and, while connected, a non-blocking socket (plain or
 * BearSSL TLS, the transport of examples/threaded-client/). IDENTIFYs wait
 * in one FIFO per max_concurrency bucket and go one per window per bucket;
 * the session-start budget is counted down and never overspent; sessions
 * are saved on exit and RESUMEd on the next start. README.md beside this
 * file explains the loop for porters.
 *
 * This file: the command line, GET /gateway/bot, the shard layout, the
 * state file, and the exit. The loop is loop.c; one shard's life,
 * shard.c.
 */
#include <dgw.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../threaded-client/gateway_url.h"
#include "app.h"
#include "out.h"
#include "state.h"
#include "stats.h"

/* Descriptors besides the shards' sockets: stdio, epoll, signalfd, the
 * state file, a lookup, and margin. */
#define SPARE_FDS 16

static void random_bytes(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* libdgw's source must not fail: no CSPRNG, no way on */
    }
}

/* The trust anchors: --cafile, else what `mockgateway run --ca` exports,
 * else the system bundle. */
static bool load_trust(app *a)
{
    if (a->trust_loaded)
        return true;
    const char *path = a->opt.cafile ? a->opt.cafile : getenv("MOCKGATEWAY_CA");
    if (path == NULL || path[0] == '\0')
        path = SYSTEM_CA_BUNDLE;
    char err[512];
    if (!trust_store_load(&a->trust, path, err, sizeof err)) {
        logmsg(LOG_ERROR, "TLS: %s", err);
        return false;
    }
    logmsg(LOG_DEBUG, "TLS: %zu trust anchors from %s", a->trust.count, path);
    a->trust_loaded = true;
    return true;
}

static bool is_tls_url(const char *url)
{
    url_parts u;
    return url_parse(url, &u) && u.tls;
}

/* Where the gateway is, how many shards, the buckets and the budget:
 * from GET /gateway/bot, overridden by the command line. Returns an exit
 * status, or -1 to go on. */
static int discover(app *a, uint32_t *mc, char **fetched)
{
    const options *o = &a->opt;
    budget *bg = &a->pacer.budget;
    *mc = o->max_concurrency ? o->max_concurrency : 1;
    if (o->url != NULL) {
        a->gateway_url = o->url;
        a->shard_count = o->shards;
    } else {
        const char *api = o->api ? o->api : getenv("MOCKGATEWAY_API");
        if (api == NULL || api[0] == '\0')
            api = DEFAULT_API;
        if (is_tls_url(api) && !load_trust(a))
            return EXIT_TLS;
        char err[512];
        int tls_err = 0, status = 0;
        size_t len = 0;
        static volatile sig_atomic_t never; /* signals still kill here */
        char *body = fetch_gateway_bot(api, a->token, a->trust_loaded ? &a->trust : NULL,
                                       &never, -1, &tls_err, &status, &len, err, sizeof err);
        if (body == NULL) {
            logmsg(LOG_ERROR, "%s", err);
            if (status == 401) {
                /* As fatal as close 4004: no shard could IDENTIFY with it. */
                logmsg(LOG_ERROR, "the API refused the token (401): stopping");
                return EXIT_FATAL_CLOSE;
            }
            return br_error_is_x509(tls_err) ? EXIT_TLS : EXIT_ERROR;
        }
        dgw_gateway_bot gb;
        const char *why = "";
        dgw_err e = dgw_parse_gateway_bot(body, len, &gb, &why);
        free(body);
        if (e != DGW_OK) {
            logmsg(LOG_ERROR, "GET %s/gateway/bot: unusable answer: %s", api, why);
            return EXIT_ERROR;
        }
        logmsg(LOG_INFO, "GET %s/gateway/bot: url %s, %" PRIu32 " shards recommended, "
               "max_concurrency %" PRIu32 ", session starts %" PRIu32 " of %" PRIu32
               " left, reset_after %" PRIu64 " ms", api, gb.url, gb.shards,
               gb.max_concurrency, gb.remaining, gb.total, gb.reset_after_ms);
        *fetched = strdup(gb.url);
        if (*fetched == NULL)
            return EXIT_ERROR;
        a->gateway_url = *fetched;
        a->shard_count = o->shards ? o->shards : gb.shards;
        if (!o->max_concurrency)
            *mc = gb.max_concurrency;
        bg->known = true;
        bg->total = gb.total;
        bg->remaining = gb.remaining;
        bg->reset_at_ms = now_ms() + gb.reset_after_ms;
    }
    if (o->budget_given) {
        bg->known = true;
        bg->total = bg->remaining = o->session_budget;
    }
    return -1;
}

/* The shards of this process, and the descriptors they need. */
static int lay_out(app *a)
{
    const options *o = &a->opt;
    a->first = o->range ? o->range_first : 0;
    uint32_t last = o->range ? o->range_last : a->shard_count - 1;
    if (last >= a->shard_count) {
        logmsg(LOG_ERROR, "--shard-range %" PRIu32 "-%" PRIu32 " does not fit in %"
               PRIu32 " shards", o->range_first, o->range_last, a->shard_count);
        return EXIT_ERROR;
    }
    a->n = last - a->first + 1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)a->n + SPARE_FDS) {
            logmsg(LOG_ERROR, "%" PRIu32 " shards need %" PRIu32 " file descriptors; "
                   "the limit is %llu (ulimit -n): run fewer shards per process "
                   "(--shard-range)", a->n, a->n + SPARE_FDS,
                   (unsigned long long)rl.rlim_cur);
            return EXIT_ERROR;
        }
    }
    return -1;
}

static int make_shards(app *a, uint32_t mc)
{
    const options *o = &a->opt;
    if (!pacer_init(&a->pacer, mc, o->identify_window_ms, CONNECT_LEAD_MS,
                    a->shard_count, a->first, a->n, TIMER_BUCKET) ||
        !heap_init(&a->timers, (size_t)a->n + a->pacer.count) ||
        (a->shards = calloc(a->n, sizeof *a->shards)) == NULL) {
        logmsg(LOG_ERROR, "out of memory");
        return EXIT_ERROR;
    }
    dgw_config cfg = {0};
    cfg.url = a->gateway_url;
    cfg.compress = o->compress;
    cfg.identify.token = a->token;
    cfg.identify.intents = o->intents;
    cfg.identify.shard_count = a->shard_count;
    cfg.identify.large_threshold = o->large_threshold;
    cfg.random = random_bytes;
    cfg.close_timeout_ms = CLOSE_TIMEOUT_MS;
    cfg.backoff_base_ms = o->backoff_base_ms;
    cfg.identify_gate = true; /* the buckets pace every IDENTIFY */
    for (uint32_t i = 0; i < a->n; i++) {
        cfg.identify.shard_id = a->first + i;
        dgw_err e = DGW_OK;
        dgw_conn *c = dgw_conn_new(&cfg, &e);
        if (c == NULL) {
            logmsg(LOG_ERROR, "shard %" PRIu32 ": dgw_conn_new: %s", a->first + i,
                   dgw_strerror(e));
            return EXIT_ERROR;
        }
        shard_init(a, &a->shards[i], a->first + i, c);
    }
    return -1;
}

/* Gives each shard the session saved for it, if the file has one for the
 * same shard count. */
static void restore_sessions(app *a)
{
    state_file st;
    size_t skipped = 0, restored = 0;
    char err[512];
    if (!state_load(a->opt.state_file, &st, &skipped, err, sizeof err)) {
        logmsg(LOG_WARN, "state file not used: %s", err);
        return;
    }
    if (!st.found) {
        logmsg(LOG_INFO, "no state file at %s yet: every shard IDENTIFYs",
               a->opt.state_file);
        return;
    }
    if (st.shard_count != a->shard_count) {
        logmsg(LOG_WARN, "%s holds sessions of %" PRIu32 " shards, not %" PRIu32
               ": not resuming them", a->opt.state_file, st.shard_count,
               a->shard_count);
        state_file_free(&st);
        return;
    }
    for (size_t k = 0; k < st.n; k++) {
        const saved_session *ss = &st.s[k];
        if (ss->shard < a->first || ss->shard - a->first >= a->n)
            continue; /* another process's shard */
        shard *s = &a->shards[ss->shard - a->first];
        dgw_err e = dgw_conn_restore_session(s->conn, ss->session_id, ss->seq,
                                             ss->resume_url);
        if (e == DGW_OK)
            restored++;
        else
            logmsg(LOG_WARN, "shard %" PRIu32 ": saved session not used: %s",
                   ss->shard, dgw_strerror(e));
    }
    logmsg(LOG_INFO, "%zu of %" PRIu32 " shards restored from %s: they RESUME%s",
           restored, a->n, a->opt.state_file,
           skipped ? " (malformed entries skipped)" : "");
    state_file_free(&st);
}

static void save_sessions(app *a)
{
    saved_session *ss = calloc(a->n ? a->n : 1, sizeof *ss);
    if (ss == NULL) {
        logmsg(LOG_ERROR, "state file not written: out of memory");
        return;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        const dgw_conn *c = a->shards[i].conn;
        if (!dgw_conn_can_resume(c))
            continue;
        ss[k].shard = a->shards[i].id;
        ss[k].session_id = dgw_conn_session_id(c);
        ss[k].seq = dgw_conn_last_seq(c);
        ss[k].resume_url = dgw_conn_resume_url(c);
        k++;
    }
    char err[512];
    if (state_save(a->opt.state_file, a->shard_count, ss, k, err, sizeof err))
        logmsg(LOG_INFO, "%zu sessions saved to %s", k, a->opt.state_file);
    else
        logmsg(LOG_ERROR, "state file not written: %s", err);
    free(ss);
}

static int setup_and_run(app *a, char **fetched)
{
    uint32_t mc = 1;
    int status = discover(a, &mc, fetched);
    if (status < 0)
        status = lay_out(a);
    if (status >= 0)
        return status;
    if (is_tls_url(a->gateway_url) && !load_trust(a))
        return EXIT_TLS;
    if ((status = make_shards(a, mc)) >= 0)
        return status;
    logmsg(LOG_INFO, "shards %" PRIu32 "-%" PRIu32 " of %" PRIu32 " at %s: "
           "max_concurrency %" PRIu32 ", one IDENTIFY per bucket per %" PRIu32 " ms, "
           "up to %" PRIu32 " connections per bucket waiting to IDENTIFY",
           a->first, a->first + a->n - 1, a->shard_count, a->gateway_url,
           a->pacer.mc, a->pacer.window_ms, a->pacer.connect_ahead);
    if (a->opt.state_file != NULL)
        restore_sessions(a);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (a->epfd < 0) {
        logmsg(LOG_ERROR, "epoll_create1: %s", strerror(errno));
        return EXIT_ERROR;
    }
    /* From here signals arrive through the loop's signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    status = loop_run(a);
    if (a->opt.state_file != NULL)
        save_sessions(a);
    stats_print(a, !a->opt.quiet, now_ms());
    return status;
}

int main(int argc, char **argv)
{
    app a = {.exit_status = -1, .epfd = -1};
    int status;
    if (!options_parse(argc, argv, &a.opt, &status))
        return status;
    a.token = getenv("DISCORD_TOKEN");
    out_init(a.token, a.opt.log_level, !a.opt.quiet);
    if (a.token == NULL || a.token[0] == '\0') {
        logmsg(LOG_ERROR, "DISCORD_TOKEN is not set");
        out_flush();
        return EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN); /* sockets use MSG_NOSIGNAL; this is for stdout */

    char *fetched = NULL;
    status = setup_and_run(&a, &fetched);
    logmsg(status == EXIT_OK ? LOG_INFO : LOG_WARN, "exit status %d", status);

    for (uint32_t i = 0; a.shards != NULL && i < a.n; i++) {
        transport_free(a.shards[i].t);
        dgw_conn_free(a.shards[i].conn);
    }
    free(a.shards);
    heap_free(&a.timers);
    pacer_free(&a.pacer);
    resolver_free(&a.dns);
    if (a.trust_loaded)
        trust_store_free(&a.trust);
    if (a.epfd >= 0)
        close(a.epfd);
    free(fetched);
    out_flush();
    return status;
}
