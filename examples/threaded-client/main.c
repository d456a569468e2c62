/*
 * dgw-client - the reference driver for libdgw.
 *
 * libdgw is sans-I/O: it never touches a socket, a clock or a thread. This
 * program is the other half a real bot needs, written to be read and
 * ported: TCP and TLS (BearSSL, certificates checked), the clock, the
 * heartbeat timer, the lock, signals and the reconnect loop. It prints each
 * gateway event as one JSON line on stdout and its own story on stderr.
 *
 * Threads and the lock
 * --------------------
 *   main thread   parses options, finds the gateway URL, starts the two
 *                 threads below and joins them.
 *   I/O thread    the only thread that touches the socket and the BearSSL
 *                 engine. It poll()s the (non-blocking) socket and an
 *                 eventfd, feeds what arrives to dgw_conn_recv(), handles
 *                 the events, writes libdgw's output, and runs the
 *                 reconnect loop.
 *   timer thread  sleeps on a condition variable (CLOCK_MONOTONIC) until
 *                 dgw_conn_next_timeout(), calls dgw_conn_handle_timeout()
 *                 and pokes the eventfd, so that the I/O thread writes the
 *                 heartbeat that was queued and reads any event.
 *
 * Why a single I/O thread: a BearSSL engine is one state machine for both
 * directions (a read can need a write, e.g. an alert). A reader blocked in
 * the engine while a writer wants it would need the engine's lock held
 * across a blocking read: a deadlock, or a race. So only one thread ever
 * moves bytes, and the other threads only ask it to look again.
 *
 * The mutex `lock` guards the dgw_conn: it is held around every dgw_*
 * call and while the I/O thread moves bytes between libdgw and the
 * transport (that does not block: the socket is non-blocking). It is never
 * held while sleeping in poll(), during connect() or during a backoff
 * wait. The timer thread waits on `timer_cond` with `lock`; the I/O thread
 * signals it after each round, as its calls may have moved the deadline.
 *
 * Signals: SIGINT and SIGTERM set `stop_requested` and poke the eventfd
 * (write(2) is async-signal-safe). The I/O thread then closes with 1000,
 * lets libdgw finish the closing handshake (or time out, via the timer
 * thread), and returns.
 *
 * Exit status: 0 clean stop, 1 usage or other error, 2 fatal close code
 * from the gateway (e.g. 4004), 3 TLS/certificate failure.
 */
#include <dgw.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "gateway_url.h"
#include "transport.h"
#include "trust.h"

#define DEFAULT_API "https://discord.com/api/v10"
#define CONNECT_TIMEOUT_MS 10000

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_FATAL_CLOSE = 2, EXIT_TLS = 3 };

/* ---- Logging -------------------------------------------------------- */

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
static int log_level = LOG_INFO;
static const char *secret;   /* the token: replaced wherever it would print */
static size_t secret_len;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static uint64_t start_ms;

/* Writes p with the token replaced by [REDACTED]; with one_line, line
 * breaks become spaces (outside JSON strings a raw line break is only
 * whitespace, and inside one it is not allowed, so this keeps JSON valid). */
static void write_clean(FILE *f, const char *p, size_t n, bool one_line)
{
    while (n > 0) {
        size_t i = 0;
        for (; i < n; i++) {
            if (one_line && (p[i] == '\n' || p[i] == '\r'))
                break;
            if (secret_len && p[i] == secret[0] && n - i >= secret_len
                && memcmp(p + i, secret, secret_len) == 0)
                break;
        }
        fwrite(p, 1, i, f);
        p += i;
        n -= i;
        if (n == 0)
            break;
        if (*p == '\n' || *p == '\r') {
            fputc(' ', f);
            p++;
            n--;
        } else {
            fputs("[REDACTED]", f);
            p += secret_len;
            n -= secret_len;
        }
    }
}

__attribute__((format(printf, 2, 3)))
static void logmsg(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    uint64_t t = now_ms() - start_ms;
    static const char *const tags[] = {"error", "warn", "info", "debug"};
    flockfile(stderr);
    fprintf(stderr, "[%4" PRIu64 ".%03" PRIu64 "] %-5s ", t / 1000, t % 1000,
            tags[level]);
    write_clean(stderr, buf, len, true);
    fputc('\n', stderr);
    funlockfile(stderr);
}

/* ---- Options -------------------------------------------------------- */

typedef struct options {
    const char *url;
    const char *api;
    const char *cafile;
    uint64_t intents;
    uint32_t shard_id, shard_count;
    uint32_t large_threshold;
    dgw_compress compress;
    dgw_encoding encoding;
    bool payload_compress;
    const char *channel_info_guild; /* op 43 after each READY; NULL: never */
    uint64_t max_events; /* 0: run until stopped */
} options;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: dgw-client [options]\n"
        "Connects to the Discord gateway and prints every event as one JSON line.\n"
        "The token is read from DISCORD_TOKEN.\n"
        "\n"
        "  --url URL             gateway URL (ws:// plain, wss:// TLS); default:\n"
        "                        $MOCKGATEWAY_URL, $DGW_GATEWAY_URL, or asked from the API\n"
        "  --api URL             REST API base for GET /gateway/bot (http or https);\n"
        "                        default: $MOCKGATEWAY_API or " DEFAULT_API "\n"
        "  --intents N           gateway intents bit field (default 513)\n"
        "  --shard ID/COUNT      identify as this shard\n"
        "  --compress MODE       none, zlib-stream or zstd-stream (default none)\n"
        "  --encoding ENC        json (default) or etf (binary Erlang terms; events\n"
        "                        are still printed as JSON)\n"
        "  --payload-compress    ask for payload compression (\"compress\": true in\n"
        "                        IDENTIFY; only with json and no --compress)\n"
        "  --large-threshold N   IDENTIFY large_threshold (50-250)\n"
        "  --request-channel-info GUILD\n"
        "                        after READY, ask for the status and voice start time\n"
        "                        of GUILD's voice channels (op 43)\n"
        "  --cafile FILE         trust anchors (PEM); default: $MOCKGATEWAY_CA, or\n"
        "                        " SYSTEM_CA_BUNDLE "\n"
        "  --max-events N        stop cleanly after N dispatches\n"
        "  --log-level LEVEL     error, warn, info (default) or debug\n"
        "  --help                this text\n"
        "\n"
        "Exit status: 0 stopped cleanly, 1 error, 2 fatal close code, 3 TLS failure.\n");
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_options(int argc, char **argv, options *o)
{
    enum { O_URL = 256, O_API, O_INTENTS, O_SHARD, O_COMPRESS, O_LARGE, O_CAFILE,
           O_MAX, O_LOG, O_HELP, O_ENCODING, O_PAYLOAD_COMPRESS, O_CHANNEL_INFO };
    static const struct option longopts[] = {
        {"url", required_argument, 0, O_URL},
        {"api", required_argument, 0, O_API},
        {"intents", required_argument, 0, O_INTENTS},
        {"shard", required_argument, 0, O_SHARD},
        {"compress", required_argument, 0, O_COMPRESS},
        {"large-threshold", required_argument, 0, O_LARGE},
        {"cafile", required_argument, 0, O_CAFILE},
        {"max-events", required_argument, 0, O_MAX},
        {"log-level", required_argument, 0, O_LOG},
        {"help", no_argument, 0, O_HELP},
        {"encoding", required_argument, 0, O_ENCODING},
        {"payload-compress", no_argument, 0, O_PAYLOAD_COMPRESS},
        {"request-channel-info", required_argument, 0, O_CHANNEL_INFO},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->intents = 513; /* GUILDS | GUILD_MESSAGES: no privileged intent */
    int ch;
    uint64_t v;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_URL: o->url = optarg; break;
        case O_API: o->api = optarg; break;
        case O_CAFILE: o->cafile = optarg; break;
        case O_INTENTS:
            if (!parse_u64(optarg, UINT64_MAX, &o->intents))
                goto bad;
            break;
        case O_SHARD: {
            unsigned id, count;
            char extra;
            if (sscanf(optarg, "%u/%u%c", &id, &count, &extra) != 2 || count == 0
                || id >= count)
                goto bad;
            o->shard_id = id;
            o->shard_count = count;
            break;
        }
        case O_COMPRESS:
            if (strcmp(optarg, "none") == 0)
                o->compress = DGW_COMPRESS_NONE;
            else if (strcmp(optarg, "zlib-stream") == 0)
                o->compress = DGW_COMPRESS_ZLIB_STREAM;
            else if (strcmp(optarg, "zstd-stream") == 0)
                o->compress = DGW_COMPRESS_ZSTD_STREAM;
            else
                goto bad;
            break;
        case O_ENCODING:
            if (strcmp(optarg, "json") == 0)
                o->encoding = DGW_ENCODING_JSON;
            else if (strcmp(optarg, "etf") == 0)
                o->encoding = DGW_ENCODING_ETF;
            else
                goto bad;
            break;
        case O_PAYLOAD_COMPRESS:
            o->payload_compress = true;
            break;
        case O_CHANNEL_INFO:
            if (!parse_u64(optarg, UINT64_MAX, &v) || strspn(optarg, "0123456789") != strlen(optarg))
                goto bad;
            o->channel_info_guild = optarg;
            break;
        case O_LARGE:
            if (!parse_u64(optarg, 250, &v))
                goto bad;
            o->large_threshold = (uint32_t)v;
            break;
        case O_MAX:
            if (!parse_u64(optarg, UINT64_MAX, &o->max_events))
                goto bad;
            break;
        case O_LOG:
            if (strcmp(optarg, "error") == 0) log_level = LOG_ERROR;
            else if (strcmp(optarg, "warn") == 0) log_level = LOG_WARN;
            else if (strcmp(optarg, "info") == 0) log_level = LOG_INFO;
            else if (strcmp(optarg, "debug") == 0) log_level = LOG_DEBUG;
            else goto bad;
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return false;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "dgw-client: unexpected argument: %s\n", argv[optind]);
        return false;
    }
    return true;
bad:
    fprintf(stderr, "dgw-client: bad value for --%s: %s\n",
            longopts[ch - O_URL].name, optarg);
    return false;
}

/* ---- Mutants -------------------------------------------------------
 * dgw-client-mutant (the mutation harness, conformance/mutants.sh) is this
 * program built with -DDGW_MUTANTS on libdgw built the same way: the
 * environment variable DGW_MUTANT=NAME breaks one rule (lib/src/mutant.h),
 * DGW_MUTANT=list lists them. In dgw-client every switch is a constant 0. */
#ifdef DGW_MUTANTS
#include "mutant.h"

static const struct mutant_info {
    const char *name, *what, *rule;
} mutants[M__COUNT] = {
    [M_NONE] = {"none", "no mutation", "-"},
#define MUTANT_INFO(id, name, what, rule) [id] = {name, what, rule},
    DGW_MUTANT_LIST(MUTANT_INFO)
#undef MUTANT_INFO
};

static bool select_mutant(void)
{
    const char *want = getenv("DGW_MUTANT");
    if (want == NULL || *want == '\0')
        want = "none";
    if (strcmp(want, "list") == 0) {
        for (int i = 1; i < M__COUNT; i++)
            printf("%s\t%s\t%s\n", mutants[i].name, mutants[i].what, mutants[i].rule);
        exit(EXIT_OK);
    }
    for (int i = 0; i < M__COUNT; i++) {
        if (strcmp(want, mutants[i].name) == 0) {
            dgw_mutant = (dgw_mutant_id)i;
            logmsg(LOG_INFO, "mutant %s: %s", want, mutants[i].what);
            return true;
        }
    }
    logmsg(LOG_ERROR, "DGW_MUTANT=%s: no such mutant (DGW_MUTANT=list lists them)", want);
    return false;
}

/* M_EOF_BEFORE_LAST_BYTES: the socket's end is already waiting behind the
 * bytes still to feed (plain TCP: recv() peeks 0). */
static bool mutant_eof_first(transport *t)
{
    char b;
    return DGW_MUTANT(M_EOF_BEFORE_LAST_BYTES) &&
           recv(transport_fd(t), &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}
#else
#define DGW_MUTANT(m) 0
static bool select_mutant(void) { return true; }
static bool mutant_eof_first(transport *t) { (void)t; return false; }
#endif

/* ---- Shared state --------------------------------------------------- */

static volatile sig_atomic_t stop_requested;
static int signal_wake_fd = -1;

typedef struct app {
    pthread_mutex_t lock;      /* guards conn and the fields marked (L) */
    pthread_cond_t timer_cond; /* "the deadline may have moved" */
    dgw_conn *conn;            /* (L) */
    bool quit;                 /* (L) the timer thread must end */
    int wake_fd;               /* eventfd: "I/O thread, look at dgw again" */
    options opt;
    trust_store trust;         /* loaded on first TLS use */
    bool trust_loaded;
    int exit_status;           /* -1 while running */
    uint64_t dispatches;       /* I/O thread only */
    uint16_t last_close_code;  /* I/O thread only */
    char host[256];            /* I/O thread only: current connection's */
    bool tls, tls_logged;      /* I/O thread only */
} app;

static void poke(int fd)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: a wake-up is pending. */
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

static void drain_wake(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    int saved = errno;
    poke(signal_wake_fd);
    errno = saved;
}

static void random_bytes(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* libdgw's random source must not fail; without a kernel
             * CSPRNG there is no safe way on. */
            perror("getrandom");
            abort();
        }
        buf += n;
        len -= (size_t)n;
    }
}

static bool ensure_trust(app *a)
{
    if (a->trust_loaded)
        return true;
    /* MOCKGATEWAY_CA: what `mockgateway run --ca FILE` hands its client. */
    const char *path = a->opt.cafile;
    if (path == NULL)
        path = getenv("MOCKGATEWAY_CA");
    if (path == NULL || *path == '\0')
        path = SYSTEM_CA_BUNDLE;
    char err[512];
    if (!trust_store_load(&a->trust, path, err, sizeof err)) {
        logmsg(LOG_ERROR, "TLS: %s", err);
        return false;
    }
    logmsg(a->opt.cafile || strcmp(path, SYSTEM_CA_BUNDLE) == 0 ? LOG_DEBUG : LOG_INFO,
           "TLS: %zu trust anchors from %s", a->trust.count, path);
    a->trust_loaded = true;
    return true;
}

/* ---- Events --------------------------------------------------------- */

static void print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* One line per gateway payload: {"op":0,"t":"X","s":12,"d":<raw d>}.
 * d is copied as received, not re-serialised. */
static void print_event(const dgw_event *ev)
{
    FILE *f = stdout;
    fprintf(f, "{\"op\":%d,\"t\":", ev->op);
    if (ev->name != NULL)
        print_json_string(f, ev->name);
    else
        fputs("null", f);
    if (ev->seq >= 0)
        fprintf(f, ",\"s\":%" PRId64 ",\"d\":", ev->seq);
    else
        fputs(",\"s\":null,\"d\":", f);
    if (ev->data != NULL && ev->data_len > 0)
        write_clean(f, ev->data, ev->data_len, true);
    else
        fputs("null", f);
    fputs("}\n", f);
    fflush(f); /* one line at a time, for scripts reading a pipe */
}

static void log_closed(app *a, const dgw_event *ev)
{
    const char *name = dgw_close_code_name(ev->close_code);
    const char *last = dgw_conn_last_error(a->conn);
    logmsg(ev->error == DGW_OK ? LOG_INFO : LOG_WARN,
           "closed: code %u%s%s%s, reason \"%.*s\", %s, error: %s%s%s, session %s",
           ev->close_code, name ? " (" : "", name ? name : "", name ? ")" : "",
           (int)(ev->close_reason_len > 200 ? 200 : ev->close_reason_len),
           ev->close_reason ? ev->close_reason : "",
           ev->closed_by_server ? "by the server" : "by us",
           ev->error == DGW_OK ? "none" : dgw_strerror(ev->error),
           last && *last ? ": " : "", last ? last : "",
           ev->fatal ? "over (fatal code)" : ev->resumable ? "kept" : "over");
}

/* --request-channel-info: one op 43 per session, sent as soon as READY
 * says the session is up (the reply is an ordinary dispatch). */
static void request_channel_info(app *a)
{
    if (a->opt.channel_info_guild == NULL)
        return;
    dgw_err e = dgw_conn_request_channel_info(a->conn, a->opt.channel_info_guild,
                                              DGW_CHANNEL_INFO_STATUS | DGW_CHANNEL_INFO_VOICE_START_TIME,
                                              now_ms());
    if (e != DGW_OK)
        logmsg(LOG_WARN, "channel info request not sent: %s", dgw_strerror(e));
    else
        logmsg(LOG_INFO, "asked for the voice channel info of guild %s", a->opt.channel_info_guild);
}

/* Handles every queued event. Returns whether there was any. Sets
 * *closed on DGW_EV_CLOSED. Called with the lock held. */
static bool drain_events(app *a, bool *closed)
{
    dgw_event ev;
    bool any = false;
    while (dgw_conn_poll_event(a->conn, &ev)) {
        any = true;
        switch (ev.type) {
        case DGW_EV_UPGRADED:
            logmsg(LOG_INFO, "upgraded: the WebSocket is open");
            break;
        case DGW_EV_REJECTED:
            logmsg(LOG_WARN, "upgrade rejected: HTTP %d, body: %.*s", ev.http_status,
                   (int)(ev.http_body_len > 500 ? 500 : ev.http_body_len),
                   ev.http_body ? ev.http_body : "");
            break;
        case DGW_EV_HELLO:
            logmsg(LOG_INFO, "HELLO: heartbeat every %" PRIu32 " ms",
                   ev.heartbeat_interval_ms);
            print_event(&ev);
            break;
        case DGW_EV_DISPATCH:
            if (ev.name != NULL && strcmp(ev.name, "READY") == 0) {
                logmsg(LOG_INFO, "READY: session %s, resume URL %s",
                       dgw_conn_session_id(a->conn) ? dgw_conn_session_id(a->conn) : "?",
                       dgw_conn_resume_url(a->conn) ? dgw_conn_resume_url(a->conn) : "none");
                request_channel_info(a);
            } else if (ev.name != NULL && strcmp(ev.name, "RESUMED") == 0)
                logmsg(LOG_INFO, "RESUMED: session %s at seq %" PRId64,
                       dgw_conn_session_id(a->conn) ? dgw_conn_session_id(a->conn) : "?",
                       dgw_conn_last_seq(a->conn));
            else
                logmsg(LOG_DEBUG, "dispatch %s s=%" PRId64, ev.name ? ev.name : "?",
                       ev.seq);
            print_event(&ev);
            a->dispatches++;
            if (a->opt.max_events && a->dispatches == a->opt.max_events
                && !stop_requested) {
                logmsg(LOG_INFO, "%" PRIu64 " dispatches received: stopping",
                       a->dispatches);
                stop_requested = 1;
            }
            break;
        case DGW_EV_HEARTBEAT_ACK:
            logmsg(LOG_DEBUG, "heartbeat ACK, latency %" PRIu32 " ms", ev.latency_ms);
            print_event(&ev);
            break;
        case DGW_EV_RECONNECT:
            logmsg(LOG_INFO, "RECONNECT requested by the server: will resume");
            print_event(&ev);
            break;
        case DGW_EV_INVALID_SESSION:
            logmsg(LOG_INFO, "INVALID_SESSION: %s",
                   ev.resumable ? "resumable, will resume" : "not resumable, will identify anew");
            print_event(&ev);
            break;
        case DGW_EV_PAYLOAD:
            logmsg(LOG_DEBUG, "payload op %d", ev.op);
            print_event(&ev);
            break;
        case DGW_EV_CLOSED:
            a->last_close_code = ev.close_code;
            log_closed(a, &ev);
            *closed = true;
            break;
        case DGW_EV_COMMANDS_DROPPED:
            logmsg(LOG_WARN, "%" PRIu32 " queued commands dropped: the session they "
                   "belonged to ended", ev.dropped);
            break;
        case DGW_EV_IDENTIFY_WANTED: /* only with identify_gate, not used here */
        case DGW_EV_NONE:
            break;
        }
    }
    return any;
}

/* ---- Moving bytes ----------------------------------------------------
 * transport <-> libdgw until nothing moves. Never blocks. Lock held. */
static transport_status pump(app *a, transport *t, bool *closed)
{
    transport_status st = TRANSPORT_OK;
    bool progress = true;
    while (progress) {
        progress = false;

        /* Received bytes -> libdgw. It stops at each event so that the
         * event's slices stay valid: drain, then give it the rest. */
        const uint8_t *in;
        size_t n;
        while (!*closed && (in = transport_recv_buf(t, &n)) != NULL) {
            if (mutant_eof_first(t)) {
                dgw_conn_recv_eof(a->conn, now_ms());
                drain_events(a, closed);
                break;
            }
            long r = dgw_conn_recv(a->conn, in, n, now_ms());
            /* After an error libdgw is closed and ignores the rest. */
            size_t used = r < 0 ? n : (size_t)r;
            transport_recv_ack(t, used);
            bool any = drain_events(a, closed);
            if (used == 0 && !any)
                break;
            progress = true;
        }
        /* Events queued by dgw_conn_handle_timeout() in the timer thread. */
        if (drain_events(a, closed))
            progress = true;

        /* libdgw's output -> transport. */
        const uint8_t *out;
        size_t olen = dgw_conn_peek_output(a->conn, &out);
        if (olen > 0) {
            size_t room;
            uint8_t *dst = transport_send_buf(t, &room);
            if (dst != NULL && room > 0) {
                size_t m = olen < room ? olen : room;
                memcpy(dst, out, m);
                transport_send_ack(t, m);
                dgw_conn_consume_output(a->conn, m);
                progress = true;
            }
        }

        /* transport <-> socket (and the TLS handshake). */
        st = transport_io(t, &progress);
        if (a->tls && !a->tls_logged && transport_established(t)) {
            a->tls_logged = true;
            logmsg(LOG_INFO, "TLS established, certificate of %s verified", a->host);
        }
        if (st != TRANSPORT_OK)
            break;
    }
    return st;
}

/* One connection attempt, from dgw_conn_start() to DGW_EV_CLOSED (or a
 * stop before the WebSocket was open). */
static void run_connection(app *a)
{
    char *host = a->host;
    dgw_endpoint ep;

    pthread_mutex_lock(&a->lock);
    dgw_err e = dgw_conn_start(a->conn, now_ms());
    if (e == DGW_OK) {
        dgw_conn_endpoint(a->conn, &ep);
        snprintf(a->host, sizeof a->host, "%s", ep.host);
        a->tls = ep.tls;
        a->tls_logged = false;
    }
    pthread_cond_signal(&a->timer_cond); /* new handshake deadline */
    pthread_mutex_unlock(&a->lock);
    if (e != DGW_OK) {
        logmsg(LOG_ERROR, "dgw_conn_start: %s", dgw_strerror(e));
        a->exit_status = EXIT_ERROR;
        return;
    }

    logmsg(LOG_INFO, "connecting to %s:%u (%s)", host, (unsigned)ep.port,
           ep.tls ? "TLS" : "plain TCP");
    if (ep.tls && !ensure_trust(a)) {
        a->exit_status = EXIT_TLS;
        return;
    }
    char err[512];
    transport *t = transport_connect(host, ep.port, ep.tls, &a->trust,
                                     CONNECT_TIMEOUT_MS, a->wake_fd,
                                     &stop_requested, err, sizeof err);
    bool closed = false;
    if (t == NULL) {
        if (stop_requested)
            return;
        logmsg(LOG_WARN, "%s", err);
        /* A failed connect is a transport that ended: libdgw turns it into
         * DGW_EV_CLOSED (1006), and dgw_conn_reconnect() then gives the
         * backoff like for any other lost connection. */
        pthread_mutex_lock(&a->lock);
        dgw_conn_recv_eof(a->conn, now_ms());
        drain_events(a, &closed);
        pthread_mutex_unlock(&a->lock);
        return;
    }

    bool close_sent = false, give_up = false;
    for (;;) {
        pthread_mutex_lock(&a->lock);
        if (stop_requested && !close_sent) {
            close_sent = true;
            dgw_state s = dgw_conn_state(a->conn);
            if (s == DGW_STATE_CLOSING || s == DGW_STATE_CLOSED) {
                /* already on its way out */
            } else if (s == DGW_STATE_UPGRADING) {
                give_up = true; /* no WebSocket yet: nothing to close */
            } else {
                logmsg(LOG_INFO, "stopping: closing with 1000");
                e = dgw_conn_close(a->conn, 1000, "shutting down", now_ms());
                if (e != DGW_OK) {
                    logmsg(LOG_WARN, "dgw_conn_close: %s", dgw_strerror(e));
                    give_up = true;
                }
            }
        }
        transport_status st = pump(a, t, &closed);
        if (st == TRANSPORT_TLS_ERROR && br_error_is_x509(transport_tls_error(t))) {
            int code = transport_tls_error(t);
            logmsg(LOG_ERROR, "TLS: certificate of %s rejected: %s (%d): %s", host,
                   br_error_name(code), code, br_error_text(code));
            a->exit_status = EXIT_TLS;
            give_up = true;
        } else if (st != TRANSPORT_OK && !closed) {
            if (st == TRANSPORT_TLS_ERROR)
                logmsg(LOG_WARN, "TLS error: %s (%d): %s",
                       br_error_name(transport_tls_error(t)), transport_tls_error(t),
                       br_error_text(transport_tls_error(t)));
            else if (st == TRANSPORT_ERROR)
                logmsg(LOG_WARN, "socket error: %s", strerror(transport_error(t)));
            else
                logmsg(LOG_DEBUG, "the server ended the connection");
            dgw_conn_recv_eof(a->conn, now_ms());
            pump(a, t, &closed); /* deliver DGW_EV_CLOSED */
        }
        if (!closed && dgw_conn_state(a->conn) == DGW_STATE_CLOSED) {
            /* The contract says DGW_EV_CLOSED comes first; be safe. */
            logmsg(LOG_WARN, "libdgw is closed without DGW_EV_CLOSED");
            closed = true;
        }
        pthread_cond_signal(&a->timer_cond);
        pthread_mutex_unlock(&a->lock);

        if (closed || give_up || (st != TRANSPORT_OK && st != TRANSPORT_EOF))
            break;
        if (stop_requested && !close_sent)
            continue; /* e.g. --max-events was just reached */

        struct pollfd p[2] = {
            {transport_fd(t), (short)(POLLIN | (transport_wants_write(t) ? POLLOUT : 0)), 0},
            {a->wake_fd, POLLIN, 0},
        };
        if (st == TRANSPORT_EOF)
            p[0].events = 0; /* the socket has nothing more to say */
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            logmsg(LOG_ERROR, "poll: %s", strerror(errno));
            a->exit_status = EXIT_ERROR;
            break;
        }
        if (p[1].revents & POLLIN)
            drain_wake(a->wake_fd);
    }
    if (!give_up || a->exit_status != EXIT_TLS)
        transport_shutdown(t); /* TLS close_notify, best effort */
    transport_free(t);
}

/* Sleeps ms, or less if a stop is requested. Returns false on a stop. */
static bool backoff_wait(app *a, uint32_t ms)
{
    uint64_t deadline = now_ms() + ms;
    while (!stop_requested) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return true;
        struct pollfd p = {a->wake_fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - now)) > 0)
            drain_wake(a->wake_fd);
    }
    return false;
}

static void *io_thread(void *arg)
{
    app *a = arg;
    while (a->exit_status < 0 && !stop_requested) {
        run_connection(a);
        if (a->exit_status >= 0 || stop_requested)
            break;
        uint32_t wait_ms = 0;
        pthread_mutex_lock(&a->lock);
        dgw_err e = dgw_conn_reconnect(a->conn, now_ms(), &wait_ms);
        pthread_mutex_unlock(&a->lock);
        if (e == DGW_ERR_FATAL_CLOSE) {
            const char *name = dgw_close_code_name(a->last_close_code);
            logmsg(LOG_ERROR, "fatal close code %u (%s): not reconnecting",
                   a->last_close_code, name ? name : "unknown");
            a->exit_status = EXIT_FATAL_CLOSE;
        } else if (e != DGW_OK) {
            logmsg(LOG_ERROR, "dgw_conn_reconnect: %s", dgw_strerror(e));
            a->exit_status = EXIT_ERROR;
        } else {
            logmsg(LOG_INFO, "waiting %" PRIu32 " ms before reconnecting", wait_ms);
            backoff_wait(a, DGW_MUTANT(M_NO_BACKOFF_WAIT) ? 0 : wait_ms);
        }
    }
    if (a->exit_status < 0)
        a->exit_status = EXIT_OK;
    pthread_mutex_lock(&a->lock);
    a->quit = true;
    pthread_cond_signal(&a->timer_cond);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- The timer thread ----------------------------------------------- */

static void *timer_thread(void *arg)
{
    app *a = arg;
    uint64_t not_before = 0; /* guards against a deadline that does not move */
    pthread_mutex_lock(&a->lock);
    while (!a->quit) {
        uint64_t now = now_ms();
        uint64_t due = dgw_conn_next_timeout(a->conn);
        if (due != DGW_NO_TIMEOUT && due < not_before)
            due = not_before;
        if (due <= now) {
            /* Heartbeat, zombie check, handshake/close timeout... whatever
             * is due. libdgw decides; it sends no heartbeat while closing. */
            dgw_err e = dgw_conn_handle_timeout(a->conn, now);
            if (e != DGW_OK)
                logmsg(LOG_DEBUG, "dgw_conn_handle_timeout: %s", dgw_strerror(e));
            poke(a->wake_fd); /* the I/O thread writes what was queued */
            not_before = now + 1;
            continue;
        }
        if (due == DGW_NO_TIMEOUT) {
            pthread_cond_wait(&a->timer_cond, &a->lock);
        } else {
            struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000L};
            pthread_cond_timedwait(&a->timer_cond, &a->lock, &ts);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- main ----------------------------------------------------------- */

int main(int argc, char **argv)
{
    start_ms = now_ms();
    app a = {.exit_status = -1, .wake_fd = -1};
    if (!parse_options(argc, argv, &a.opt) || !select_mutant())
        return EXIT_ERROR;

    const char *token = getenv("DISCORD_TOKEN");
    if (token == NULL || *token == '\0') {
        logmsg(LOG_ERROR, "DISCORD_TOKEN is not set");
        return EXIT_ERROR;
    }
    secret = token;
    secret_len = strlen(token);

    a.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a.wake_fd < 0) {
        logmsg(LOG_ERROR, "eventfd: %s", strerror(errno));
        return EXIT_ERROR;
    }
    signal_wake_fd = a.wake_fd;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* send() uses MSG_NOSIGNAL; this is for stdout */

    /* The gateway URL: given, or asked from the REST API. */
    const char *url = a.opt.url;
    char *fetched = NULL;
    const char *api = a.opt.api;
    if (url == NULL && api == NULL)
        url = getenv("MOCKGATEWAY_URL");
    if (url == NULL && api == NULL)
        url = getenv("DGW_GATEWAY_URL");
    if (url == NULL) {
        if (api == NULL)
            api = getenv("MOCKGATEWAY_API");
        if (api == NULL)
            api = DEFAULT_API;
        url_parts u;
        if (!url_parse(api, &u)) {
            logmsg(LOG_ERROR, "bad API URL: %s", api);
            a.exit_status = EXIT_ERROR;
            goto out;
        }
        if (u.tls && !ensure_trust(&a)) {
            a.exit_status = EXIT_TLS;
            goto out;
        }
        logmsg(LOG_INFO, "asking %s/gateway/bot for the gateway URL", api);
        char err[512];
        int tls_err = 0;
        fetched = fetch_gateway_url(api, token, a.trust_loaded ? &a.trust : NULL,
                                    &stop_requested, a.wake_fd, &tls_err, err,
                                    sizeof err);
        if (fetched == NULL) {
            if (stop_requested) {
                a.exit_status = EXIT_OK;
                goto out;
            }
            logmsg(LOG_ERROR, "%s", err);
            a.exit_status = br_error_is_x509(tls_err) ? EXIT_TLS : EXIT_ERROR;
            goto out;
        }
        url = fetched;
    }
    logmsg(LOG_INFO, "gateway URL: %s", url);

    dgw_config cfg = {0};
    cfg.url = url;
    cfg.compress = a.opt.compress;
    cfg.encoding = a.opt.encoding;
    cfg.payload_compress = a.opt.payload_compress;
    cfg.identify.token = token;
    cfg.identify.intents = a.opt.intents;
    cfg.identify.shard_id = a.opt.shard_id;
    cfg.identify.shard_count = a.opt.shard_count;
    cfg.identify.large_threshold = a.opt.large_threshold;
    cfg.random = random_bytes;
    /* Mutants that are a configuration. */
    if (DGW_MUTANT(M_BACKOFF_BASE_100))
        cfg.backoff_base_ms = 100;
    if (DGW_MUTANT(M_NO_READY_TIMEOUT))
        cfg.ready_timeout_ms = UINT32_MAX;
    if (DGW_MUTANT(M_NO_IDENTIFY_WINDOW))
        cfg.identify_interval_ms = 1;
    if (DGW_MUTANT(M_NO_RATE_LIMIT))
        cfg.rate_limit_count = 512;
    dgw_err e = DGW_OK;
    const char *why = NULL;
    if ((e = dgw_config_check(&cfg, &why)) != DGW_OK) {
        logmsg(LOG_ERROR, "configuration refused: %s", why);
        a.exit_status = EXIT_ERROR;
        goto out;
    }
    a.conn = dgw_conn_new(&cfg, &e);
    if (a.conn == NULL) {
        logmsg(LOG_ERROR, "dgw_conn_new: %s", dgw_strerror(e));
        a.exit_status = EXIT_ERROR;
        goto out;
    }

    /* The timer thread's deadlines are CLOCK_MONOTONIC milliseconds, the
     * same clock as every now_ms given to libdgw. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a.timer_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&a.lock, NULL);

    pthread_t io, timer;
    if (pthread_create(&timer, NULL, timer_thread, &a) != 0) {
        logmsg(LOG_ERROR, "cannot start the timer thread");
        a.exit_status = EXIT_ERROR;
    } else {
        if (pthread_create(&io, NULL, io_thread, &a) != 0) {
            logmsg(LOG_ERROR, "cannot start the I/O thread");
            a.exit_status = EXIT_ERROR;
            pthread_mutex_lock(&a.lock);
            a.quit = true;
            pthread_cond_signal(&a.timer_cond);
            pthread_mutex_unlock(&a.lock);
        } else {
            pthread_join(io, NULL);
        }
        pthread_join(timer, NULL);
    }
    pthread_mutex_destroy(&a.lock);
    pthread_cond_destroy(&a.timer_cond);
    dgw_conn_free(a.conn);
    if (a.exit_status == EXIT_OK)
        logmsg(LOG_INFO, "stopped");

out:
    free(fetched);
    if (a.trust_loaded)
        trust_store_free(&a.trust);
    close(a.wake_fd);
    return a.exit_status;
}
