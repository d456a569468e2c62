#define _GNU_SOURCE /* SOCK_CLOEXEC */
#include "run_pool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the wire between a worker and the parent ------------------------------
 * parent -> worker: a u32 scenario index, or QUIT.
 * worker -> parent: a head, then the strings it counts (NONE: a NULL). */

#define QUIT UINT32_MAX
#define NONE UINT32_MAX
#define MAX_STRING (64u << 20) /* a transcript stops growing at 8 MiB */

enum { S_NAME, S_PATH, S_RULE, S_FAILURE, S_SKIPPED, S_TRANSCRIPT, NSTRINGS };

typedef struct wire_head {
    uint32_t index;
    uint32_t flags; /* 1 loaded, 2 passed */
    uint64_t micros;
    uint32_t len[NSTRINGS];
} wire_head;

static int send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 0 when all n bytes came, -1 on EOF or error. */
static int recv_all(int fd, void *p, size_t n)
{
    char *s = p;
    while (n > 0) {
        ssize_t r = read(fd, s, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        s += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_result(int fd, uint32_t index, const mg_run_result *r)
{
    char *const s[NSTRINGS] = {r->name, r->path, r->rule, r->failure, r->skipped, r->transcript};
    wire_head h = {.index = index,
                   .flags = (r->loaded ? 1u : 0u) | (r->passed ? 2u : 0u),
                   .micros = (uint64_t)(r->seconds * 1e6 + 0.5)};
    for (int i = 0; i < NSTRINGS; i++) {
        size_t l = s[i] ? strlen(s[i]) : 0;
        h.len[i] = !s[i] ? NONE : l < MAX_STRING ? (uint32_t)l : MAX_STRING;
    }
    if (send_all(fd, &h, sizeof h) != 0)
        return -1;
    for (int i = 0; i < NSTRINGS; i++)
        if (h.len[i] != NONE && send_all(fd, s[i], h.len[i]) != 0)
            return -1;
    return 0;
}

/* Reads one result; -1 when the worker went away (or sent garbage). */
static int recv_result(int fd, uint32_t *index, mg_run_result *r)
{
    wire_head h;
    memset(r, 0, sizeof *r);
    if (recv_all(fd, &h, sizeof h) != 0)
        return -1;
    char **const s[NSTRINGS] = {&r->name, &r->path, &r->rule, &r->failure, &r->skipped, &r->transcript};
    for (int i = 0; i < NSTRINGS; i++) {
        if (h.len[i] == NONE)
            continue;
        if (h.len[i] > MAX_STRING || !(*s[i] = malloc((size_t)h.len[i] + 1)) ||
            recv_all(fd, *s[i], h.len[i]) != 0) {
            mg_run_result_free(r);
            return -1;
        }
        (*s[i])[h.len[i]] = '\0';
    }
    *index = h.index;
    r->loaded = (h.flags & 1u) != 0;
    r->passed = (h.flags & 2u) != 0;
    r->seconds = (double)h.micros / 1e6;
    return 0;
}

/* ---- a worker ------------------------------------------------------------- */

static void worker_main(const mg_pool_job *job, int fd, pid_t parent)
{
    /* A parent killed outright must not leave workers behind. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        exit(1);
    char err[512];
    if (job->worker_start(job->ctx, err, sizeof err) != 0) {
        fprintf(stderr, "mockgateway run: worker %d: %s\n", (int)getpid(), err);
        exit(2);
    }
    uint32_t index;
    int stop = 0;
    while (!stop && recv_all(fd, &index, sizeof index) == 0 && index != QUIT) {
        mg_run_result res = {0};
        job->run(job->ctx, index, &res, &stop);
        int sent = send_result(fd, index, &res);
        mg_run_result_free(&res);
        if (sent != 0)
            break;
    }
    job->worker_end(job->ctx);
    close(fd);
    exit(0);
}

/* ---- the parent ------------------------------------------------------------- */

typedef struct worker {
    pid_t pid;
    int fd;      /* -1: gone */
    long busy;   /* the scenario it runs, -1: idle */
} worker;

/* A scenario whose worker died before it reported. */
static void add_lost(mg_results *col, size_t index, const char *why)
{
    mg_run_result r = {0};
    r.failure = strdup(why);
    mg_results_add(col, index, &r);
}

static void end_worker(worker *w, mg_results *col)
{
    close(w->fd);
    w->fd = -1;
    int st = 0;
    waitpid(w->pid, &st, 0);
    if (w->busy >= 0) {
        char why[160];
        if (WIFSIGNALED(st))
            snprintf(why, sizeof why, "the worker process (pid %d) was killed by signal %d before it reported",
                     (int)w->pid, WTERMSIG(st));
        else
            snprintf(why, sizeof why, "the worker process (pid %d) exited with status %d before it reported",
                     (int)w->pid, WEXITSTATUS(st));
        add_lost(col, (size_t)w->busy, why);
        w->busy = -1;
    }
}

static int dispatch(worker *w, size_t *next, size_t n, int stopping)
{
    uint32_t index = (!stopping && *next < n) ? (uint32_t)*next : QUIT;
    if (send_all(w->fd, &index, sizeof index) != 0)
        return -1;
    if (index != QUIT) {
        w->busy = (long)(*next)++;
    }
    return 0;
}

static int spawn_workers(const mg_pool_job *job, worker *ws, unsigned jobs, int sigfd)
{
    pid_t parent = getpid();
    fflush(NULL); /* a worker's exit() must not write the parent's buffers again */
    unsigned started = 0;
    for (unsigned j = 0; j < jobs; j++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            fprintf(stderr, "mockgateway run: socketpair: %s\n", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "mockgateway run: fork: %s\n", strerror(errno));
            close(sv[0]);
            close(sv[1]);
            break;
        }
        if (pid == 0) {
            /* The other workers' sockets stay with the parent alone, or a
             * worker would never see the parent close them. */
            for (unsigned k = 0; k < j; k++)
                if (ws[k].fd >= 0)
                    close(ws[k].fd);
            close(sv[0]);
            close(sigfd);
            worker_main(job, sv[1], parent);
        }
        close(sv[1]);
        ws[j] = (worker){.pid = pid, .fd = sv[0], .busy = -1};
        started++;
    }
    return (int)started;
}

int mg_pool_run(const mg_pool_job *job, size_t n, unsigned jobs, mg_results *col)
{
    if (jobs > MG_POOL_MAX_JOBS)
        jobs = MG_POOL_MAX_JOBS;
    if (jobs > n)
        jobs = (unsigned)n;
    /* The parent takes SIGINT/SIGTERM through a signalfd, as the workers'
     * servers do: a signal stops the dispatch and reaches every worker. */
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, &old);
    int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        fprintf(stderr, "mockgateway run: signalfd: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    worker ws[MG_POOL_MAX_JOBS];
    int started = spawn_workers(job, ws, jobs, sigfd);
    if (started == 0) {
        close(sigfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    size_t next = 0;
    int stopping = 0;
    for (int j = 0; j < started; j++)
        if (dispatch(&ws[j], &next, n, stopping) != 0)
            end_worker(&ws[j], col);
    for (;;) {
        struct pollfd pfd[MG_POOL_MAX_JOBS + 1];
        int who[MG_POOL_MAX_JOBS];
        nfds_t np = 0;
        int busy = 0;
        for (int j = 0; j < started; j++) {
            if (ws[j].fd < 0)
                continue;
            busy += ws[j].busy >= 0;
            who[np] = j;
            pfd[np++] = (struct pollfd){.fd = ws[j].fd, .events = POLLIN};
        }
        if (busy == 0)
            break; /* idle workers were sent QUIT: nothing is left to hand out */
        pfd[np] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        if (poll(pfd, np + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "mockgateway run: poll: %s\n", strerror(errno));
            stopping = 1;
            break;
        }
        if (pfd[np].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                stopping = 1;
            for (int j = 0; j < started; j++)
                if (ws[j].fd >= 0)
                    kill(ws[j].pid, SIGTERM);
        }
        for (nfds_t k = 0; k < np; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            worker *w = &ws[who[k]];
            uint32_t index;
            mg_run_result res;
            if (recv_result(w->fd, &index, &res) != 0 || (long)index != w->busy) {
                end_worker(w, col);
                continue;
            }
            w->busy = -1;
            mg_results_add(col, index, &res);
            if (dispatch(w, &next, n, stopping) != 0)
                end_worker(w, col);
        }
    }
    for (int j = 0; j < started; j++)
        if (ws[j].fd >= 0)
            end_worker(&ws[j], col);
    /* Workers all gone with scenarios left: say so instead of passing them over. */
    for (; !stopping && next < n; next++)
        add_lost(col, next, "not run: no worker process was left (see stderr)");
    close(sigfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return stopping ? 1 : 0;
}
