/* One connection: life cycle, the HTTP phase, the pump that moves its
 * bytes within a per-turn budget, and the calls apps make. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "rest.h"
#include "encoding.h"
#include "util.h"

/* ---- life cycle -------------------------------------------------------- */

mg_conn *mg_conn_new(mg_server *s, int fd, const mg_conn_io *io, const char *peer)
{
    mg_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->fd = fd;
    c->io = io ? io : &mg_socket_io;
    c->id = ++s->next_id;
    c->state = MG_CONN_HTTP;
    c->created_ms = mg_now_ms();
    c->output_progress_ms = c->created_ms;
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

void mg_conn_start_flush(mg_conn *c)
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
    c->io->close(c);
    c->fd = -1;
    mg_conn_out_release(c); /* it can never be sent */
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
    mg_conn_abort(c, why);
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
    free(c->segs);
    free(c);
}

int mg_conn_is_open(const mg_conn *c)
{
    return !c->dead && c->state == MG_CONN_WS && c->ws && !c->close_code && !wslay_event_get_close_sent(c->ws);
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
    mg_conn_out_append(c, r.data, r.len, 0);
    mg_buf_free(&r);
    mg_conn_start_flush(c);
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
    mg_conn_schedule(c);
}

int mg_conn_accept(mg_conn *c)
{
    if (c->dead || c->state != MG_CONN_HELD)
        return -1;
    if (mg_conn_ws_open(c) != 0) {
        mg_conn_fail(c, "out of memory");
        return -1;
    }
    c->etf = strcmp(c->up.encoding, "etf") == 0;
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
    int rc = mg_conn_out_append(c, r.data, r.len, 0);
    mg_buf_free(&r);
    if (rc != 0)
        return -1;
    c->state = MG_CONN_WS;
    c->deadline_ms = 0;
    mg_server *s = c->srv;
    if (s->ops && s->ops->on_open)
        s->ops->on_open(s->app, c);
    mg_conn_schedule(c); /* bytes a client sent before our 101 wait in wsin */
    return c->dead ? -1 : 0;
}

static void serve_rest(mg_conn *c, const mg_http_request *req)
{
    mg_rest_ctx ctx = {.ws_url = c->srv->ws_url, .tokens = c->srv->cfg.secrets};
    mg_gateway_bot bot;
    const mg_server *s = c->srv;
    if (s->ops && s->ops->gateway_bot) {
        s->ops->gateway_bot(s->app, mg_now_ms(), &bot);
        ctx.bot = &bot;
    }
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
    if (rest > 0 && mg_buf_append(&c->wsin, mg_buf_head(&c->in) + req.header_bytes, rest) != 0) {
        mg_conn_fail(c, "out of memory");
        return;
    }
    c->state = MG_CONN_HELD;
    int hold = s->ops && s->ops->on_upgrade ? s->ops->on_upgrade(s->app, c, &req, &c->up) : 0;
    mg_buf_free(&c->in); /* req's slices die here */
    if (!c->dead && hold == 0 && c->state == MG_CONN_HELD)
        mg_conn_accept(c);
}

/* ---- input ------------------------------------------------------------- */

int mg_conn_input_wanted(const mg_conn *c)
{
    switch (c->state) {
    case MG_CONN_HTTP:
        return 1; /* the head parser bounds it (431) */
    case MG_CONN_HELD:
    case MG_CONN_WS:
    case MG_CONN_CLOSING:
        /* Not read while wslay has enough to do, or while the client
         * leaves its output unread (what it sends could only add more). */
        return mg_buf_avail(&c->wsin) < MG_INPUT_HIGH_WATER && mg_buf_avail(&c->out) < MG_OUTPUT_HIGH_WATER;
    case MG_CONN_FLUSH:
    case MG_CONN_LINGER:
        return 1; /* drained, so that our close is not answered by RST */
    }
    return 0;
}

int mg_conn_may_read(mg_conn *c)
{
    if (!c->readable || c->dead || !mg_conn_input_wanted(c))
        return 0;
    if (c->turn_read >= MG_TURN_READ_BYTES) {
        c->yielded = 1;
        return 0;
    }
    return 1;
}

void mg_conn_input(mg_conn *c, const uint8_t *data, size_t n)
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
    case MG_CONN_WS:
    case MG_CONN_CLOSING:
        /* wslay takes it in mg_conn_ws_progress(), frame by frame. */
        if (mg_buf_append(&c->wsin, data, n) != 0)
            mg_conn_fail(c, "out of memory");
        break;
    case MG_CONN_FLUSH:
    case MG_CONN_LINGER:
        break; /* drained and dropped */
    }
}

void mg_conn_on_eof(mg_conn *c)
{
    c->peer_eof = 1;
    c->readable = 0;
    if (c->state == MG_CONN_LINGER || c->state == MG_CONN_FLUSH)
        mg_conn_abort(c, c->state == MG_CONN_LINGER ? "closed" : "peer closed while flushing");
    else
        mg_conn_abort(c, "peer closed the connection");
}

/* ---- the pump ----------------------------------------------------------- */

void mg_conn_schedule(mg_conn *c)
{
    if (c->dead)
        return;
    if (c->in_pump) {
        c->pump_again = 1;
        return;
    }
    if (c->scheduled)
        return;
    mg_server *s = c->srv;
    if (s->nready == s->capready) {
        size_t ncap = s->capready ? s->capready * 2 : 64;
        mg_conn **nr = realloc(s->ready, ncap * sizeof *nr);
        if (!nr) {
            mg_conn_fail(c, "out of memory");
            return;
        }
        s->ready = nr;
        s->capready = ncap;
    }
    s->ready[s->nready++] = c;
    c->scheduled = 1;
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
    if (c->turn != c->srv->turn) {
        c->turn = c->srv->turn;
        c->turn_read = 0;
        c->turn_frames = 0;
    }
    c->yielded = 0;
    do {
        c->pump_again = 0;
        /* Every round moves bytes or ends the loop; the budget bounds the
         * rounds that read, and output is bounded by what was read. */
        int progress;
        do {
            progress = mg_conn_io_step(c);
            /* A close decided just before a drop (FLUSH) still goes out
             * first: a scenario's close with drop. */
            if (!c->dead && c->ws && (c->state == MG_CONN_WS || c->state == MG_CONN_CLOSING || c->close_code))
                progress |= mg_conn_ws_progress(c);
        } while (progress && !c->dead);
        if (!c->dead && c->state == MG_CONN_FLUSH && mg_conn_out_drained(c)) {
            c->io->shutdown_write(c);
            c->state = MG_CONN_LINGER;
            c->deadline_ms = mg_now_ms() + MG_LINGER_TIMEOUT_MS;
            c->pump_again = c->readable;
        }
    } while (c->pump_again && !c->dead);
    c->in_pump = 0;
    if (c->yielded)
        mg_conn_schedule(c); /* more to do: next turn, after the others */
}

void mg_conn_on_event(mg_conn *c, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        c->readable = 1;
    mg_conn_pump(c);
}

int mg_conn_sweep(mg_conn *c, uint64_t now)
{
    if (c->dead)
        return 0;
    if (c->write_resume_ms && now >= c->write_resume_ms) {
        c->write_resume_ms = 0;
        c->output_progress_ms = now;
        mg_conn_schedule(c);
    }
    if (!c->write_resume_ms && !mg_conn_out_drained(c) && now >= c->output_progress_ms + MG_WRITE_STALL_MS) {
        MG_WARN(&c->srv->cfg.log, "conn %llu (%s): the client read nothing for %u ms with %zu bytes waiting",
                (unsigned long long)c->id, c->peer, MG_WRITE_STALL_MS, mg_buf_avail(&c->out));
        mg_conn_fail(c, "the client read nothing for 10 s with output waiting");
        return 1;
    }
    if (!c->deadline_ms || now < c->deadline_ms)
        return 0;
    switch (c->state) {
    case MG_CONN_HTTP:
        MG_WARN(&c->srv->cfg.log, "conn %llu (%s): no request within the upgrade timeout",
                (unsigned long long)c->id, c->peer);
        respond(c, 408, "text/plain; charset=utf-8", NULL, "no request within the timeout\n");
        mg_conn_schedule(c);
        break;
    case MG_CONN_CLOSING:
        mg_conn_drop(c);
        break;
    case MG_CONN_FLUSH:
    case MG_CONN_LINGER:
        mg_conn_abort(c, "linger timeout");
        break;
    default:
        return 0;
    }
    return 1;
}

/* ---- app-facing senders ------------------------------------------------- */

int mg_conn_send_payload(mg_conn *c, const char *json, size_t len, const mg_send_opts *opts)
{
    if (!mg_conn_is_open(c))
        return -1;
    static const mg_send_opts none = {.ping_len = -1};
    if (!opts)
        opts = &none;
    mg_buf comp = {0}, enc = {0}, form = {0};
    const uint8_t *data = (const uint8_t *)json;
    size_t dlen = len;
    int opcode = MG_WS_TEXT, rc = -1;
    /* The payload's own form first (ETF, or a whole zlib stream), then the
     * transport's compression over it. */
    if (c->etf || opts->zpayload) {
        if (c->etf ? mg_json_to_etf(json, len, &form) != 0
                   : mg_zlib_payload(data, dlen, (mg_zpayload)opts->zpayload, &form) != 0)
            goto out;
        data = form.data;
        dlen = form.len;
        opcode = MG_WS_BINARY;
    }
    if (c->comp) {
        if (mg_compressor_payload(c->comp, data, dlen, &comp) != 0)
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
        if (mg_conn_out_append(c, enc.data + start, end - start, i < nw ? delay : 0) != 0)
            goto out;
        start = end;
    }
    rc = 0;
    mg_conn_schedule(c);
out:
    mg_buf_free(&comp);
    mg_buf_free(&enc);
    mg_buf_free(&form);
    return rc;
}

void mg_send_scratch_free(mg_send_scratch *s)
{
    mg_buf_free(&s->form);
    mg_buf_free(&s->wire);
    free(s->lens);
    memset(s, 0, sizeof *s);
}

static int scratch_lens(mg_send_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t *nl = realloc(s->lens, n * sizeof *nl);
    if (!nl)
        return -1;
    s->lens = nl;
    s->cap = n;
    return 0;
}

/* The batch's messages in their wire form (ETF, then the transport's
 * compression, each payload flushed on its own) into s->wire, their
 * lengths into s->lens. */
static int batch_wire_form(mg_conn *c, const char *json, const size_t *lens, size_t n, mg_send_scratch *s)
{
    if (scratch_lens(s, n) != 0)
        return -1;
    mg_buf_reset(&s->wire);
    for (size_t i = 0; i < n; json += lens[i], i++) {
        const uint8_t *data = (const uint8_t *)json;
        size_t dlen = lens[i], before = s->wire.len;
        if (c->etf) {
            mg_buf_reset(&s->form);
            if (mg_json_to_etf(json, lens[i], &s->form) != 0)
                return -1;
            data = s->form.data;
            dlen = s->form.len;
        }
        if (c->comp ? mg_compressor_payload(c->comp, data, dlen, &s->wire) != 0
                    : mg_buf_append(&s->wire, data, dlen) != 0)
            return -1;
        s->lens[i] = s->wire.len - before;
    }
    return 0;
}

/* Frames n messages lying back to back in src (lengths lens[0..n)) in
 * place in c's output queue. */
static int queue_frames(mg_conn *c, int opcode, const uint8_t *src, const size_t *lens, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += mg_ws_header_len(lens[i]) + lens[i];
    uint8_t *dst = mg_conn_out_reserve(c, total);
    if (!dst)
        return -1;
    for (size_t i = 0; i < n; src += lens[i], i++) {
        dst += mg_ws_header(dst, 1, opcode, lens[i]);
        memcpy(dst, src, lens[i]);
        dst += lens[i];
    }
    if (mg_conn_out_commit(c, total, 0) != 0)
        return -1;
    mg_conn_schedule(c);
    return 0;
}

int mg_conn_send_batch(mg_conn *c, const char *json, const size_t *lens, size_t n, mg_send_scratch *s)
{
    if (!mg_conn_is_open(c))
        return -1;
    if (!c->etf && !c->comp)
        return queue_frames(c, MG_WS_TEXT, (const uint8_t *)json, lens, n);
    if (batch_wire_form(c, json, lens, n, s) != 0)
        return -1;
    return queue_frames(c, MG_WS_BINARY, s->wire.data, s->lens, n);
}

int mg_conn_can_splice(const mg_conn *c) { return !c->etf && mg_compressor_can_splice(c->comp); }

int mg_conn_send_spliced_batch(mg_conn *c, const mg_splice *m, size_t n, mg_send_scratch *s)
{
    if (!mg_conn_is_open(c) || !mg_conn_can_splice(c) || scratch_lens(s, n) != 0)
        return -1;
    mg_buf_reset(&s->wire);
    for (size_t i = 0; i < n; i++) {
        size_t before = s->wire.len;
        if (mg_compressor_splice(c->comp, m[i].plain, m[i].plain_len, m[i].part, m[i].part_len, &s->wire) != 0)
            return -1;
        s->lens[i] = s->wire.len - before;
    }
    return queue_frames(c, MG_WS_BINARY, s->wire.data, s->lens, n);
}

size_t mg_conn_backlog(const mg_conn *c) { return mg_buf_avail(&c->out); }

void mg_conn_flush(mg_conn *c) { mg_conn_pump(c); }

int mg_conn_send_ping(mg_conn *c, const uint8_t *data, size_t len)
{
    if (!mg_conn_is_open(c) || len > 125)
        return -1;
    mg_buf f = {0};
    int rc = mg_ws_frame(&f, 1, MG_WS_PING, data, len);
    if (rc == 0)
        rc = mg_conn_out_append(c, f.data, f.len, 0);
    mg_buf_free(&f);
    mg_conn_schedule(c);
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
    char reason_buf[124];
    snprintf(reason_buf, sizeof reason_buf, "%.*s", (int)rl, r);
    /* Applied by the pump, after wslay_event_recv if it is running now. */
    mg_conn_ws_decide_close(c, code, reason_buf, 0);
    mg_conn_schedule(c);
}

void mg_conn_drop(mg_conn *c)
{
    if (c->dead)
        return;
    mg_conn_start_flush(c);
    mg_conn_schedule(c);
}
