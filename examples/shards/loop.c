/*
 * loop.c - dgw-shards' event loop: one epoll set for every shard's socket
 * and a signalfd, one heap for every deadline (libdgw's per shard, the
 * backoff waits, the buckets' next IDENTIFY), and the stop sequence.
 *
 * One round:
 *   1. flush stdout/stderr, sleep in epoll_wait() until a socket is ready,
 *      a signal arrives or the earliest deadline of the heap;
 *   2. for each ready socket, the shard moves its bytes (shard_on_io);
 *   3. pop every due deadline: a shard's libdgw timers or its next
 *      attempt, a bucket's next IDENTIFY (run_bucket).
 * Nothing blocks except epoll_wait() and, once a minute per host at most,
 * getaddrinfo() (resolve.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "app.h"
#include "out.h"
#include "stats.h"

#define SIGNAL_TAG UINT64_MAX /* epoll data of the signalfd */
#define MAX_EVENTS 512

shard *app_shard(app *a, uint32_t index)
{
    return &a->shards[index];
}

void app_stop(app *a, int exit_status, uint64_t now)
{
    (void)now;
    if (a->exit_status < 0)
        a->exit_status = exit_status;
    /* The loop closes the shards at the top of its next round, not here:
     * this is called from inside one shard's event handling. */
    a->stopping = true;
}

void app_bucket_changed(app *a, bucket *b, uint64_t now)
{
    if (b->permit_q.len == 0 || a->stopping)
        return;
    heap_set(&a->timers, &b->timer, b->next_ms > now ? b->next_ms : now);
}

/* A bucket's turn: the head of its queue IDENTIFYs, and the bucket waits
 * one window. Entries whose connection closed meanwhile are dropped
 * without spending the turn. */
static void run_bucket(app *a, bucket *b, uint64_t now)
{
    budget *bg = &a->pacer.budget;
    uint32_t i;
    while (!a->stopping && now >= b->next_ms && fifo_pop(&b->permit_q, &i)) {
        shard *s = app_shard(a, i);
        s->in_permit_q = false;
        if (!s->wants_identify) {
            logmsg(LOG_INFO, "shard %" PRIu32 ": left the IDENTIFY queue: its "
                   "connection closed while it waited", s->id);
            continue;
        }
        if (budget_exhausted(bg)) {
            char reset[64] = "unknown (no GET /gateway/bot)";
            if (bg->reset_at_ms != 0) {
                uint64_t left = bg->reset_at_ms > now ? bg->reset_at_ms - now : 0;
                snprintf(reset, sizeof reset, "%" PRIu64 " ms (%" PRIu64 " h %02" PRIu64
                         " min)", left, left / 3600000, left / 60000 % 60);
            }
            logmsg(LOG_ERROR, "session-start budget exhausted: %" PRIu32 " of %" PRIu32
                   " left, reset_after %s: not spending one on shard %" PRIu32 "'s "
                   "IDENTIFY; stopping (sessions are saved; start again after the "
                   "reset)", bg->remaining, bg->total, reset, s->id);
            app_stop(a, EXIT_BUDGET, now);
            break;
        }
        if (!shard_permit(a, s, now))
            continue;
        if (bg->known)
            bg->remaining--;
        b->next_ms = now + a->pacer.window_ms;
        char left[32] = "unknown";
        if (bg->known)
            snprintf(left, sizeof left, "%" PRIu32, bg->remaining);
        logmsg(LOG_INFO, "shard %" PRIu32 ": IDENTIFY at %" PRIu64 " ms (bucket %td, "
               "waited %" PRIu64 " ms, session starts left: %s)", s->id,
               out_elapsed(now), b - a->pacer.b, now - s->wanted_at, left);
        shard_settle(a, s, now); /* writes it */
    }
    heap_set(&a->timers, &b->timer,
             b->permit_q.len && !a->stopping ? b->next_ms : HEAP_NONE);
}

static void run_timers(app *a, uint64_t now)
{
    heap_node *x;
    while ((x = heap_top(&a->timers)) != NULL && x->due <= now) {
        if (x->kind == TIMER_SHARD)
            shard_on_timer(a, app_shard(a, x->id), now);
        else
            run_bucket(a, &a->pacer.b[x->id], now);
        /* Still due: the work waits on something else (a send slot...).
         * Look again in a millisecond rather than spin. */
        if (x->due <= now)
            heap_set(&a->timers, x, now + 1);
    }
}

static void begin_stop(app *a, uint64_t now)
{
    a->stop_by = now + STOP_GRACE_MS;
    for (uint32_t k = 0; k < a->pacer.count; k++)
        heap_set(&a->timers, &a->pacer.b[k].timer, HEAP_NONE);
    for (uint32_t i = 0; i < a->n; i++)
        shard_stop(a, app_shard(a, i), now);
}

static void on_signals(app *a, int sigfd, uint64_t now)
{
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1) {
            stats_print(a, true, now);
        } else if (!a->stopping) {
            logmsg(LOG_INFO, "%s: closing every shard resumably (%d)",
                   strsignal((int)si.ssi_signo), DGW_CLOSE_RESUMABLE);
            app_stop(a, EXIT_OK, now);
        } else {
            logmsg(LOG_WARN, "%s again: not waiting for the close handshakes",
                   strsignal((int)si.ssi_signo));
            a->stop_by = now;
        }
    }
}

static int wait_ms(const app *a, uint64_t now)
{
    const heap_node *top = heap_top(&a->timers);
    uint64_t due = top ? top->due : HEAP_NONE;
    if (a->stop_by != 0 && a->stop_by < due)
        due = a->stop_by;
    if (due == HEAP_NONE)
        return -1;
    return due <= now ? 0 : due - now > INT_MAX ? INT_MAX : (int)(due - now);
}

int loop_run(app *a)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SIGNAL_TAG};
    if (sigfd < 0 || epoll_ctl(a->epfd, EPOLL_CTL_ADD, sigfd, &sev) != 0) {
        logmsg(LOG_ERROR, "signalfd: %s", strerror(errno));
        if (sigfd >= 0)
            close(sigfd);
        return EXIT_ERROR;
    }

    uint64_t now = now_ms();
    a->loop_started = now;
    for (uint32_t i = 0; i < a->n; i++)
        shard_go(a, app_shard(a, i), now);

    struct epoll_event ev[MAX_EVENTS];
    while (a->stopped < a->n) {
        now = now_ms();
        if (a->stopping && a->stop_by == 0)
            begin_stop(a, now);
        if (a->stop_by != 0 && now >= a->stop_by) {
            for (uint32_t i = 0; i < a->n; i++)
                shard_abandon(a, app_shard(a, i), now);
            break;
        }
        if (a->stopped == a->n)
            break;
        out_flush();
        int k = epoll_wait(a->epfd, ev, MAX_EVENTS, wait_ms(a, now));
        if (k < 0 && errno != EINTR) {
            logmsg(LOG_ERROR, "epoll_wait: %s", strerror(errno));
            app_stop(a, EXIT_ERROR, now);
            continue;
        }
        now = now_ms();
        for (int j = 0; j < k; j++) {
            if (ev[j].data.u64 == SIGNAL_TAG)
                on_signals(a, sigfd, now);
            else
                shard_on_io(a, app_shard(a, (uint32_t)ev[j].data.u64), ev[j].events,
                            now);
        }
        run_timers(a, now_ms());
    }
    close(sigfd);
    int status = a->exit_status >= 0 ? a->exit_status : EXIT_OK;
    /* A shard that stopped on a fatal code is worth the exit status even
     * when the others were stopped cleanly. */
    return status == EXIT_OK && a->fatal_seen ? EXIT_FATAL_CLOSE : status;
}
