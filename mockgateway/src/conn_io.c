/* The output queue with its caps, the socket transport, and the byte
 * movers: plain TCP, or TLS through a BearSSL engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

/* ---- the socket transport ---------------------------------------------- */

static long io_result(ssize_t n)
{
    if (n >= 0)
        return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MG_IO_AGAIN : MG_IO_ERROR;
}

static long sock_recv(mg_conn *c, void *buf, size_t len) { return io_result(recv(c->fd, buf, len, 0)); }

static long sock_send(mg_conn *c, const void *buf, size_t len)
{
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    return n == 0 ? MG_IO_AGAIN : io_result(n);
}

static void sock_shutdown_write(mg_conn *c) { shutdown(c->fd, SHUT_WR); }
static void sock_close(mg_conn *c) { close(c->fd); }

const mg_conn_io mg_socket_io = {sock_recv, sock_send, sock_shutdown_write, sock_close};

/* ---- output queue ------------------------------------------------------ */

static int seg_push(mg_conn *c, size_t len, uint32_t pause_ms)
{
    if (len == 0)
        return 0;
    if (c->nsegs > 0 && c->segs[c->nsegs - 1].pause_ms == 0) {
        c->segs[c->nsegs - 1].len += len;
        c->segs[c->nsegs - 1].pause_ms = pause_ms;
        return 0;
    }
    if (c->nsegs == c->capsegs) {
        size_t ncap = c->capsegs ? c->capsegs * 2 : 4;
        struct mg_seg *ns = realloc(c->segs, ncap * sizeof *ns);
        if (!ns)
            return -1;
        c->segs = ns;
        c->capsegs = ncap;
    }
    c->segs[c->nsegs].len = len;
    c->segs[c->nsegs].pause_ms = pause_ms;
    c->nsegs++;
    return 0;
}

/* Cuts connections, largest backlog first, until the total is under the
 * cap: many clients that each stay under their own cap must not add up to
 * more memory than the server was given. */
static void enforce_total_cap(mg_server *s)
{
    size_t cap = s->cfg.max_total_output ? s->cfg.max_total_output : MG_MAX_TOTAL_OUTPUT;
    while (s->out_total > cap) {
        mg_conn *big = NULL;
        for (size_t i = 0; i < s->nconns; i++) {
            mg_conn *o = s->conns[i];
            if (!o->dead && (!big || mg_buf_avail(&o->out) > mg_buf_avail(&big->out)))
                big = o;
        }
        if (!big || mg_buf_avail(&big->out) == 0)
            return;
        MG_WARN(&s->cfg.log, "conn %llu (%s): output for all clients over %zu MiB: cutting the largest backlog (%zu bytes)",
                (unsigned long long)big->id, big->peer, cap >> 20, mg_buf_avail(&big->out));
        mg_conn_fail(big, "output queued for all clients over the server's cap; this connection had the largest backlog");
    }
}

uint8_t *mg_conn_out_reserve(mg_conn *c, size_t n)
{
    if (c->dead)
        return NULL;
    if (mg_buf_avail(&c->out) + n > MG_MAX_PENDING_OUTPUT) {
        /* What the app queues on its own (a scenario's stream) stops here. */
        mg_conn_fail(c, "output backlog over 32 MiB (the client is not reading fast enough)");
        return NULL;
    }
    if (mg_buf_reserve(&c->out, n) != 0) {
        mg_conn_fail(c, "out of memory");
        return NULL;
    }
    return c->out.data + c->out.len;
}

int mg_conn_out_commit(mg_conn *c, size_t n, uint32_t pause_ms)
{
    if (mg_buf_avail(&c->out) == 0)
        c->output_progress_ms = mg_now_ms(); /* the stall clock starts now */
    c->out.len += n;
    c->srv->out_total += n; /* before a failure: releasing the queue subtracts it */
    if (seg_push(c, n, pause_ms) != 0) {
        mg_conn_fail(c, "out of memory");
        return -1;
    }
    enforce_total_cap(c->srv);
    return c->dead ? -1 : 0;
}

int mg_conn_out_append(mg_conn *c, const void *p, size_t n, uint32_t pause_ms)
{
    uint8_t *dst = mg_conn_out_reserve(c, n);
    if (!dst)
        return -1;
    if (n > 0)
        memcpy(dst, p, n);
    return mg_conn_out_commit(c, n, pause_ms);
}

void mg_conn_out_release(mg_conn *c)
{
    c->srv->out_total -= mg_buf_avail(&c->out);
    mg_buf_free(&c->out);
    c->nsegs = 0;
}

/* Marks n bytes of the head segment written; starts its pause if done. */
static void out_consumed(mg_conn *c, size_t n)
{
    mg_buf_consume(&c->out, n);
    c->srv->out_total -= n;
    c->output_progress_ms = mg_now_ms();
    while (n > 0 && c->nsegs > 0) {
        size_t k = n < c->segs[0].len ? n : c->segs[0].len;
        c->segs[0].len -= k;
        n -= k;
        if (c->segs[0].len == 0) {
            uint32_t pause = c->segs[0].pause_ms;
            memmove(c->segs, c->segs + 1, (c->nsegs - 1) * sizeof *c->segs);
            c->nsegs--;
            if (pause > 0 && c->nsegs > 0) {
                c->write_resume_ms = mg_now_ms() + pause;
                mg_server_wake_at(c->srv, c->write_resume_ms);
            }
        }
    }
}

/* Bytes that may be written now (up to the end of the head segment). */
static size_t out_writable(const mg_conn *c)
{
    if (c->write_resume_ms != 0 || c->nsegs == 0)
        return 0;
    return c->segs[0].len;
}

int mg_conn_out_drained(mg_conn *c)
{
    if (mg_buf_avail(&c->out) > 0)
        return 0;
    if (c->tls) {
        unsigned st = br_ssl_engine_current_state(&c->tls->sc.eng);
        if (st & BR_SSL_SENDREC)
            return 0;
    }
    return 1;
}

/* ---- byte movers ------------------------------------------------------- */

/* Reads once from the transport into buf (at most this turn's budget).
 * Returns bytes read; 0 when nothing came (EOF and errors end c). */
static size_t read_some(mg_conn *c, uint8_t *buf, size_t len)
{
    size_t left = MG_TURN_READ_BYTES - c->turn_read;
    long n = c->io->recv(c, buf, len < left ? len : left);
    if (n > 0) {
        c->turn_read += (size_t)n;
        return (size_t)n;
    }
    if (n == MG_IO_EOF)
        mg_conn_on_eof(c);
    else if (n == MG_IO_ERROR)
        mg_conn_abort(c, "read error");
    else
        c->readable = 0; /* edge-triggered: the next event says when */
    return 0;
}

static int plain_step(mg_conn *c)
{
    int progress = 0;
    size_t w = out_writable(c);
    if (w > 0) {
        long n = c->io->send(c, mg_buf_head(&c->out), w);
        if (n > 0) {
            out_consumed(c, (size_t)n);
            progress = 1;
        } else if (n == MG_IO_ERROR) {
            mg_conn_abort(c, "write error");
            return 0;
        }
    }
    if (!c->dead && mg_conn_may_read(c)) {
        uint8_t tmp[16384];
        size_t n = read_some(c, tmp, sizeof tmp);
        if (n > 0) {
            mg_conn_input(c, tmp, n);
            progress = 1;
        }
    }
    return progress && !c->dead;
}

static int tls_step(mg_conn *c)
{
    br_ssl_engine_context *eng = &c->tls->sc.eng;
    unsigned st = br_ssl_engine_current_state(eng);
    if (st & BR_SSL_CLOSED) {
        int err = br_ssl_engine_last_error(eng);
        char why[64];
        snprintf(why, sizeof why, err ? "TLS error %d" : "TLS closed", err);
        if (err)
            MG_WARN(&c->srv->cfg.log, "conn %llu (%s): %s", (unsigned long long)c->id, c->peer, why);
        mg_conn_abort(c, why);
        return 0;
    }
    int progress = 0;
    size_t len;
    if (st & BR_SSL_SENDREC) {
        unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
        long n = c->io->send(c, buf, len);
        if (n > 0) {
            br_ssl_engine_sendrec_ack(eng, (size_t)n);
            c->output_progress_ms = mg_now_ms();
            progress = 1;
        } else if (n == MG_IO_ERROR) {
            mg_conn_abort(c, "write error");
            return 0;
        }
    }
    if ((st & BR_SSL_RECVAPP) && mg_conn_input_wanted(c)) {
        unsigned char *buf = br_ssl_engine_recvapp_buf(eng, &len);
        /* Copy first: the app may queue output that changes engine state. */
        uint8_t tmp[16384];
        size_t n = len < sizeof tmp ? len : sizeof tmp;
        memcpy(tmp, buf, n);
        br_ssl_engine_recvapp_ack(eng, n);
        mg_conn_input(c, tmp, n);
        return !c->dead;
    }
    if (st & BR_SSL_SENDAPP) {
        size_t w = out_writable(c);
        if (w > 0) {
            unsigned char *buf = br_ssl_engine_sendapp_buf(eng, &len);
            size_t n = w < len ? w : len;
            memcpy(buf, mg_buf_head(&c->out), n);
            br_ssl_engine_sendapp_ack(eng, n);
            int seg_end = n == w;
            out_consumed(c, n);
            /* A record per write segment, so that scenario write splits
             * become separate TLS records. */
            if (seg_end || out_writable(c) == 0)
                br_ssl_engine_flush(eng, 0);
            progress = 1;
        }
    }
    /* Records are read only when their plaintext would be taken: BearSSL
     * holds one record, so a client we do not read waits in its socket. */
    if ((st & BR_SSL_RECVREC) && mg_conn_may_read(c)) {
        unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
        size_t n = read_some(c, buf, len);
        if (n > 0) {
            br_ssl_engine_recvrec_ack(eng, n);
            progress = 1;
        }
    }
    return progress && !c->dead;
}

int mg_conn_io_step(mg_conn *c) { return c->tls ? tls_step(c) : plain_step(c); }
