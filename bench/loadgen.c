/* loadgen - benchmark 4/5: many dgw connections from one thread.
 *
 *   loadgen URL --conns N [--rate R] [--hold S] [--compress MODE]
 *           [--server-pid PID] [--max-seconds S] [--no-bind]
 *
 * One thread, one epoll loop, N non-blocking TCP connections (ws:// only),
 * each with its own dgw_conn. Connections are opened at R per second (default
 * 2000); each upgrades, IDENTIFYs and heartbeats at the interval the server's
 * HELLO gives (run the mock gateway with --heartbeat-interval 5000). Once all
 * N are READY (or the ramp gave up), the load is held for S seconds (default
 * 15), then every socket is closed and one summary line is printed:
 *
 *   loadgen conns=N opened=.. ready=.. held=.. failed=.. closed_early=..
 *           acks=.. ack_ms_p50=.. ack_ms_p99=.. ack_ms_max=.. ack_us_p50=..
 *           ack_us_p99=.. ack_us_max=.. ramp_s=.. hold_s=..
 *           [srv_rss_kb_base=.. srv_rss_kb=.. srv_hwm_kb=.. srv_cpu_ramp_s=..
 *            srv_cpu_hold_s=..]  client_cpu_s=.. client_maxrss_kb=..
 *
 * ack_ms_* are DGW_EV_HEARTBEAT_ACK's latency_ms (the library's, 1 ms
 * resolution); ack_us_* are the same round trips timed here in microseconds
 * (from the dgw_conn_handle_timeout() call that queued the beat to the
 * dgw_conn_recv() that produced the ACK). Both count ACKs during the hold
 * only (the ramp's setup work is not steady state).
 * "held" counts connections still READY and open at the end of the hold.
 * srv_* come from /proc/PID/stat and /proc/PID/status of --server-pid:
 * RSS before the first connection and at the end of the hold, the VmHWM,
 * and utime+stime during the ramp and during the hold.
 * Every phase is bounded: --max-seconds (default 120) ends the run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dgw.h"

typedef struct lconn {
    int fd;
    dgw_conn *c;
    uint64_t rng;
    uint64_t beat_us;       /* when the pending beat was queued (0: none) */
    uint64_t deadline;      /* dgw_conn_next_timeout(), cached: the timer
                               scan then reads one array, not N conns */
    unsigned char connecting, ready, closed, want_out;
} lconn;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t t0_us;
static uint64_t now_ms(void) { return (now_us() - t0_us) / 1000u; }

static void rng(void *u, uint8_t *b, size_t n)
{
    uint64_t *s = u;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        b[i] = (uint8_t)(*s >> 24);
    }
}

/* ---- /proc sampling of the server -------------------------------------- */

static double proc_cpu_s(int pid)
{
    char p[64], buf[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')'); /* comm may hold spaces */
    if (!s)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_status_kb(int pid, const char *key)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

/* ---- latency samples --------------------------------------------------- */

typedef struct samples {
    uint32_t *v;
    size_t n, cap;
} samples;

static void add(samples *s, uint32_t x)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4096;
        uint32_t *p = realloc(s->v, nc * sizeof *p);
        if (!p)
            return;
        s->v = p;
        s->cap = nc;
    }
    s->v[s->n++] = x;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t pct(samples *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->v[i];
}

/* ---- the load ---------------------------------------------------------- */

static int epfd;
static lconn *conns;
static size_t nready, nfailed, nclosed_early, nopen;
static samples ack_ms, ack_us;
static int holding;
static uint32_t trace_us; /* LOADGEN_TRACE_US: log ACKs slower than this */
static dgw_config cfg;
static struct sockaddr_in srv_addr;
static int bind_ports = 1; /* --no-bind: let connect() pick ports */
static long next_port = 10000;
static uint8_t rbuf[65536];

static void set_out_interest(lconn *l, size_t idx)
{
    const uint8_t *o;
    int want = l->connecting || dgw_conn_peek_output(l->c, &o) > 0;
    if (want == l->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = idx};
    epoll_ctl(epfd, EPOLL_CTL_MOD, l->fd, &ev);
    l->want_out = (unsigned char)want;
}

static void drop(lconn *l)
{
    if (l->closed)
        return;
    l->closed = 1;
    l->deadline = DGW_NO_TIMEOUT;
    if (l->ready)
        nready--;
    nopen--;
    nclosed_early++;
    close(l->fd);
}

static void flush(lconn *l, size_t idx)
{
    const uint8_t *o;
    size_t n;
    while (!l->connecting && (n = dgw_conn_peek_output(l->c, &o)) > 0) {
        ssize_t w = send(l->fd, o, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            dgw_conn_consume_output(l->c, (size_t)w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        dgw_conn_recv_eof(l->c, now_ms());
        break;
    }
    l->deadline = dgw_conn_next_timeout(l->c);
    set_out_interest(l, idx);
}

static void events(lconn *l)
{
    dgw_event ev;
    while (dgw_conn_poll_event(l->c, &ev)) {
        switch (ev.type) {
        case DGW_EV_DISPATCH:
            if (!l->ready && ev.name && !strcmp(ev.name, "READY")) {
                l->ready = 1;
                nready++;
            }
            break;
        case DGW_EV_HEARTBEAT_ACK:
            if (holding)
                add(&ack_ms, ev.latency_ms);
            if (l->beat_us && holding) {
                uint32_t us = (uint32_t)(now_us() - l->beat_us);
                add(&ack_us, us);
                if (trace_us && us >= trace_us)
                    fprintf(stderr, "loadgen: slow ACK: conn %zu at t=%.3f s: %u us (lib %u ms)\n",
                            (size_t)(l - conns), (double)(now_us() - t0_us) / 1e6, us, ev.latency_ms);
            }
            l->beat_us = 0;
            break;
        case DGW_EV_CLOSED:
            if (!l->closed)
                fprintf(stderr, "loadgen: conn %zu closed at t=%.3f s: code %u, %s\n", (size_t)(l - conns),
                        (double)(now_us() - t0_us) / 1e6, ev.close_code, dgw_strerror(ev.error));
            drop(l);
            return;
        default:
            break;
        }
    }
}

static void on_readable(lconn *l, size_t idx)
{
    for (;;) {
        ssize_t n = recv(l->fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
        if (n > 0) {
            uint64_t now = now_ms();
            const uint8_t *p = rbuf;
            size_t len = (size_t)n;
            while (len > 0 && !l->closed) {
                long r = dgw_conn_recv(l->c, p, len, now);
                if (r < 0)
                    break;
                p += r;
                len -= (size_t)r;
                events(l);
            }
            events(l);
            if (l->closed)
                return;
            if ((size_t)n < sizeof rbuf)
                break;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            dgw_conn_recv_eof(l->c, now_ms());
            events(l);
            return;
        } else {
            break;
        }
    }
    flush(l, idx);
}

static int open_one(size_t i)
{
    lconn *l = &conns[i];
    memset(l, 0, sizeof *l);
    l->rng = 0x9e3779b97f4a7c15ull ^ (i * 0xbf58476d1ce4e5b9ull) ^ 1;
    dgw_config c = cfg;
    c.random_user = &l->rng;
    dgw_err err;
    l->c = dgw_conn_new(&c, &err);
    if (!l->c || dgw_conn_start(l->c, now_ms()) != DGW_OK)
        return -1;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        dgw_conn_free(l->c);
        l->c = NULL;
        return -1;
    }
    int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* An explicit source port: past half the ephemeral range, Linux's
     * connect() scans for a free port on every call (milliseconds each at
     * ~14,000 connections), which stalls this single-threaded loop. */
    for (int tries = 0; bind_ports && tries < 1000; tries++) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = srv_addr.sin_addr.s_addr};
        if (next_port < 10000 || next_port > 65000)
            next_port = 10000;
        if (next_port == ntohs(srv_addr.sin_port))
            next_port++;
        src.sin_port = htons((uint16_t)next_port++);
        if (bind(l->fd, (struct sockaddr *)&src, sizeof src) == 0)
            break;
        if (errno != EADDRINUSE)
            break;
    }
    if (connect(l->fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(l->fd);
        dgw_conn_free(l->c);
        l->c = NULL;
        errno = e;
        return -1;
    }
    l->connecting = 1;
    l->deadline = dgw_conn_next_timeout(l->c);
    l->want_out = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = i};
    epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev);
    nopen++;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *cname = "zlib-stream";
    long n = 100, rate = 2000, hold = 15, spid = 0, maxs = 120;
    dgw_compress comp = DGW_COMPRESS_ZLIB_STREAM;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--conns") && v) n = atol(argv[++i]);
        else if (!strcmp(a, "--rate") && v) rate = atol(argv[++i]);
        else if (!strcmp(a, "--hold") && v) hold = atol(argv[++i]);
        else if (!strcmp(a, "--server-pid") && v) spid = atol(argv[++i]);
        else if (!strcmp(a, "--max-seconds") && v) maxs = atol(argv[++i]);
        else if (!strcmp(a, "--no-bind")) bind_ports = 0;
        else if (!strcmp(a, "--compress") && v) {
            cname = argv[++i];
            comp = !strcmp(cname, "none") ? DGW_COMPRESS_NONE
                   : !strcmp(cname, "zstd-stream") ? DGW_COMPRESS_ZSTD_STREAM
                                                    : DGW_COMPRESS_ZLIB_STREAM;
        } else if (a[0] != '-' && !url) url = a;
        else {
            fprintf(stderr, "usage: loadgen URL --conns N [--rate R] [--hold S] [--compress MODE] "
                            "[--server-pid PID] [--max-seconds S]\n");
            return 2;
        }
    }
    if (!url || n < 1 || rate < 1 || hold < 0) {
        fprintf(stderr, "loadgen: need URL and --conns N >= 1\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 16)
            fprintf(stderr, "loadgen: RLIMIT_NOFILE %llu < %ld connections\n", (unsigned long long)rl.rlim_cur, n);
    }
    t0_us = now_us();
    if (getenv("LOADGEN_TRACE_US"))
        trace_us = (uint32_t)atol(getenv("LOADGEN_TRACE_US"));
    cfg.url = url;
    cfg.compress = comp;
    cfg.identify.token = "test-token";
    cfg.identify.intents = 513;
    cfg.random = rng;
    /* One IDENTIFY per connection, no other commands: the defaults fit. */
    {
        uint64_t s = 1;
        cfg.random_user = &s;
        dgw_err err;
        dgw_conn *c = dgw_conn_new(&cfg, &err);
        if (!c || dgw_conn_start(c, 0) != DGW_OK) {
            fprintf(stderr, "loadgen: bad URL %s\n", url);
            return 2;
        }
        dgw_endpoint ep;
        dgw_conn_endpoint(c, &ep);
        memset(&srv_addr, 0, sizeof srv_addr);
        srv_addr.sin_family = AF_INET;
        srv_addr.sin_port = htons(ep.port);
        if (ep.tls || inet_pton(AF_INET, ep.host, &srv_addr.sin_addr) != 1) {
            fprintf(stderr, "loadgen: want ws://IPv4:PORT, got %s\n", url);
            return 2;
        }
        dgw_conn_free(c);
    }
    conns = calloc((size_t)n, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epfd < 0)
        return 1;

    long base_rss = spid ? proc_status_kb((int)spid, "VmRSS") : 0;
    double cpu_a = spid ? proc_cpu_s((int)spid) : 0, cpu_b = 0, cpu_c = 0;
    size_t opened = 0;
    int give_up = 0;
    uint64_t start = now_us(), ramp_end = 0, hold_end = 0, last_scan = 0, last_log = start;
    uint64_t deadline = start + (uint64_t)maxs * 1000000u;
    struct epoll_event evs[512];
    for (;;) {
        uint64_t t = now_us();
        if (t >= deadline) {
            fprintf(stderr, "loadgen: --max-seconds reached\n");
            if (!ramp_end)
                ramp_end = t;
            break;
        }
        /* Ramp: open what the schedule allows. */
        size_t target = (size_t)((double)(t - start) / 1e6 * (double)rate) + 1;
        if (target > (size_t)n)
            target = (size_t)n;
        while (!give_up && opened < target) {
            if (open_one(opened) != 0) {
                fprintf(stderr, "loadgen: connection %zu: %s: not opening more\n", opened, strerror(errno));
                give_up = 1;
                break;
            }
            opened++;
        }
        if (!ramp_end && (opened == (size_t)n || give_up) &&
            (nready + nfailed + nclosed_early >= opened || t - start > (uint64_t)maxs * 500000u)) {
            ramp_end = t;
            holding = 1;
            hold_end = t + (uint64_t)hold * 1000000u;
            if (spid)
                cpu_b = proc_cpu_s((int)spid);
            fprintf(stderr, "loadgen: %zu ready of %zu opened after %.2f s; holding %ld s\n", nready, opened,
                    (double)(t - start) / 1e6, hold);
        }
        if (holding && t >= hold_end)
            break;
        if (t - last_log >= 1000000u) {
            last_log = t;
            fprintf(stderr, "loadgen: t=%.0fs opened=%zu open=%zu ready=%zu acks=%zu\n", (double)(t - start) / 1e6,
                    opened, nopen, nready, ack_ms.n);
        }
        int k = epoll_wait(epfd, evs, 512, 2);
        for (int i = 0; i < k; i++) {
            size_t idx = (size_t)evs[i].data.u64;
            lconn *l = &conns[idx];
            if (l->closed)
                continue;
            if (l->connecting && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &e, &el);
                if (e != 0) {
                    nfailed++;
                    l->ready = 0;
                    l->closed = 1;
                    l->deadline = DGW_NO_TIMEOUT;
                    nopen--;
                    close(l->fd);
                    continue;
                }
                l->connecting = 0;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(l, idx);
            if (!l->closed && (evs[i].events & EPOLLOUT))
                flush(l, idx);
        }
        /* Timers: a scan every 5 ms (10,000 cheap calls). */
        t = now_us();
        if (t - last_scan >= 5000) {
            last_scan = t;
            uint64_t nm = now_ms();
            for (size_t i = 0; i < opened; i++) {
                lconn *l = &conns[i];
                if (l->deadline > nm || l->closed || !l->c)
                    continue;
                const uint8_t *o;
                size_t before = dgw_conn_peek_output(l->c, &o);
                uint64_t tb = now_us();
                dgw_conn_handle_timeout(l->c, nm);
                if (before == 0 && dgw_conn_peek_output(l->c, &o) > 0 &&
                    dgw_conn_state(l->c) == DGW_STATE_CONNECTED)
                    l->beat_us = tb; /* the only command a READY idle conn sends */
                events(l);
                if (!l->closed)
                    flush(l, i);
            }
        }
    }
    uint64_t end = now_us();
    long rss = spid ? proc_status_kb((int)spid, "VmRSS") : 0, hwm = spid ? proc_status_kb((int)spid, "VmHWM") : 0;
    if (spid)
        cpu_c = proc_cpu_s((int)spid);
    size_t held = nready;
    for (size_t i = 0; i < opened; i++) {
        if (!conns[i].closed && conns[i].c)
            close(conns[i].fd);
        dgw_conn_free(conns[i].c);
    }
    qsort(ack_ms.v, ack_ms.n, sizeof *ack_ms.v, cmp_u32);
    qsort(ack_us.v, ack_us.n, sizeof *ack_us.v, cmp_u32);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("loadgen conns=%ld compress=%s opened=%zu ready=%zu held=%zu failed=%zu closed_early=%zu acks=%zu "
           "ack_ms_p50=%u ack_ms_p99=%u ack_ms_max=%u ack_us_samples=%zu ack_us_p50=%u ack_us_p99=%u ack_us_max=%u "
           "ramp_s=%.2f hold_s=%.2f",
           n, cname, opened, nready, held, nfailed, nclosed_early, ack_ms.n, pct(&ack_ms, 0.5), pct(&ack_ms, 0.99),
           ack_ms.n ? ack_ms.v[ack_ms.n - 1] : 0, ack_us.n, pct(&ack_us, 0.5), pct(&ack_us, 0.99),
           ack_us.n ? ack_us.v[ack_us.n - 1] : 0, (double)(ramp_end - start) / 1e6,
           holding ? (double)(end - ramp_end) / 1e6 : 0.0);
    if (spid)
        printf(" srv_rss_kb_base=%ld srv_rss_kb=%ld srv_hwm_kb=%ld srv_cpu_ramp_s=%.2f srv_cpu_hold_s=%.2f", base_rss,
               rss, hwm, cpu_b - cpu_a, cpu_c - cpu_b);
    printf(" client_cpu_s=%.2f client_maxrss_kb=%ld\n",
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss);
    free(conns);
    free(ack_ms.v);
    free(ack_us.v);
    close(epfd);
    return held == (size_t)n ? 0 : 1;
}
