/*
 * shard.c - the life of one shard in dgw-shards' loop (README.md draws it):
 * WAITING (until its start is due), QUEUED (it will IDENTIFY and its
 * bucket has no connect slot free), CONNECTING, OPEN, and back to WAITING
 * after DGW_EV_CLOSED, or STOPPED.
 *
 * A shard is a dgw_conn (kept across attempts: it holds the session) and,
 * during an attempt, a transport. Everything libdgw decides arrives as
 * events; this file turns them into output lines, queue entries and the
 * next attempt. After every call into libdgw, shard_settle() moves the
 * bytes, handles the events and re-arms the shard's timer and epoll events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "app.h"
#include "out.h"

static uint32_t index_of(const app *a, const shard *s)
{
    return (uint32_t)(s - a->shards);
}

void shard_init(app *a, shard *s, uint32_t id, dgw_conn *conn)
{
    memset(s, 0, sizeof *s);
    s->id = id;
    s->conn = conn;
    s->phase = PHASE_WAITING;
    heap_node_init(&s->timer, TIMER_SHARD, index_of(a, s));
}

/* ---- bookkeeping --------------------------------------------------- */

static void set_mask(app *a, shard *s, uint32_t mask)
{
    if (mask == s->epoll_mask)
        return;
    struct epoll_event ev = {.events = mask, .data.u64 = index_of(a, s)};
    int op = s->epoll_mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(a->epfd, op, transport_fd(s->t), &ev) != 0) {
        /* Out of kernel memory: without readiness the shard would hang. */
        logmsg(LOG_ERROR, "shard %" PRIu32 ": epoll_ctl: %s", s->id, strerror(errno));
        app_stop(a, EXIT_ERROR, 0);
        return;
    }
    s->epoll_mask = mask;
}

/* The timer and the epoll events, from the phase and libdgw's deadline. */
static void refresh(app *a, shard *s)
{
    uint64_t due = HEAP_NONE;
    switch (s->phase) {
    case PHASE_WAITING:
        due = s->start_at;
        break;
    case PHASE_CONNECTING: {
        uint64_t t = dgw_conn_next_timeout(s->conn);
        due = t < s->connect_by ? t : s->connect_by;
        break;
    }
    case PHASE_OPEN:
        due = dgw_conn_next_timeout(s->conn);
        set_mask(a, s, EPOLLIN | (transport_wants_write(s->t) ? EPOLLOUT : 0));
        break;
    case PHASE_QUEUED:
    case PHASE_STOPPED:
        break;
    }
    heap_set(&a->timers, &s->timer, due);
}

/* Gives back the connect slot of the shard's bucket, and the slot to the
 * next shard waiting for one. */
static void release_slot(app *a, shard *s, uint64_t now)
{
    if (!s->admitted)
        return;
    s->admitted = false;
    bucket *b = pacer_bucket(&a->pacer, s->id);
    b->admitted--;
    uint32_t i;
    while (b->admitted < a->pacer.connect_ahead && fifo_pop(&b->connect_q, &i)) {
        shard *next = app_shard(a, i);
        next->in_connect_q = false;
        if (next->phase != PHASE_QUEUED)
            continue; /* stopped meanwhile */
        b->admitted++;
        next->admitted = true;
        next->phase = PHASE_WAITING;
        next->start_at = now; /* starts in this round's timer pass */
        refresh(a, next);
    }
}

static void drop_transport(shard *s)
{
    if (s->t == NULL)
        return;
    if (s->phase == PHASE_OPEN)
        transport_shutdown(s->t); /* TLS close_notify, best effort */
    /* close() takes the socket out of the epoll set. */
    transport_free(s->t);
    s->t = NULL;
    s->epoll_mask = 0;
}

static void to_stopped(app *a, shard *s, uint64_t now)
{
    if (s->phase == PHASE_STOPPED)
        return;
    drop_transport(s);
    release_slot(a, s, now);
    s->phase = PHASE_STOPPED;
    s->wants_identify = false;
    a->stopped++;
    refresh(a, s);
}

/* A call that cannot fail in a working program failed (no memory): stop
 * the shard and the process. */
static void give_up(app *a, shard *s, const char *call, dgw_err e, uint64_t now)
{
    logmsg(LOG_ERROR, "shard %" PRIu32 ": %s: %s", s->id, call, dgw_strerror(e));
    app_stop(a, EXIT_ERROR, now);
    to_stopped(a, s, now);
}

/* ---- events -------------------------------------------------------- */

static void on_fatal_close(app *a, shard *s, uint16_t code, uint64_t now)
{
    switch (code) {
    case 4004:
        logmsg(LOG_ERROR, "shard %" PRIu32 ": 4004 authentication failed: the gateway "
               "refused the token; stopping every shard", s->id);
        break;
    case 4010:
        logmsg(LOG_ERROR, "shard %" PRIu32 ": 4010 invalid shard: the gateway refused "
               "[%" PRIu32 ", %" PRIu32 "]; the shard count or --shard-range does not "
               "fit this bot; stopping every shard", s->id, s->id, a->shard_count);
        break;
    case 4011:
        logmsg(LOG_ERROR, "shard %" PRIu32 ": 4011 sharding required: the bot has too "
               "many guilds for %" PRIu32 " shards; restart with the count GET "
               "/gateway/bot recommends; stopping every shard", s->id, a->shard_count);
        break;
    default: {
        const char *name = dgw_close_code_name(code);
        logmsg(LOG_ERROR, "shard %" PRIu32 ": fatal close code %u (%s): this shard "
               "stops, the others go on", s->id, code, name ? name : "unknown");
        a->fatal_seen = true;
        return;
    }
    }
    /* Every shard would hear the same: the configuration is wrong. */
    app_stop(a, EXIT_FATAL_CLOSE, now);
}

static void on_closed(app *a, shard *s, const dgw_event *ev, uint64_t now)
{
    const char *name = dgw_close_code_name(ev->close_code);
    const char *last = dgw_conn_last_error(s->conn);
    int level = a->stopping ? LOG_DEBUG : ev->error == DGW_OK ? LOG_INFO : LOG_WARN;
    logmsg(level, "shard %" PRIu32 ": closed: code %u%s%s%s, %s, error: %s%s%s; "
           "session %s", s->id, ev->close_code, name ? " (" : "", name ? name : "",
           name ? ")" : "", ev->closed_by_server ? "by the server" : "by us",
           ev->error == DGW_OK ? "none" : dgw_strerror(ev->error),
           last[0] ? ": " : "", last,
           ev->fatal ? "over (fatal code)" : ev->resumable ? "kept" : "over");
    /* A queue entry of this attempt is now stale: dropped at its turn. */
    s->wants_identify = false;
    if (s->connected) {
        s->connected = false;
        a->connected--;
    }
    if (ev->fatal)
        on_fatal_close(a, s, ev->close_code, now);
}

static void on_connected(app *a, shard *s, const dgw_event *ev, uint64_t now)
{
    bool ready = ev->name_len == 5 && memcmp(ev->name, "READY", 5) == 0;
    logmsg(LOG_INFO, "shard %" PRIu32 ": %s (session %s, seq %" PRId64 ")", s->id,
           ready ? "READY" : "RESUMED", dgw_conn_session_id(s->conn),
           dgw_conn_last_seq(s->conn));
    if (s->connected)
        return;
    s->connected = true;
    if (++a->connected < a->n || a->all_connected_at != 0)
        return;
    a->all_connected_at = now;
    logmsg(LOG_INFO, "all %" PRIu32 " shards connected in %" PRIu64 " ms "
           "(ceil(shards / max_concurrency) x window = %" PRIu64 " ms)", a->n,
           now - a->loop_started, pacer_ideal_ms(&a->pacer));
    if (a->opt.ready_exit)
        app_stop(a, EXIT_OK, now);
}

static void on_dispatch(app *a, shard *s, const dgw_event *ev, uint64_t now)
{
    if (ev->name != NULL && (strcmp(ev->name, "READY") == 0 ||
                             strcmp(ev->name, "RESUMED") == 0))
        on_connected(a, s, ev, now);
    out_event(s->id, ev);
    a->dispatches++;
    if (a->opt.max_events && a->dispatches == a->opt.max_events) {
        logmsg(LOG_INFO, "%" PRIu64 " dispatches received: stopping", a->dispatches);
        app_stop(a, EXIT_OK, now);
    }
}

static void on_identify_wanted(app *a, shard *s, uint64_t now)
{
    bucket *b = pacer_bucket(&a->pacer, s->id);
    s->wants_identify = true;
    s->wanted_at = now;
    /* A shard still in the queue from an attempt that ended keeps its
     * place: the entry stands for the shard, not for the connection. */
    if (!s->in_permit_q) {
        s->in_permit_q = true;
        fifo_push(&b->permit_q, index_of(a, s));
    }
    logmsg(LOG_DEBUG, "shard %" PRIu32 ": wants to IDENTIFY (bucket %td, %" PRIu32
           " in its queue)", s->id, b - a->pacer.b, b->permit_q.len);
    app_bucket_changed(a, b, now);
}

/* Handles every queued event; true when there was one. */
static bool drain(app *a, shard *s, uint64_t now, bool *closed)
{
    dgw_event ev;
    bool any = false;
    while (dgw_conn_poll_event(s->conn, &ev)) {
        any = true;
        switch (ev.type) {
        case DGW_EV_UPGRADED:
            logmsg(LOG_DEBUG, "shard %" PRIu32 ": WebSocket open", s->id);
            break;
        case DGW_EV_REJECTED:
            logmsg(LOG_WARN, "shard %" PRIu32 ": upgrade rejected: HTTP %d", s->id,
                   ev.http_status);
            break;
        case DGW_EV_DISPATCH:
            on_dispatch(a, s, &ev, now);
            break;
        case DGW_EV_RECONNECT:
        case DGW_EV_INVALID_SESSION:
            logmsg(LOG_INFO, "shard %" PRIu32 ": %s", s->id,
                   ev.type == DGW_EV_RECONNECT ? "RECONNECT: will resume"
                   : ev.resumable ? "INVALID_SESSION, resumable"
                                  : "INVALID_SESSION: will IDENTIFY anew");
            out_event(s->id, &ev);
            break;
        case DGW_EV_HELLO:
        case DGW_EV_HEARTBEAT_ACK:
        case DGW_EV_PAYLOAD:
            out_event(s->id, &ev);
            break;
        case DGW_EV_CLOSED:
            on_closed(a, s, &ev, now);
            *closed = true;
            break;
        case DGW_EV_COMMANDS_DROPPED:
            logmsg(LOG_WARN, "shard %" PRIu32 ": %" PRIu32 " queued commands dropped "
                   "with their session", s->id, ev.dropped);
            break;
        case DGW_EV_IDENTIFY_WANTED:
            on_identify_wanted(a, s, now);
            break;
        case DGW_EV_NONE:
            break;
        }
    }
    return any;
}

/* ---- moving bytes -------------------------------------------------- */

/* transport <-> libdgw until nothing moves; never blocks. */
static transport_status pump(app *a, shard *s, uint64_t now, bool *closed)
{
    transport *t = s->t;
    transport_status st = TRANSPORT_OK;
    bool progress = true;
    while (progress) {
        progress = false;
        const uint8_t *in;
        size_t n;
        while (!*closed && (in = transport_recv_buf(t, &n)) != NULL) {
            long r = dgw_conn_recv(s->conn, in, n, now);
            size_t used = r < 0 ? n : (size_t)r; /* closed: the rest is moot */
            transport_recv_ack(t, used);
            bool any = drain(a, s, now, closed);
            if (used == 0 && !any)
                break;
            progress = true;
        }
        progress |= drain(a, s, now, closed);
        const uint8_t *out;
        size_t olen, room;
        uint8_t *dst;
        while ((olen = dgw_conn_peek_output(s->conn, &out)) > 0 &&
               (dst = transport_send_buf(t, &room)) != NULL && room > 0) {
            size_t m = olen < room ? olen : room;
            memcpy(dst, out, m);
            transport_send_ack(t, m);
            dgw_conn_consume_output(s->conn, m);
            progress = true;
        }
        st = transport_io(t, &progress);
        if (st != TRANSPORT_OK)
            break;
    }
    if (!s->tls_logged && transport_established(t)) {
        s->tls_logged = true;
        dgw_endpoint ep;
        dgw_conn_endpoint(s->conn, &ep);
        if (ep.tls)
            logmsg(LOG_DEBUG, "shard %" PRIu32 ": TLS established, certificate of %s "
                   "verified", s->id, ep.host);
    }
    return st;
}

static void after_close(app *a, shard *s, uint64_t now);

/* Moves what can move, handles the events, and re-arms the shard. */
void shard_settle(app *a, shard *s, uint64_t now)
{
    bool closed = false;
    if (s->phase != PHASE_OPEN) {
        drain(a, s, now, &closed);
    } else {
        transport_status st = pump(a, s, now, &closed);
        int tls_err = transport_tls_error(s->t);
        if (st == TRANSPORT_TLS_ERROR && br_error_is_x509(tls_err)) {
            dgw_endpoint ep;
            dgw_conn_endpoint(s->conn, &ep);
            logmsg(LOG_ERROR, "shard %" PRIu32 ": TLS: certificate of %s rejected: "
                   "%s (%d): %s", s->id, ep.host, br_error_name(tls_err), tls_err,
                   br_error_text(tls_err));
            app_stop(a, EXIT_TLS, now);
        } else if (st == TRANSPORT_TLS_ERROR) {
            logmsg(LOG_WARN, "shard %" PRIu32 ": TLS error: %s (%d): %s", s->id,
                   br_error_name(tls_err), tls_err, br_error_text(tls_err));
        } else if (st == TRANSPORT_ERROR) {
            logmsg(LOG_WARN, "shard %" PRIu32 ": socket error: %s", s->id,
                   strerror(transport_error(s->t)));
        }
        if (st != TRANSPORT_OK && !closed) {
            /* Every byte read went to libdgw first: a close frame that came
             * with the end still decides. */
            dgw_conn_recv_eof(s->conn, now);
            drain(a, s, now, &closed);
        }
    }
    if (closed)
        after_close(a, s, now);
    else
        refresh(a, s);
}

/* The attempt ended before its socket was up. */
static void fail_attempt(app *a, shard *s, uint64_t now, const char *why)
{
    logmsg(a->stopping ? LOG_DEBUG : LOG_WARN, "shard %" PRIu32 ": %s", s->id, why);
    s->addr_turn++; /* the next attempt tries the next address */
    dgw_conn_recv_eof(s->conn, now);
    shard_settle(a, s, now);
}

static void after_close(app *a, shard *s, uint64_t now)
{
    drop_transport(s);
    release_slot(a, s, now);
    if (a->stopping) {
        to_stopped(a, s, now);
        return;
    }
    uint32_t wait_ms = 0;
    dgw_err e = dgw_conn_reconnect(s->conn, now, &wait_ms);
    if (e == DGW_ERR_FATAL_CLOSE) {
        to_stopped(a, s, now); /* on_fatal_close() told why */
        return;
    }
    if (e != DGW_OK) {
        give_up(a, s, "dgw_conn_reconnect", e, now);
        return;
    }
    logmsg(LOG_DEBUG, "shard %" PRIu32 ": next attempt in %" PRIu32 " ms", s->id,
           wait_ms);
    s->phase = PHASE_WAITING;
    s->start_at = now + wait_ms;
    refresh(a, s);
}

/* ---- an attempt ---------------------------------------------------- */

static void begin_attempt(app *a, shard *s, uint64_t now)
{
    dgw_err e = dgw_conn_start(s->conn, now);
    if (e != DGW_OK) {
        give_up(a, s, "dgw_conn_start", e, now);
        return;
    }
    dgw_endpoint ep;
    dgw_conn_endpoint(s->conn, &ep);
    s->connected = s->tls_logged = s->wants_identify = false;
    s->phase = PHASE_CONNECTING;
    s->connect_by = now + CONNECT_TIMEOUT_MS;
    logmsg(LOG_DEBUG, "shard %" PRIu32 ": connecting to %s:%u (%s)%s", s->id, ep.host,
           (unsigned)ep.port, ep.tls ? "TLS" : "plain TCP",
           dgw_conn_can_resume(s->conn) ? " to RESUME" : "");
    char err[512];
    const struct addrinfo *ai =
        resolve(&a->dns, ep.host, ep.port, now, s->addr_turn, err, sizeof err);
    if (ai != NULL)
        s->t = transport_start_connect(ai->ai_addr, ai->ai_addrlen, ep.host, ep.tls,
                                       &a->trust, err, sizeof err);
    if (s->t == NULL) {
        fail_attempt(a, s, now, err);
        return;
    }
    set_mask(a, s, EPOLLOUT);
    refresh(a, s);
}

void shard_go(app *a, shard *s, uint64_t now)
{
    if (a->stopping) {
        to_stopped(a, s, now);
        return;
    }
    /* An attempt that will IDENTIFY opens its socket only when its bucket
     * has a connect slot; a RESUME spends no session start and goes now. */
    if (!dgw_conn_can_resume(s->conn) && !s->admitted) {
        bucket *b = pacer_bucket(&a->pacer, s->id);
        if (b->admitted >= a->pacer.connect_ahead || b->connect_q.len > 0) {
            s->phase = PHASE_QUEUED;
            if (!s->in_connect_q) {
                s->in_connect_q = true;
                fifo_push(&b->connect_q, index_of(a, s));
            }
            refresh(a, s);
            return;
        }
        b->admitted++;
        s->admitted = true;
    }
    begin_attempt(a, s, now);
}

void shard_on_io(app *a, shard *s, uint32_t events, uint64_t now)
{
    if (s->t == NULL)
        return; /* an event for a socket closed earlier in this round */
    if (s->phase == PHASE_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = transport_connect_result(s->t);
        if (err != 0) {
            dgw_endpoint ep;
            dgw_conn_endpoint(s->conn, &ep);
            char why[512];
            snprintf(why, sizeof why, "cannot connect to %s:%u: %s", ep.host,
                     (unsigned)ep.port, strerror(err));
            fail_attempt(a, s, now, why);
            return;
        }
        s->phase = PHASE_OPEN;
    }
    shard_settle(a, s, now);
}

void shard_on_timer(app *a, shard *s, uint64_t now)
{
    switch (s->phase) {
    case PHASE_WAITING:
        if (now >= s->start_at)
            shard_go(a, s, now);
        return;
    case PHASE_CONNECTING:
        if (now >= s->connect_by) {
            fail_attempt(a, s, now, "connect timed out");
            return;
        }
        break;
    case PHASE_OPEN:
        break;
    case PHASE_QUEUED:
    case PHASE_STOPPED:
        refresh(a, s);
        return;
    }
    /* Heartbeat, zombie check, handshake/READY/close timeout: libdgw
     * decides; shard_settle() writes what it queued. */
    dgw_conn_handle_timeout(s->conn, now);
    shard_settle(a, s, now);
}

bool shard_permit(app *a, shard *s, uint64_t now)
{
    if (!s->wants_identify)
        return false;
    s->wants_identify = false;
    dgw_stats before, after;
    dgw_conn_stats(s->conn, &before);
    dgw_err e = dgw_conn_identify_permit(s->conn, now);
    if (e != DGW_OK) {
        /* DGW_ERR_STATE: the connection that asked is gone; its successor
         * asks again. */
        logmsg(e == DGW_ERR_STATE ? LOG_INFO : LOG_WARN, "shard %" PRIu32 ": IDENTIFY "
               "permit refused: %s", s->id, dgw_strerror(e));
        return false;
    }
    dgw_conn_stats(s->conn, &after);
    if (after.identifies == before.identifies) {
        shard_settle(a, s, now);
        return false;
    }
    release_slot(a, s, now);
    return true;
}

void shard_stop(app *a, shard *s, uint64_t now)
{
    switch (s->phase) {
    case PHASE_WAITING:
    case PHASE_QUEUED:
        to_stopped(a, s, now);
        return;
    case PHASE_STOPPED:
        return;
    case PHASE_CONNECTING:
    case PHASE_OPEN:
        break;
    }
    if (dgw_conn_state(s->conn) == DGW_STATE_CLOSING)
        return; /* already on its way out */
    /* 4900, not 1000: Discord keeps the session for the next start. */
    if (dgw_conn_close(s->conn, DGW_CLOSE_RESUMABLE, "restarting", now) != DGW_OK)
        dgw_conn_recv_eof(s->conn, now);
    shard_settle(a, s, now);
}

void shard_abandon(app *a, shard *s, uint64_t now)
{
    if (s->phase == PHASE_CONNECTING || s->phase == PHASE_OPEN) {
        /* No close frame came back in time: the session stays saved. */
        dgw_conn_recv_eof(s->conn, now);
        shard_settle(a, s, now);
    }
    to_stopped(a, s, now);
}
