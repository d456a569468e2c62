#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rest.h"
#include "util.h"

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

static int out_append(mg_conn *c, const void *p, size_t n, uint32_t pause_ms)
{
    if (mg_buf_avail(&c->out) + n > MG_MAX_PENDING_OUTPUT) {
        /* A client that stops reading must not grow the server without bound. */
        mg_conn_fail(c, "output backlog over 32 MiB (the client is not reading fast enough)");
        return -1;
    }
    if (mg_buf_append(&c->out, p, n) != 0 || seg_push(c, n, pause_ms) != 0)
        return -1;
    return 0;
}

/* Marks n bytes of the head segment written; starts its pause if done. */
static void out_consumed(mg_conn *c, size_t n)
{
    mg_buf_consume(&c->out, n);
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

/* ---- wslay glue -------------------------------------------------------- */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    (void)flags;
    mg_conn *c = user;
    size_t avail = mg_buf_avail(&c->wsin);
    if (avail == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = avail < len ? avail : len;
    memcpy(buf, mg_buf_head(&c->wsin), n);
    mg_buf_consume(&c->wsin, n);
    return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    (void)flags;
    mg_conn *c = user;
    if (out_append(c, data, len, 0) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    memset(buf, 0, len); /* unused: servers do not mask */
    return 0;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    mg_conn *c = user;
    mg_server *s = c->srv;
    if (c->dead)
        return;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
        if (s->ops && s->ops->on_message)
            s->ops->on_message(s->app, c, arg->opcode, arg->msg, arg->msg_length);
        break;
    case WSLAY_PONG:
        if (s->ops && s->ops->on_pong)
            s->ops->on_pong(s->app, c, arg->msg, arg->msg_length);
        break;
    case WSLAY_CONNECTION_CLOSE:
        c->code_received = arg->status_code ? arg->status_code : 1005;
        if (s->ops && s->ops->on_peer_close) {
            size_t rl = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
            s->ops->on_peer_close(s->app, c, c->code_received, rl ? arg->msg + 2 : NULL, rl);
        }
        break;
    default:
        break;
    }
}

static const struct wslay_event_callbacks ws_callbacks = {
    ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL, ws_msg_cb,
};

static void ws_progress(mg_conn *c);

/* ---- lifecycle --------------------------------------------------------- */

mg_conn *mg_conn_new(mg_server *s, int fd, const char *peer)
{
    mg_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->fd = fd;
    c->id = ++s->next_id;
    c->state = MG_CONN_HTTP;
    c->created_ms = mg_now_ms();
    c->deadline_ms = c->created_ms +
                     (s->cfg.upgrade_timeout_ms ? s->cfg.upgrade_timeout_ms : MG_UPGRADE_TIMEOUT_MS);
    c->readable = 1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    if (s->cfg.tls) {
        c->tls = mg_tls_conn_new(s->cfg.tls);
        if (!c->tls) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* Ends writing after the queue drains, then waits for the peer's EOF. */
static void start_flush(mg_conn *c)
{
    if (c->state == MG_CONN_FLUSH || c->state == MG_CONN_LINGER)
        return;
    c->state = MG_CONN_FLUSH;
    c->deadline_ms = mg_now_ms() + MG_LINGER_TIMEOUT_MS;
}

void mg_conn_abort(mg_conn *c, const char *why)
{
    if (c->dead)
        return;
    MG_DEBUG(&c->srv->cfg.log, "conn %llu (%s): closing: %s", (unsigned long long)c->id, c->peer, why);
    c->dead = 1;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

void mg_conn_fail(mg_conn *c, const char *why)
{
    if (!c->dead)
        c->server_fault = why;
    mg_conn_abort(c, why);
}

void mg_conn_destroy(mg_conn *c, const char *why)
{
    mg_server *s = c->srv;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (s->ops && s->ops->on_closed) {
        mg_close_info info = {
            .code_received = c->code_received,
            .code_sent = c->ws ? wslay_event_get_status_code_sent(c->ws) : 0,
            .peer_dropped = c->code_received == 0 && !c->server_fault,
            .server_fault = c->server_fault,
            .why = why,
        };
        /* wslay reports 1006 when nothing was sent. */
        if (!c->ws || !wslay_event_get_close_sent(c->ws))
            info.code_sent = 0;
        s->ops->on_closed(s->app, c, &info);
    }
    if (c->ws)
        wslay_event_context_free(c->ws);
    mg_compressor_free(c->comp);
    mg_tls_conn_free(c->tls);
    mg_buf_free(&c->in);
    mg_buf_free(&c->wsin);
    mg_buf_free(&c->out);
    free(c->segs);
    free(c);
}

int mg_conn_is_open(const mg_conn *c)
{
    return !c->dead && c->state == MG_CONN_WS && c->ws && !wslay_event_get_close_sent(c->ws);
}

/* ---- HTTP phase -------------------------------------------------------- */

static const char *status_text(int st)
{
    switch (st) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static void respond_n(mg_conn *c, int status, const char *ctype, const char *headers, const char *body,
                      size_t bl)
{
    mg_buf r = {0};
    mg_buf_printf(&r,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n%s\r\n",
                  status, status_text(status), ctype, bl, headers ? headers : "");
    mg_buf_append(&r, body, bl);
    out_append(c, r.data, r.len, 0);
    mg_buf_free(&r);
    start_flush(c);
}

static void respond(mg_conn *c, int status, const char *ctype, const char *headers, const char *body)
{
    respond_n(c, status, ctype, headers, body, body ? strlen(body) : 0);
}

void mg_conn_reject(mg_conn *c, int status, const char *headers, const char *body)
{
    if (c->dead || (c->state != MG_CONN_HELD && c->state != MG_CONN_HTTP))
        return;
    respond(c, status, "text/plain; charset=utf-8", headers, body ? body : "");
    mg_conn_pump(c);
}

int mg_conn_accept(mg_conn *c)
{
    if (c->dead || c->state != MG_CONN_HELD)
        return -1;
    if (wslay_event_context_server_init(&c->ws, &ws_callbacks, c) != 0) {
        mg_conn_fail(c, "out of memory");
        return -1;
    }
    wslay_event_config_set_max_recv_msg_length(c->ws, MG_MAX_MESSAGE);
    if (c->up.compress != MG_COMPRESS_NONE) {
        c->comp = mg_compressor_new(c->up.compress);
        if (!c->comp) {
            mg_conn_reject(c, 500, NULL, "cannot allocate the compressor\n");
            return -1;
        }
    }
    mg_buf r = {0};
    mg_buf_printf(&r,
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n",
                  c->up.accept);
    out_append(c, r.data, r.len, 0);
    mg_buf_free(&r);
    c->state = MG_CONN_WS;
    c->deadline_ms = 0;
    mg_server *s = c->srv;
    if (s->ops && s->ops->on_open)
        s->ops->on_open(s->app, c);
    ws_progress(c); /* bytes a client sent before our 101 */
    mg_conn_pump(c);
    return 0;
}

static void serve_rest(mg_conn *c, const mg_http_request *req)
{
    mg_rest_ctx ctx = {.ws_url = c->srv->ws_url};
    mg_rest_response r;
    if (mg_rest_handle(req, &ctx, &r) != 0) {
        mg_rest_response_free(&r);
        mg_conn_fail(c, "out of memory");
        return;
    }
    MG_INFO(&c->srv->cfg.log, "conn %llu (%s): REST %.*s %.*s: %d", (unsigned long long)c->id, c->peer,
            (int)req->method.n, req->method.p, (int)req->path.n, req->path.p, r.status);
    respond_n(c, r.status, r.content_type, r.headers, (const char *)mg_buf_head(&r.body), mg_buf_avail(&r.body));
    mg_rest_response_free(&r);
}

static void handle_request(mg_conn *c)
{
    mg_http_request req;
    mg_server *s = c->srv;
    mg_http_status st = mg_http_parse_request((const char *)mg_buf_head(&c->in), mg_buf_avail(&c->in), &req);
    if (st == MG_HTTP_INCOMPLETE)
        return;
    if (st == MG_HTTP_BAD) {
        MG_WARN(&s->cfg.log, "conn %llu (%s): malformed HTTP request", (unsigned long long)c->id, c->peer);
        respond(c, 400, "text/plain; charset=utf-8", NULL, "malformed HTTP request\n");
        return;
    }
    if (st == MG_HTTP_TOO_LARGE) {
        MG_WARN(&s->cfg.log, "conn %llu (%s): request head too large", (unsigned long long)c->id, c->peer);
        respond(c, 431, "text/plain; charset=utf-8", NULL, "request head over 8 KiB or too many headers\n");
        return;
    }
    if (!mg_http_is_upgrade(&req)) {
        serve_rest(c, &req);
        return;
    }
    char reason[160];
    int rc = mg_http_check_upgrade(&req, mg_compress_zstd_available(), &c->up, reason, sizeof reason);
    if (rc != 0) {
        MG_WARN(&s->cfg.log, "conn %llu (%s): bad upgrade: %s", (unsigned long long)c->id, c->peer, reason);
        char body[200];
        snprintf(body, sizeof body, "%s\n", reason);
        respond(c, rc, "text/plain; charset=utf-8", rc == 426 ? "Sec-WebSocket-Version: 13\r\n" : NULL, body);
        return;
    }
    size_t ql = req.query.n < sizeof c->query - 1 ? req.query.n : sizeof c->query - 1;
    memcpy(c->query, req.query.p, ql);
    c->query[ql] = '\0';
    /* Bytes after the head (a client that did not wait for 101) go to wslay. */
    size_t rest = mg_buf_avail(&c->in) - req.header_bytes;
    if (rest > 0)
        mg_buf_append(&c->wsin, mg_buf_head(&c->in) + req.header_bytes, rest);
    c->state = MG_CONN_HELD;
    int hold = s->ops && s->ops->on_upgrade ? s->ops->on_upgrade(s->app, c, &req, &c->up) : 0;
    mg_buf_free(&c->in); /* req's slices die here */
    if (!c->dead && hold == 0 && c->state == MG_CONN_HELD)
        mg_conn_accept(c);
}

/* ---- WebSocket phase ---------------------------------------------------- */

static void ws_progress(mg_conn *c)
{
    if (!c->ws || c->dead)
        return;
    if (mg_buf_avail(&c->wsin) > 0 && wslay_event_want_read(c->ws)) {
        int rc = wslay_event_recv(c->ws);
        if (rc != 0 && !c->dead) {
            mg_conn_abort(c, "WebSocket receive failed");
            return;
        }
    }
    if (c->dead)
        return;
    if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
        mg_conn_abort(c, "WebSocket send failed");
        return;
    }
    if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws) &&
        (c->state == MG_CONN_WS || c->state == MG_CONN_CLOSING))
        start_flush(c); /* close handshake done (or a protocol error) */
    else if (!wslay_event_want_read(c->ws))
        mg_buf_reset(&c->wsin);
}

static void app_input(mg_conn *c, const uint8_t *data, size_t n)
{
    switch (c->state) {
    case MG_CONN_HTTP:
        if (mg_buf_append(&c->in, data, n) != 0) {
            mg_conn_fail(c, "out of memory");
            return;
        }
        handle_request(c);
        break;
    case MG_CONN_HELD:
        if (mg_buf_avail(&c->wsin) + n > MG_MAX_PENDING_INPUT) {
            mg_conn_abort(c, "too much input before the upgrade was answered");
            return;
        }
        mg_buf_append(&c->wsin, data, n);
        break;
    case MG_CONN_WS:
    case MG_CONN_CLOSING:
        if (mg_buf_avail(&c->wsin) + n > MG_MAX_PENDING_INPUT) {
            mg_conn_abort(c, "input backlog over cap");
            return;
        }
        mg_buf_append(&c->wsin, data, n);
        ws_progress(c);
        break;
    case MG_CONN_FLUSH:
    case MG_CONN_LINGER:
        break; /* drained and dropped */
    }
}

static void on_eof(mg_conn *c)
{
    c->peer_eof = 1;
    c->readable = 0;
    if (c->state == MG_CONN_LINGER || c->state == MG_CONN_FLUSH)
        mg_conn_abort(c, c->state == MG_CONN_LINGER ? "closed" : "peer closed while flushing");
    else
        mg_conn_abort(c, "peer closed the connection");
}

/* ---- byte movers ------------------------------------------------------- */

static int io_error(int e) { return e != EAGAIN && e != EWOULDBLOCK && e != EINTR; }

static int plain_step(mg_conn *c)
{
    int progress = 0;
    size_t w = out_writable(c);
    if (w > 0) {
        ssize_t n = send(c->fd, mg_buf_head(&c->out), w, MSG_NOSIGNAL);
        if (n > 0) {
            out_consumed(c, (size_t)n);
            progress = 1;
        } else if (n < 0 && io_error(errno)) {
            mg_conn_abort(c, "write error");
            return 0;
        }
    }
    if (c->readable && !c->dead) {
        uint8_t tmp[16384];
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            app_input(c, tmp, (size_t)n);
            progress = 1;
        } else if (n == 0) {
            on_eof(c);
        } else if (io_error(errno)) {
            mg_conn_abort(c, "read error");
        } else {
            c->readable = 0;
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
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            br_ssl_engine_sendrec_ack(eng, (size_t)n);
            progress = 1;
        } else if (n < 0 && io_error(errno)) {
            mg_conn_abort(c, "write error");
            return 0;
        }
    }
    if (st & BR_SSL_RECVAPP) {
        unsigned char *buf = br_ssl_engine_recvapp_buf(eng, &len);
        /* Copy first: the app may queue output that changes engine state. */
        uint8_t tmp[16384];
        size_t n = len < sizeof tmp ? len : sizeof tmp;
        memcpy(tmp, buf, n);
        br_ssl_engine_recvapp_ack(eng, n);
        app_input(c, tmp, n);
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
            c->tls_flushed = 0;
            progress = 1;
        }
    }
    if ((st & BR_SSL_RECVREC) && c->readable) {
        unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) {
            br_ssl_engine_recvrec_ack(eng, (size_t)n);
            progress = 1;
        } else if (n == 0) {
            on_eof(c);
            return 0;
        } else if (io_error(errno)) {
            mg_conn_abort(c, "read error");
            return 0;
        } else {
            c->readable = 0;
        }
    }
    return progress && !c->dead;
}

static int output_drained(mg_conn *c)
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

void mg_conn_pump(mg_conn *c)
{
    if (c->dead)
        return;
    if (c->in_pump) {
        c->pump_again = 1;
        return;
    }
    c->in_pump = 1;
    do {
        c->pump_again = 0;
        int guard = 0;
        while (!c->dead && (c->tls ? tls_step(c) : plain_step(c)) && ++guard < 4096) {
        }
        if (guard >= 4096)
            c->pump_again = 1; /* yield fairness is not needed: loop again */
        if (!c->dead && c->state == MG_CONN_FLUSH && output_drained(c)) {
            shutdown(c->fd, SHUT_WR);
            c->state = MG_CONN_LINGER;
            c->deadline_ms = mg_now_ms() + MG_LINGER_TIMEOUT_MS;
            c->pump_again = c->readable;
        }
    } while (c->pump_again && !c->dead);
    c->in_pump = 0;
}

void mg_conn_on_event(mg_conn *c, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        c->readable = 1;
    mg_conn_pump(c);
}

void mg_conn_sweep(mg_conn *c, uint64_t now)
{
    if (c->dead)
        return;
    if (c->write_resume_ms && now >= c->write_resume_ms) {
        c->write_resume_ms = 0;
        mg_conn_pump(c);
    }
    if (c->dead || !c->deadline_ms || now < c->deadline_ms)
        return;
    switch (c->state) {
    case MG_CONN_HTTP:
        MG_WARN(&c->srv->cfg.log, "conn %llu (%s): no request within the upgrade timeout",
                (unsigned long long)c->id, c->peer);
        respond(c, 408, "text/plain; charset=utf-8", NULL, "no request within the timeout\n");
        mg_conn_pump(c);
        break;
    case MG_CONN_CLOSING:
        mg_conn_drop(c);
        break;
    case MG_CONN_FLUSH:
    case MG_CONN_LINGER:
        mg_conn_abort(c, "linger timeout");
        break;
    default:
        break;
    }
}

/* ---- app-facing senders ------------------------------------------------- */

int mg_conn_send_payload(mg_conn *c, const char *json, size_t len, const mg_send_opts *opts)
{
    if (!mg_conn_is_open(c))
        return -1;
    static const mg_send_opts none = {.ping_len = -1};
    if (!opts)
        opts = &none;
    mg_buf comp = {0}, enc = {0};
    const uint8_t *data = (const uint8_t *)json;
    size_t dlen = len;
    int opcode = MG_WS_TEXT, rc = -1;
    if (c->comp) {
        if (mg_compressor_payload(c->comp, json, len, &comp) != 0)
            goto out;
        data = comp.data;
        dlen = comp.len;
        opcode = MG_WS_BINARY;
    }
    size_t mcuts[MG_MAX_SPLITS * 2];
    size_t nm = mg_splits_resolve(&opts->message_splits, dlen, mcuts, sizeof mcuts / sizeof *mcuts);
    size_t start = 0;
    for (size_t i = 0; i <= nm; i++) {
        size_t end = i < nm ? mcuts[i] : dlen;
        if (mg_ws_encode_message(&enc, opcode, data + start, end - start, &opts->frame_splits,
                                 opts->ping, i == 0 ? opts->ping_len : -1) != 0)
            goto out;
        start = end;
    }
    size_t wcuts[4096];
    size_t nw = mg_splits_resolve(&opts->write_splits, enc.len, wcuts, sizeof wcuts / sizeof *wcuts);
    uint32_t delay = opts->write_delay_ms ? opts->write_delay_ms : 2;
    start = 0;
    for (size_t i = 0; i <= nw; i++) {
        size_t end = i < nw ? wcuts[i] : enc.len;
        if (out_append(c, enc.data + start, end - start, i < nw ? delay : 0) != 0)
            goto out;
        start = end;
    }
    rc = 0;
    mg_conn_pump(c);
out:
    mg_buf_free(&comp);
    mg_buf_free(&enc);
    return rc;
}

int mg_conn_send_ping(mg_conn *c, const uint8_t *data, size_t len)
{
    if (!mg_conn_is_open(c) || len > 125)
        return -1;
    mg_buf f = {0};
    int rc = mg_ws_frame(&f, 1, MG_WS_PING, data, len);
    if (rc == 0)
        rc = out_append(c, f.data, f.len, 0);
    mg_buf_free(&f);
    mg_conn_pump(c);
    return rc;
}

void mg_conn_close(mg_conn *c, int code, const char *reason)
{
    if (!mg_conn_is_open(c))
        return;
    const char *r = reason ? reason : "";
    size_t rl = strlen(r);
    if (rl > 123)
        rl = 123;
    wslay_event_queue_close(c->ws, (uint16_t)code, (const uint8_t *)r, rl);
    c->state = MG_CONN_CLOSING;
    c->deadline_ms = mg_now_ms() + MG_CLOSE_TIMEOUT_MS;
    ws_progress(c);
    mg_conn_pump(c);
}

void mg_conn_drop(mg_conn *c)
{
    if (c->dead)
        return;
    start_flush(c);
    mg_conn_pump(c);
}
