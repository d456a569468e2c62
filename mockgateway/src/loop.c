#define _GNU_SOURCE /* accept4 */
/* The event loop: listening socket, signals, connections, timers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

#define TAG_LISTEN ((uint64_t)1)
#define TAG_SIGNAL ((uint64_t)2)
#define TAG_WATCH ((uint64_t)3) /* +index */
#define TAG_CONN_MIN ((uint64_t)16)

static void raise_nofile(const mg_logger *lg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            MG_WARN(lg, "cannot raise RLIMIT_NOFILE");
    }
}

static int parse_listen(const char *spec, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= hostlen)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (!end || *end || p < 0 || p > 65535 || colon[1] == '\0')
        return -1;
    *port = (int)p;
    return 0;
}

void mg_server_init_detached(mg_server *s, const mg_server_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->epfd = s->lfd = s->sigfd = -1;
}

int mg_server_init(mg_server *s, const mg_server_config *cfg, char *err, size_t errlen)
{
    mg_server_init_detached(s, cfg);
    raise_nofile(&s->cfg.log);
    int port;
    if (parse_listen(cfg->listen, s->host, sizeof s->host, &port) != 0) {
        snprintf(err, errlen, "bad --listen value '%s' (want HOST:PORT)", cfg->listen);
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, s->host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--listen host must be an IPv4 address, got '%s'", s->host);
        return -1;
    }
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 4096) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
        goto fail;
    }
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    snprintf(s->ws_url, sizeof s->ws_url, "%s://%s:%d", cfg->tls ? "wss" : "ws", s->host, s->port);
    snprintf(s->api_url, sizeof s->api_url, "%s://%s:%d/api/v10", cfg->tls ? "https" : "http",
             s->host, s->port);

    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    /* SIGPIPE is avoided per call with MSG_NOSIGNAL. */
    if (s->epfd < 0 || sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "epoll/signalfd setup failed: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
    ev.data.u64 = TAG_SIGNAL;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &ev);
    return 0;
fail:
    mg_server_free(s);
    return -1;
}

void mg_server_set_app(mg_server *s, const mg_app_ops *ops, void *app)
{
    s->ops = ops;
    s->app = app;
}

void mg_server_wake_at(mg_server *s, uint64_t t)
{
    if (s->wake_at == 0 || t < s->wake_at)
        s->wake_at = t;
}

void mg_server_stop(mg_server *s) { s->stop = 1; }

int mg_server_watch_fd(mg_server *s, int fd, void (*cb)(void *arg, int fd), void *arg)
{
    size_t max = sizeof s->watches / sizeof *s->watches;
    for (size_t i = 0; i < max; i++) {
        if (s->watches[i].cb)
            continue;
        s->watches[i] = (struct mg_watch){fd, cb, arg};
        if (i >= s->nwatches)
            s->nwatches = i + 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WATCH + i};
        return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
    return -1;
}

void mg_server_unwatch_fd(mg_server *s, int fd)
{
    for (size_t i = 0; i < s->nwatches; i++) {
        if (s->watches[i].cb && s->watches[i].fd == fd) {
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
            s->watches[i].cb = NULL;
            s->watches[i].fd = -1;
        }
    }
}

mg_conn *mg_server_add_conn(mg_server *s, int fd, const mg_conn_io *io, void *io_arg, const char *peer)
{
    if (s->nconns == s->capconns) {
        size_t ncap = s->capconns ? s->capconns * 2 : 64;
        mg_conn **nc = realloc(s->conns, ncap * sizeof *nc);
        if (!nc)
            return NULL;
        s->conns = nc;
        s->capconns = ncap;
    }
    mg_conn *c = mg_conn_new(s, fd, io, peer);
    if (!c)
        return NULL;
    c->io_arg = io_arg;
    c->slot = s->nconns;
    s->conns[s->nconns++] = c;
    if (fd >= 0 && s->epfd >= 0) {
        /* Connections are freed only in reap(), after a batch of events,
         * so a pointer in the event data never dangles. Edge-triggered:
         * a connection that stops before EAGAIN (its budget) is put on the
         * ready list, since no new event would come for what is left. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            mg_conn_fail(c, "epoll_ctl failed");
            return c;
        }
    }
    MG_DEBUG(&s->cfg.log, "conn %llu: accepted from %s", (unsigned long long)c->id, peer);
    mg_conn_pump(c);
    return c;
}

static void add_conn(mg_server *s, int fd, const struct sockaddr_in *sa)
{
    char peer[64], ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
    snprintf(peer, sizeof peer, "%s:%d", ip, ntohs(sa->sin_port));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!mg_server_add_conn(s, fd, NULL, NULL, peer)) {
        MG_ERR(&s->cfg.log, "out of memory for a connection from %s", peer);
        close(fd);
    }
}

/* Accepts up to MG_TURN_ACCEPTS connections; the listening socket stays
 * readable (level-triggered) while more wait, so the next turn takes them:
 * a flood of connects cannot hold the loop. */
static void accept_some(mg_server *s)
{
    for (unsigned n = 0; n < MG_TURN_ACCEPTS; n++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The listening socket stays readable: stop watching it for
                 * a moment instead of spinning until a descriptor frees up. */
                MG_WARN(&s->cfg.log, "accept: %s (%zu connections open); pausing accepts for 100 ms",
                        strerror(errno), s->nconns);
                struct epoll_event ev = {.events = 0, .data.u64 = TAG_LISTEN};
                epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
                s->accept_paused_until = mg_now_ms() + 100;
                mg_server_wake_at(s, s->accept_paused_until);
            }
            return; /* EAGAIN: the backlog is empty */
        }
        add_conn(s, fd, &sa);
    }
}

static void reap(mg_server *s)
{
    for (size_t i = 0; i < s->nready;) {
        if (s->ready[i]->dead)
            s->ready[i] = s->ready[--s->nready];
        else
            i++;
    }
    for (size_t i = 0; i < s->nconns;) {
        mg_conn *c = s->conns[i];
        if (!c->dead) {
            i++;
            continue;
        }
        s->conns[i] = s->conns[--s->nconns];
        s->conns[i]->slot = i;
        mg_conn_destroy(c, "closed");
    }
}

/* Pumps up to MG_TURN_READY connections from the head of the ready list;
 * those that run out of budget again go back at its tail. */
static void run_ready(mg_server *s)
{
    size_t n = s->nready < MG_TURN_READY ? s->nready : MG_TURN_READY;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        mg_conn *c = s->ready[i];
        c->scheduled = 0;
        mg_conn_pump(c);
    }
    memmove(s->ready, s->ready + n, (s->nready - n) * sizeof *s->ready);
    s->nready -= n;
}

/* Deadlines are checked for every connection, but at most MG_TURN_SWEEPS
 * are acted on in one turn: 2,000 idle clients whose upgrade timeout ends
 * together would otherwise be answered and closed in one turn, while the
 * live connections wait for it (tens of ms under ASan). The sweep goes on
 * from where it stopped in the next turn, which comes at once. */
static void sweep(mg_server *s, uint64_t now)
{
    size_t n = s->nconns, acted = 0, k = 0;
    s->last_sweep = now;
    if (s->sweep_from >= n)
        s->sweep_from = 0;
    for (; k < n && acted < MG_TURN_SWEEPS; k++)
        acted += (size_t)mg_conn_sweep(s->conns[(s->sweep_from + k) % n], now);
    if (k < n) {
        s->sweep_from = (s->sweep_from + k) % n;
        mg_server_wake_at(s, now);
    } else {
        s->sweep_from = 0;
    }
}

void mg_server_step(mg_server *s, int max_wait_ms)
{
    uint64_t now = mg_now_ms();
    int timeout = s->nready ? 0 : max_wait_ms;
    if (s->wake_at) {
        long d = s->wake_at > now ? (long)(s->wake_at - now) : 0;
        if (d < timeout)
            timeout = (int)d;
    }
    s->turn++;
    struct epoll_event evs[MG_TURN_EVENTS];
    int n = s->epfd >= 0 ? epoll_wait(s->epfd, evs, MG_TURN_EVENTS, timeout) : 0;
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == TAG_LISTEN) {
            accept_some(s);
        } else if (tag == TAG_SIGNAL) {
            struct signalfd_siginfo si;
            while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                MG_INFO(&s->cfg.log, "signal %u: shutting down", si.ssi_signo);
                s->stop = 1;
            }
        } else if (tag >= TAG_WATCH && tag < TAG_CONN_MIN) {
            struct mg_watch *w = &s->watches[tag - TAG_WATCH];
            if (w->cb)
                w->cb(w->arg, w->fd);
        } else {
            mg_conn_on_event(evs[i].data.ptr, evs[i].events);
        }
    }
    now = mg_now_ms();
    if (s->accept_paused_until && now >= s->accept_paused_until) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
        s->accept_paused_until = 0;
    }
    int woke = s->wake_at && now >= s->wake_at;
    if (woke)
        s->wake_at = 0;
    /* Deadlines are coarse (tens of ms) except write pauses, which ask for
     * a wake-up; sweeping on every batch would cost O(connections). */
    if (woke || now >= s->last_sweep + 50)
        sweep(s, now);
    if (s->ops && s->ops->on_tick)
        s->ops->on_tick(s->app, now);
    run_ready(s);
    reap(s);
}

int mg_server_run(mg_server *s)
{
    while (!s->stop)
        mg_server_step(s, 100);
    return 0;
}

void mg_server_close_all(mg_server *s)
{
    for (size_t i = 0; i < s->nconns; i++)
        mg_conn_abort(s->conns[i], "closing all connections");
    reap(s);
}

void mg_server_free(mg_server *s)
{
    mg_server_close_all(s);
    free(s->conns);
    s->conns = NULL;
    free(s->ready);
    s->ready = NULL;
    s->nready = s->capready = 0;
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->sigfd >= 0)
        close(s->sigfd);
    if (s->epfd >= 0)
        close(s->epfd);
    s->lfd = s->sigfd = s->epfd = -1;
}
