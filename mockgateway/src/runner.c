#define _GNU_SOURCE /* pipe2, nftw */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_html.h"
#include "run_pool.h"
#include "run_results.h"
#include "scenario.h"
#include "scenario_run.h"
#include "server.h"
#include "util.h"

/* ---- scenario files ------------------------------------------------------- */

typedef struct pathlist {
    char **v;
    size_t n, cap;
} pathlist;

static int pl_add(pathlist *pl, const char *p)
{
    if (pl->n == pl->cap) {
        size_t nc = pl->cap ? pl->cap * 2 : 32;
        char **nv = realloc(pl->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        pl->v = nv;
        pl->cap = nc;
    }
    pl->v[pl->n] = strdup(p);
    return pl->v[pl->n++] ? 0 : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int walk(pathlist *pl, const char *dir, int depth)
{
    if (depth > 16)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    pathlist local = {0};
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        pl_add(&local, p);
    }
    closedir(d);
    qsort(local.v, local.n, sizeof *local.v, cmp_str);
    for (size_t i = 0; i < local.n; i++) {
        struct stat st;
        if (stat(local.v[i], &st) != 0)
            continue;
        size_t l = strlen(local.v[i]);
        if (S_ISDIR(st.st_mode))
            walk(pl, local.v[i], depth + 1);
        else if (l > 5 && strcmp(local.v[i] + l - 5, ".json") == 0 &&
                 !(l > 12 && strcmp(local.v[i] + l - 12, ".schema.json") == 0))
            pl_add(pl, local.v[i]); /* the format's JSON Schema is no scenario */
    }
    mg_free_paths(local.v, local.n);
    return 0;
}

int mg_collect_scenarios(const char *const *paths, size_t n, char ***out, char *err, size_t errlen)
{
    pathlist pl = {0};
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
            mg_free_paths(pl.v, pl.n);
            return -1;
        }
        if (S_ISDIR(st.st_mode))
            walk(&pl, paths[i], 0);
        else
            pl_add(&pl, paths[i]);
    }
    *out = pl.v;
    return (int)pl.n;
}

void mg_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

char *mg_substitute_arg(const char *arg, const char *url, const char *api, const char *scenario, const char *tmpdir)
{
    const struct {
        const char *name, *value;
    } vars[] = {{"{url}", url}, {"{api}", api}, {"{scenario}", scenario}, {"{tmpdir}", tmpdir}};
    mg_buf b = {0};
    for (const char *p = arg; *p;) {
        size_t k = 0;
        while (k < sizeof vars / sizeof *vars &&
               !(vars[k].value && !strncmp(p, vars[k].name, strlen(vars[k].name))))
            k++;
        if (k < sizeof vars / sizeof *vars) {
            mg_buf_append_str(&b, vars[k].value);
            p += strlen(vars[k].name);
        } else {
            mg_buf_append(&b, p, 1);
            p++;
        }
    }
    const char *s = mg_buf_cstr(&b);
    char *r = s ? strdup(s) : NULL;
    mg_buf_free(&b);
    return r;
}

/* {tmpdir}: a directory of this run's own, made only when an argument
 * names it, removed with what the client left in it. */
static int needs_tmpdir(char *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(args[i], "{tmpdir}"))
            return 1;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the client process ----------------------------------------------------- */

typedef struct client_proc {
    pid_t pid;
    int out_fd; /* its stdout+stderr */
    int exited, status;
    mg_buf line;
    mg_scenario_run *run;
} client_proc;

static void client_output(void *arg, int fd)
{
    client_proc *cp = arg;
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (tmp[i] == '\n' || cp->line.len > 2000) {
                const char *s = mg_buf_cstr(&cp->line);
                if (cp->run && s)
                    mg_scenario_run_client_output(cp->run, s, mg_now_ms());
                mg_buf_reset(&cp->line);
            }
            if (tmp[i] != '\n')
                mg_buf_append(&cp->line, &tmp[i], 1);
        }
    }
}

static int spawn_client(client_proc *cp, char **argv, const mg_server *srv, const char *token,
                        const char *scenario, const char *ca)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* The loop blocks SIGINT/SIGTERM for its signalfd; the client must
         * get them normally, or SIGTERM would not end it. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        /* A runner (or -j worker) that dies without stopping its client
         * must not leave it reconnecting forever. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setpgid(0, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        setenv("MOCKGATEWAY_URL", srv->ws_url, 1);
        setenv("MOCKGATEWAY_API", srv->api_url, 1);
        setenv("DISCORD_TOKEN", token, 1);
        setenv("MOCKGATEWAY_SCENARIO", scenario, 1);
        if (ca)
            setenv("MOCKGATEWAY_CA", ca, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "mockgateway: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* both sides, so there is no race with the kill below */
    close(pfd[1]);
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    cp->pid = pid;
    cp->out_fd = pfd[0];
    cp->exited = 0;
    return 0;
}

static int reap_client(client_proc *cp)
{
    if (cp->exited || cp->pid <= 0)
        return 1;
    int st;
    pid_t r = waitpid(cp->pid, &st, WNOHANG);
    if (r == cp->pid) {
        cp->exited = 1;
        cp->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 1;
    }
    return 0;
}

/* SIGTERM to the client's process group, SIGKILL after the grace period.
 * Returns 1 when it exited by itself (before or within the grace period). */
static int stop_client(client_proc *cp, mg_server *srv, uint32_t grace_ms)
{
    if (cp->pid <= 0)
        return 1;
    int by_itself = 1;
    if (!reap_client(cp)) {
        kill(-cp->pid, SIGTERM);
        uint64_t until = mg_now_ms() + grace_ms;
        while (!reap_client(cp) && mg_now_ms() < until)
            mg_server_step(srv, 20);
        if (!cp->exited) {
            kill(-cp->pid, SIGKILL);
            int st;
            waitpid(cp->pid, &st, 0);
            cp->exited = 1;
            cp->status = 137;
            by_itself = 0;
        }
    }
    kill(-cp->pid, SIGKILL); /* leftovers in its group, if any */
    client_output(cp, cp->out_fd);
    mg_server_unwatch_fd(srv, cp->out_fd);
    close(cp->out_fd);
    cp->out_fd = -1;
    cp->pid = 0;
    mg_buf_free(&cp->line);
    return by_itself;
}

/* A restart step (every lane is at it): the client is stopped as at the
 * end of a scenario, with the step's grace period, and started again with
 * the same arguments. */
static void restart_client(client_proc *cp, mg_server *srv, char **argv, const mg_runner_opts *o,
                           mg_scenario_run *run)
{
    uint64_t now = mg_now_ms();
    if (cp->pid <= 0 && !cp->exited) {
        mg_transcript_add(&run->tr, now, 0, "!!", "a restart step needs a client command (mockgateway run ... -- CLIENT)");
        snprintf(run->failure, sizeof run->failure, "a restart step needs the client command of mockgateway run");
        run->failed = run->done = 1;
        return;
    }
    mg_transcript_add(&run->tr, now, 0, "->", "SIGTERM to the client (pid %d)", (int)cp->pid);
    int ok = stop_client(cp, srv, run->restart_grace_ms);
    int status = cp->status;
    if (ok && spawn_client(cp, argv, srv, o->token, run->sc->name, o->ca) != 0) {
        snprintf(run->failure, sizeof run->failure, "cannot start the client again: %s", strerror(errno));
        run->failed = run->done = 1;
        return;
    }
    if (ok) {
        mg_server_watch_fd(srv, cp->out_fd, client_output, cp);
        mg_transcript_add(&run->tr, mg_now_ms(), 0, "..", "client started again (pid %d)", (int)cp->pid);
    }
    mg_scenario_run_restarted(run, ok, status, mg_now_ms());
}

/* ---- the run command ------------------------------------------------------- */

typedef mg_runner_opts run_opts;

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: mockgateway run [OPTIONS] SCENARIO_OR_DIR... -- CLIENT_CMD [ARGS...]\n"
            "Runs each scenario against a fresh CLIENT_CMD and prints PASS/FAIL lines and\n"
            "a summary \"N passed, N failed\". Exit status 0 only if every scenario passed.\n"
            "The client gets MOCKGATEWAY_URL, MOCKGATEWAY_API, DISCORD_TOKEN, MOCKGATEWAY_SCENARIO\n"
            "(and MOCKGATEWAY_CA with --ca) and {url}, {api}, {scenario}, {tmpdir} in ARGS are replaced.\n"
            "  --listen HOST:PORT      address to listen on (default 127.0.0.1:0)\n"
            "  --tls                   serve wss:// (needs --cert and --key)\n"
            "  --cert FILE             PEM certificate chain\n"
            "  --key FILE              PEM private key\n"
            "  --ca FILE               passed to the client as MOCKGATEWAY_CA\n"
            "  --token TOKEN           token given to the client (default test-token)\n"
            "  --junit FILE            write JUnit XML\n"
            "  --html FILE             write a self-contained HTML report (a timeline per scenario)\n"
            "  -j, --jobs N            run N scenarios at once, each in a worker process with its own\n"
            "                          server (port 0) and client (default 1); outputs stay in order\n"
            "  --transcript-dir DIR    write each transcript as DIR/NAME.log\n"
            "  --grace-ms N            SIGTERM-to-SIGKILL grace for the client (default 2000)\n"
            "  --supports LIST         what the client can do beyond one connection at a time:\n"
            "                          sharding, restart (comma-separated); scenarios that\n"
            "                          require more are skipped (SKIP lines)\n"
            "  --without LIST          features of one connection the client lacks (assumed\n"
            "                          otherwise): zlib-stream, zstd-stream, etf,\n"
            "                          payload-compression, request-channel-info; their\n"
            "                          scenarios are skipped\n"
            "  --log-level LEVEL       error|warn|info|debug (default warn)\n"
            "  --help                  this text\n");
}

/* "sharding,restart": MG_REQUIRES_* bits. */
static int parse_features(const char *list, unsigned *out)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (unsigned i = 0; mg_requirement_names[i]; i++)
            if (n == strlen(mg_requirement_names[i]) && !strncmp(p, mg_requirement_names[i], n))
                bit = 1u << i;
        if (!bit)
            return -1;
        *out |= bit;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int parse_run_opts(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:0";
    o->token = "test-token";
    o->grace_ms = 2000;
    o->jobs = 1;
    o->supports = MG_REQUIRES_DEFAULT;
    o->log.level = MG_LOG_WARN;
    o->scenarios = calloc((size_t)argc + 1, sizeof *o->scenarios);
    if (!o->scenarios)
        return -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                             \
    do {                                                                    \
        if (!v) {                                                           \
            fprintf(stderr, "mockgateway run: %s needs a value\n", a);      \
            return -1;                                                      \
        }                                                                   \
        i++;                                                                \
    } while (0)
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "--help")) {
            run_usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--tls")) {
            o->tls = 1;
        } else if (!strcmp(a, "--listen")) {
            NEEDV();
            o->listen = v;
        } else if (!strcmp(a, "--cert")) {
            NEEDV();
            o->cert = v;
        } else if (!strcmp(a, "--key")) {
            NEEDV();
            o->key = v;
        } else if (!strcmp(a, "--ca")) {
            NEEDV();
            o->ca = v;
        } else if (!strcmp(a, "--token")) {
            NEEDV();
            o->token = v;
        } else if (!strcmp(a, "--junit")) {
            NEEDV();
            o->junit = v;
        } else if (!strcmp(a, "--html")) {
            NEEDV();
            o->html = v;
        } else if (!strcmp(a, "--jobs") || !strncmp(a, "-j", 2)) {
            const char *num = a[1] == 'j' && a[2] ? a + 2 : v; /* -j4 or -j 4 */
            if (num == v)
                NEEDV();
            char *end = NULL;
            unsigned long n = strtoul(num, &end, 10);
            if (!*num || *end || n < 1 || n > MG_POOL_MAX_JOBS) {
                fprintf(stderr, "mockgateway run: %s wants 1..%d, got %s\n", a, MG_POOL_MAX_JOBS, num);
                return -1;
            }
            o->jobs = (unsigned)n;
        } else if (!strcmp(a, "--transcript-dir")) {
            NEEDV();
            o->transcript_dir = v;
        } else if (!strcmp(a, "--supports") || !strcmp(a, "--without")) {
            NEEDV();
            unsigned bits = 0;
            if (parse_features(v, &bits) != 0) {
                fprintf(stderr, "mockgateway run: %s takes a comma-separated list of sharding, restart, zlib-stream, "
                                "zstd-stream, etf, payload-compression, request-channel-info\n", a);
                return -1;
            }
            if (!strcmp(a, "--supports"))
                o->supports |= bits;
            else
                o->supports &= ~bits;
        } else if (!strcmp(a, "--grace-ms")) {
            NEEDV();
            o->grace_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--log-level")) {
            NEEDV();
            if (mg_log_level_parse(v, &o->log.level) != 0) {
                fprintf(stderr, "mockgateway run: bad --log-level %s\n", v);
                return -1;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "mockgateway run: unknown option %s\n", a);
            return -1;
        } else {
            o->scenarios[o->nscenarios++] = a;
        }
#undef NEEDV
    }
    o->cmd = argv + i;
    o->ncmd = (size_t)(argc - i);
    if (o->nscenarios == 0 || o->ncmd == 0) {
        fprintf(stderr, "mockgateway run: need at least one scenario and a client command after --\n");
        return -1;
    }
    if (o->tls && (!o->cert || !o->key)) {
        fprintf(stderr, "mockgateway run: --tls needs --cert and --key\n");
        return -1;
    }
    return 0;
}

/* The first requirement of sc (MG_REQUIRES_*) missing from supports, or NULL. */
static const char *unsupported_requirement(const mg_scenario *sc, unsigned supports)
{
    for (unsigned i = 0; mg_requirement_names[i]; i++)
        if ((sc->requires >> i & 1) && !(supports >> i & 1))
            return mg_requirement_names[i];
    return NULL;
}

/* Makes {tmpdir} when the command or client_args name it. Returns -1
 * when it could not be made. */
static int make_tmpdir(const run_opts *o, const mg_scenario *sc, char *dir, size_t n)
{
    if (!needs_tmpdir(o->cmd, o->ncmd) && !needs_tmpdir(sc->client_args, sc->nclient_args))
        return 0;
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/mockgateway-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(dir))
        return 0;
    dir[0] = '\0';
    return -1;
}

/* Runs one scenario against a fresh client and fills *res (nothing is
 * printed: the collector in run_results.c does the outputs). */
static void run_one(const run_opts *o, mg_server *srv, const char *path, const char *const *secrets,
                    mg_run_result *res, int *interrupted)
{
    char err[1024];
    mg_scenario sc;
    uint64_t t0 = mg_now_ms();
    memset(res, 0, sizeof *res);
    res->path = strdup(path);
    if (mg_scenario_load(path, &sc, err, sizeof err) != 0) {
        res->failure = strdup(err);
        return;
    }
    const char *missing = unsupported_requirement(&sc, o->supports);
    if (missing) {
        char why[160];
        snprintf(why, sizeof why, "requires %s, which the client does not offer (--supports, --without)", missing);
        res->loaded = 1;
        res->name = strdup(sc.name);
        res->rule = sc.rule ? strdup(sc.rule) : NULL;
        res->skipped = strdup(why);
        mg_scenario_free(&sc);
        return;
    }
    char tmpdir[256] = "";
    int tmp_failed = make_tmpdir(o, &sc, tmpdir, sizeof tmpdir);
    /* argv: the command, then the scenario's client_args, substituted */
    size_t argc = o->ncmd + sc.nclient_args;
    char **argv = calloc(argc + 1, sizeof *argv);
    for (size_t i = 0; argv && i < argc; i++) {
        const char *a = i < o->ncmd ? o->cmd[i] : sc.client_args[i - o->ncmd];
        argv[i] = mg_substitute_arg(a, srv->ws_url, srv->api_url, sc.name, tmpdir[0] ? tmpdir : NULL);
    }
    mg_scenario_run run;
    int init_failed = mg_scenario_run_init(&run, srv, &sc, o->token, secrets, t0) != 0;
    mg_server_set_app(srv, &mg_scenario_run_ops, &run);
    client_proc cp = {.out_fd = -1, .run = &run};
    if (tmpdir[0])
        mg_transcript_add(&run.tr, t0, 0, "..", "{tmpdir} is %s", tmpdir);
    if (init_failed || tmp_failed) {
        snprintf(run.failure, sizeof run.failure, "%s", init_failed ? "out of memory" : "cannot make {tmpdir}");
        run.failed = run.done = 1;
    } else if (o->ncmd == 0) {
        mg_transcript_add(&run.tr, mg_now_ms(), 0, "..", "waiting for a client at %s", srv->ws_url);
    } else if (!argv || spawn_client(&cp, argv, srv, o->token, sc.name, o->ca) != 0) {
        snprintf(run.failure, sizeof run.failure, "cannot start the client: %s", strerror(errno));
        run.failed = run.done = 1;
    } else {
        mg_server_watch_fd(srv, cp.out_fd, client_output, &cp);
        mg_transcript_add(&run.tr, mg_now_ms(), 0, "..", "client started (pid %d): %s", (int)cp.pid, argv[0]);
    }
    while (!run.done && !srv->stop) {
        mg_server_step(srv, 50);
        if (run.restart_wanted && !run.done)
            restart_client(&cp, srv, argv, o, &run);
        if (cp.pid > 0 && !cp.exited && reap_client(&cp))
            mg_scenario_run_client_exited(&run, cp.status, mg_now_ms());
        mg_scenario_run_poll(&run, mg_now_ms());
    }
    if (srv->stop && !run.done) {
        snprintf(run.failure, sizeof run.failure, "interrupted by a signal");
        run.failed = 1;
        *interrupted = 1;
    }
    /* The verdict is in: later events must not change it. */
    run.done = 1;
    stop_client(&cp, srv, o->grace_ms);
    mg_server_close_all(srv);
    mg_server_set_app(srv, NULL, NULL);
    double secs = (double)(mg_now_ms() - t0) / 1000.0;
    mg_transcript_add(&run.tr, mg_now_ms(), 0, "..", "verdict: %s", run.failed ? "FAIL" : "PASS");
    res->loaded = 1;
    res->passed = !run.failed;
    res->seconds = secs;
    res->name = strdup(sc.name);
    res->rule = sc.rule ? strdup(sc.rule) : NULL;
    res->failure = run.failed ? strdup(run.failure) : NULL;
    res->transcript = strdup(mg_transcript_text(&run.tr));
    mg_scenario_run_free(&run);
    for (size_t i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    remove_tree(tmpdir);
    mg_scenario_free(&sc);
}

int mg_runner_main(int argc, char **argv)
{
    run_opts o;
    if (parse_run_opts(argc, argv, &o) != 0) {
        free(o.scenarios);
        run_usage(stderr);
        return 2;
    }
    int rc = mg_runner_execute(&o);
    free(o.scenarios);
    return rc;
}

/* What a process running scenarios holds: its own server. The serial run
 * has one; with -j each worker makes its own after the fork. */
typedef struct run_ctx {
    const run_opts *o;
    char **files;
    const char *const *secrets;
    mg_tls_config *tls; /* NULL: plain ws:// */
    mg_server srv;
    int interrupted;
} run_ctx;

static int ctx_start(void *arg, char *err, size_t errlen)
{
    run_ctx *x = arg;
    mg_server_config cfg = {.listen = x->o->listen, .tls = x->tls, .log = x->o->log, .secrets = x->secrets};
    return mg_server_init(&x->srv, &cfg, err, errlen);
}

static void ctx_run(void *arg, size_t index, mg_run_result *out, int *stop)
{
    run_ctx *x = arg;
    run_one(x->o, &x->srv, x->files[index], x->secrets, out, &x->interrupted);
    *stop = x->interrupted;
}

static void ctx_end(void *arg)
{
    run_ctx *x = arg;
    mg_server_free(&x->srv);
}

/* Every scenario in this process, one after the other. Returns 0, or 2 when
 * the server could not start. */
static int run_serial(run_ctx *x, size_t nfiles, mg_results *col)
{
    char err[512];
    if (ctx_start(x, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway run: %s\n", err);
        return 2;
    }
    if (x->o->ncmd == 0) {
        /* Serving scripts to an outside client: the URL is the first line. */
        printf("%s\n", x->srv.ws_url);
        fflush(stdout);
    }
    fprintf(stderr, "mockgateway: %zu scenario(s), gateway %s\n", nfiles, x->srv.ws_url);
    for (size_t i = 0; i < nfiles && !x->interrupted; i++) {
        mg_run_result res;
        int stop = 0;
        ctx_run(x, i, &res, &stop);
        mg_results_add(col, i, &res);
    }
    ctx_end(x);
    return 0;
}

/* With -j every worker listens on a port of its own. */
static int listen_port_is_zero(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    return colon && strspn(colon + 1, "0") == strlen(colon + 1) && colon[1];
}

static int run_parallel(run_ctx *x, size_t nfiles, mg_results *col)
{
    const run_opts *o = x->o;
    if (o->ncmd == 0) {
        fprintf(stderr, "mockgateway run: -j needs a client command (outside clients take one scenario at a time)\n");
        return 2;
    }
    if (!listen_port_is_zero(o->listen)) {
        fprintf(stderr, "mockgateway run: with -j each worker listens on its own port: --listen HOST:0, not %s\n",
                o->listen);
        return 2;
    }
    fprintf(stderr, "mockgateway: %zu scenario(s), %u workers, each with its own gateway on %s\n", nfiles,
            o->jobs < nfiles ? o->jobs : (unsigned)nfiles, o->listen);
    mg_pool_job job = {.worker_start = ctx_start, .run = ctx_run, .worker_end = ctx_end, .ctx = x};
    int rc = mg_pool_run(&job, nfiles, o->jobs, col);
    if (rc < 0)
        return 2;
    x->interrupted = rc == 1;
    return 0;
}

/* The client command as one line, for the report (secrets redacted); with
 * short set, each word that is a path is cut to its last part (the
 * column heading: "dgw-client --log-level debug"). */
static char *command_line(const run_opts *o, const char *const *secrets, int short_words)
{
    mg_buf b = {0};
    for (size_t i = 0; i < o->ncmd; i++) {
        const char *w = o->cmd[i], *slash = strrchr(w, '/');
        if (i)
            mg_buf_append_str(&b, " ");
        mg_buf_append_str(&b, short_words && slash && slash[1] ? slash + 1 : w);
    }
    const char *s = mg_buf_cstr(&b);
    char *r = mg_redact(s ? s : "", s ? strlen(s) : 0, secrets);
    mg_buf_free(&b);
    return r;
}

static void write_outputs(const run_ctx *x, const mg_results *col, uint64_t t0)
{
    const run_opts *o = x->o;
    if (o->junit && mg_results_write_junit(col, o->junit) != 0)
        fprintf(stderr, "mockgateway run: cannot write %s\n", o->junit);
    if (o->html) {
        char *label = command_line(o, x->secrets, 1), *command = command_line(o, x->secrets, 0);
        mg_report_run rr = {
            .client = label ? label : "",
            .command = command ? command : "",
            .seconds = (double)(mg_now_ms() - t0) / 1000.0,
            .jobs = o->jobs,
            .interrupted = x->interrupted,
        };
        char err[512];
        if (mg_report_html_write(o->html, &rr, col, err, sizeof err) != 0)
            fprintf(stderr, "mockgateway run: %s\n", err);
        free(label);
        free(command);
    }
}

int mg_runner_execute(const mg_runner_opts *opts)
{
    run_opts o = *opts;
    if (o.jobs == 0)
        o.jobs = 1;
    uint64_t t0 = mg_now_ms();
    char err[512];
    char **files = NULL;
    int nfiles = mg_collect_scenarios(o.scenarios, o.nscenarios, &files, err, sizeof err);
    if (nfiles <= 0) {
        fprintf(stderr, "mockgateway run: %s\n", nfiles < 0 ? err : "no scenario files found");
        return 2;
    }
    mg_tls_config tls;
    if (o.tls && mg_tls_config_load(&tls, o.cert, o.key, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway run: %s\n", err);
        mg_free_paths(files, (size_t)nfiles);
        return 2;
    }
    const char *secrets[] = {o.token, "test-token", NULL};
    run_ctx x = {.o = &o, .files = files, .secrets = secrets, .tls = o.tls ? &tls : NULL};
    mg_results col;
    int rc = 2;
    if (mg_results_init(&col, (const char *const *)files, (size_t)nfiles, t0, o.transcript_dir) != 0) {
        fprintf(stderr, "mockgateway run: out of memory\n");
    } else {
        rc = o.jobs > 1 ? run_parallel(&x, (size_t)nfiles, &col) : run_serial(&x, (size_t)nfiles, &col);
        if (rc == 0) {
            mg_results_finish(&col);
            write_outputs(&x, &col, t0);
            rc = col.failed == 0 && !x.interrupted ? 0 : 1;
        }
        mg_results_free(&col);
    }
    if (o.tls)
        mg_tls_config_free(&tls);
    mg_free_paths(files, (size_t)nfiles);
    return rc;
}
