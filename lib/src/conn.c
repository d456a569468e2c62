/* conn.c - the public face of a connection: creation, the byte pumps,
 * events, timers, closing and reconnecting. Protocol meaning lives in
 * gateway.c, framing in ws.c; this file moves between states. */
#include <string.h>

#include "conn.h"

#define DEFAULT_MAX_MESSAGE (16u << 20)
#define DEFAULT_MAX_HEADER (16u << 10)
#define DEFAULT_MAX_BODY 4096u

static const char *const query_for[] = {
    [DGW_COMPRESS_NONE] = "v=10&encoding=json",
    [DGW_COMPRESS_ZLIB_STREAM] = "v=10&encoding=json&compress=zlib-stream",
    [DGW_COMPRESS_ZSTD_STREAM] = "v=10&encoding=json&compress=zstd-stream",
};

uint32_t dgw_random_u32(dgw_conn *c)
{
    uint8_t b[4];
    c->cfg.random(c->cfg.random_user, b, sizeof b);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           b[3];
}

dgw_err dgw_set_error(dgw_conn *c, dgw_err err, const char *a, const char *b)
{
    size_t n = 0;
    for (const char *part = a; part; part = part == a ? b : NULL) {
        size_t k = strlen(part);
        if (k > sizeof c->errmsg - 1 - n)
            k = sizeof c->errmsg - 1 - n;
        memcpy(c->errmsg + n, part, k);
        n += k;
    }
    c->errmsg[n] = '\0';
    return err;
}

dgw_evslot *dgw_push_event(dgw_conn *c, dgw_event_type type)
{
    /* Decoding stops as soon as an event is queued, and no path queues
     * more than three, so the ring cannot overflow; if a future change
     * breaks that, the oldest event is overwritten rather than memory. */
    unsigned i = (c->ev_head + c->ev_count) % DGW_EVQ_LEN;
    if (c->ev_count == DGW_EVQ_LEN) {
        c->ev_head = (c->ev_head + 1) % DGW_EVQ_LEN;
        c->ev_count--;
    }
    c->ev_count++;
    dgw_evslot *s = &c->evq[i];
    memset(s, 0, sizeof *s);
    s->ev.type = type;
    s->ev.seq = -1;
    return s;
}

bool dgw_has_session(const dgw_conn *c)
{
    return c->session_id[0] != '\0';
}

void dgw_clear_session(dgw_conn *c)
{
    c->session_id[0] = '\0';
    c->seq = -1;
    dgw_mem_strfree(&c->mem, c->resume_url);
    c->resume_url = NULL;
}

void dgw_finish_close(dgw_conn *c, dgw_err err)
{
    if (c->state == DGW_STATE_CLOSED)
        return;
    bool was_open = c->state >= DGW_STATE_WAIT_HELLO;
    c->state = DGW_STATE_CLOSED;
    c->close_err = err;
    if (was_open && c->close_code == 0)
        c->close_code = 1006;
    if (c->closed_by_server) {
        c->fatal = dgw_close_code_is_fatal(c->close_code);
        if (!dgw_close_code_keeps_session(c->close_code))
            dgw_clear_session(c);
    }
    dgw_evslot *s = dgw_push_event(c, DGW_EV_CLOSED);
    s->ev.close_code = c->close_code;
    s->ev.close_reason = c->close_reason;
    s->ev.close_reason_len = c->close_reason_len;
    s->ev.closed_by_server = c->closed_by_server;
    s->ev.fatal = c->fatal;
    s->ev.resumable = dgw_has_session(c);
    s->ev.error = err;
}

dgw_err dgw_begin_close(dgw_conn *c, uint16_t code, const char *reason)
{
    if (c->close_sent)
        return DGW_OK; /* one close frame per connection, one deadline */
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > sizeof c->close_reason)
        rl = sizeof c->close_reason;
    c->close_code = code;
    c->closed_by_server = false;
    memcpy(c->close_reason, reason ? reason : "", rl);
    c->close_reason_len = rl;
    if (code == 1000 || code == 1001) {
        /* Discord ends the session on these: resuming is impossible. */
        dgw_clear_session(c);
    }
    c->state = DGW_STATE_CLOSING;
    c->close_deadline = c->now + c->cfg.close_timeout_ms;
    if (!c->close_deadline)
        c->close_deadline = 1;
    return dgw_ws_send_close(c, code, reason, rl);
}

dgw_err dgw_fail(dgw_conn *c, dgw_err err, uint16_t ws_code, const char *a,
                 const char *b)
{
    dgw_set_error(c, err, a, b);
    if (c->state == DGW_STATE_CLOSED || c->state == DGW_STATE_IDLE)
        return err;
    bool open = c->state >= DGW_STATE_WAIT_HELLO;
    if (!c->closed_by_server && !c->close_sent) {
        c->close_code = open ? ws_code : 0;
        c->close_reason_len = 0;
    }
    /* Best effort: tell the server why. A peer that broke the protocol or
     * stopped answering does not get to hold us in CLOSING. */
    if (open && !c->close_sent && ws_code)
        dgw_ws_send_close(c, ws_code, NULL, 0);
    dgw_finish_close(c, err);
    return err;
}

static void resolve_limits(dgw_config *k)
{
#define DEF(f, v) if (k->f == 0) k->f = (v)
    DEF(max_message_size, DEFAULT_MAX_MESSAGE);
    DEF(max_http_header_size, DEFAULT_MAX_HEADER);
    DEF(max_http_body_size, DEFAULT_MAX_BODY);
    DEF(backoff_base_ms, 1000);
    DEF(backoff_max_ms, 60000);
    DEF(handshake_timeout_ms, 30000);
    DEF(close_timeout_ms, 5000);
    DEF(rate_limit_count, 120);
    DEF(rate_limit_window_ms, 60000);
    DEF(rate_limit_reserved, 5);
    DEF(send_queue_max, 64);
#undef DEF
}

/* Where the next (or current) attempt goes: the resume URL while a session
 * can be resumed, else the gateway URL. */
static void pick_url(dgw_conn *c)
{
    c->current_url = c->gateway_url;
    if (dgw_has_session(c) && c->resume_url) {
        const char *why;
        if (!dgw_url_parse(c->resume_url, &c->current_url, &why))
            c->current_url = c->gateway_url;
    }
}

void dgw_conn_endpoint(const dgw_conn *c, dgw_endpoint *ep)
{
    ep->host = c->current_url.host;
    ep->port = c->current_url.port;
    ep->tls = c->current_url.tls;
}

dgw_conn *dgw_conn_new(const dgw_config *cfg, dgw_err *errp)
{
    dgw_err dummy;
    dgw_err *err = errp ? errp : &dummy;
    *err = DGW_ERR_INVALID_ARGUMENT;
    if (!cfg || !cfg->url || !cfg->random || !cfg->identify.token ||
        !cfg->identify.token[0] ||
        (unsigned)cfg->compress > DGW_COMPRESS_ZSTD_STREAM ||
        (cfg->identify.shard_count &&
         cfg->identify.shard_id >= cfg->identify.shard_count))
        return NULL;
    if (cfg->identify.presence_json &&
        !dgw_json_is_value(cfg->identify.presence_json,
                           strlen(cfg->identify.presence_json)))
        return NULL;
    /* IDENTIFY goes out as a text frame: its strings must be UTF-8. */
    const dgw_identify *id = &cfg->identify;
    if (!dgw_utf8_valid_str(id->token) || !dgw_utf8_valid_str(id->os) ||
        !dgw_utf8_valid_str(id->browser) || !dgw_utf8_valid_str(id->device) ||
        !dgw_utf8_valid_str(id->presence_json))
        return NULL;
#ifndef DGW_HAVE_ZSTD
    if (cfg->compress == DGW_COMPRESS_ZSTD_STREAM) {
        *err = DGW_ERR_UNSUPPORTED;
        return NULL;
    }
#endif
    dgw_url url;
    const char *why;
    if (!dgw_url_parse(cfg->url, &url, &why)) {
        *err = DGW_ERR_URL;
        return NULL;
    }
    dgw_mem mem;
    dgw_mem_init(&mem, cfg->allocator);
    dgw_conn *c = dgw_mem_alloc(&mem, sizeof *c);
    if (!c) {
        *err = DGW_ERR_NOMEM;
        return NULL;
    }
    memset(c, 0, sizeof *c);
    c->mem = mem;
    c->cfg = *cfg;
    resolve_limits(&c->cfg);
    c->gateway_url = url;
    c->current_url = url;
    c->query = query_for[cfg->compress];
    c->seq = -1;
    c->latency = -1;
    c->state = DGW_STATE_IDLE;
    /* No session has worked yet: a first failure backs off. READY and
     * RESUMED set this to 0, making the next reconnect immediate. */
    c->attempts = 1;
    dgw_decoder_init(&c->dec, &c->mem, cfg->compress);

    c->url_copy = dgw_mem_strdup(&c->mem, cfg->url);
    c->token = dgw_mem_strdup(&c->mem, cfg->identify.token);
    c->os = dgw_mem_strdup(&c->mem, cfg->identify.os);
    c->browser = dgw_mem_strdup(&c->mem, cfg->identify.browser);
    c->device = dgw_mem_strdup(&c->mem, cfg->identify.device);
    c->presence = dgw_mem_strdup(&c->mem, cfg->identify.presence_json);
    *err = DGW_ERR_NOMEM;
    if (!c->url_copy || !c->token || (cfg->identify.os && !c->os) ||
        (cfg->identify.browser && !c->browser) ||
        (cfg->identify.device && !c->device) ||
        (cfg->identify.presence_json && !c->presence))
        goto fail;
    /* Our copies replace the caller's pointers: nothing dangles later. */
    c->cfg.url = c->url_copy;
    c->cfg.identify.token = c->token;
    c->cfg.identify.os = c->os;
    c->cfg.identify.browser = c->browser;
    c->cfg.identify.device = c->device;
    c->cfg.identify.presence_json = c->presence;
    c->cfg.allocator = NULL;

    *err = dgw_rl_init(&c->rl, &c->mem, c->cfg.rate_limit_count,
                       c->cfg.rate_limit_reserved, c->cfg.rate_limit_window_ms,
                       c->cfg.send_queue_max);
    if (*err != DGW_OK)
        goto fail;

    /* Refuse now an IDENTIFY that could never be sent. */
    char probe[DGW_MAX_SEND_PAYLOAD + 1];
    dgw_jw w;
    dgw_jw_init(&w, probe, sizeof probe);
    dgw_cmd_build_identify(c, &w);
    if (w.overflow) {
        *err = DGW_ERR_SEND_TOO_LARGE;
        goto fail;
    }
    *err = DGW_OK;
    return c;
fail:
    dgw_conn_free(c);
    return NULL;
}

void dgw_conn_free(dgw_conn *c)
{
    if (!c)
        return;
    dgw_ws_close_ctx(c);
    dgw_decoder_free(&c->dec);
    dgw_buf_free(&c->mem, &c->out);
    dgw_buf_free(&c->mem, &c->http);
    dgw_buf_free(&c->mem, &c->msg);
    if (c->rl.sent)
        dgw_rl_free(&c->rl, &c->mem);
    dgw_mem_strfree(&c->mem, c->resume_url);
    dgw_mem_strfree(&c->mem, c->url_copy);
    if (c->token) {
        /* Do not leave the token in freed memory. */
        volatile char *t = c->token;
        for (size_t i = 0; t[i]; i++)
            t[i] = 'x';
    }
    dgw_mem_strfree(&c->mem, c->token);
    dgw_mem_strfree(&c->mem, c->os);
    dgw_mem_strfree(&c->mem, c->browser);
    dgw_mem_strfree(&c->mem, c->device);
    dgw_mem_strfree(&c->mem, c->presence);
    dgw_mem mem = c->mem;
    dgw_mem_free(&mem, c, sizeof *c);
}

dgw_err dgw_conn_start(dgw_conn *c, uint64_t now_ms)
{
    if (!c)
        return DGW_ERR_INVALID_ARGUMENT;
    if (c->state != DGW_STATE_IDLE)
        return dgw_set_error(c, DGW_ERR_STATE, "start() needs state IDLE, not ",
                             dgw_state_name(c->state));
    c->now = now_ms;
    /* Whatever the last transport left behind is void now. */
    dgw_buf_reset(&c->mem, &c->out, 0);
    dgw_buf_reset(&c->mem, &c->http, 0);
    dgw_buf_reset(&c->mem, &c->msg, 0);
    c->msg_busy = false;
    c->ev_head = c->ev_count = 0;
    c->resp_head_done = false;
    c->hb_interval = 0;
    c->hb_next = 0;
    c->hb_acked = true;
    c->hb_deferred = false;
    c->rl.reserved = c->cfg.rate_limit_reserved;
    c->close_sent = c->close_received = c->closed_by_server = false;
    c->close_code = 0;
    c->close_reason_len = 0;
    c->close_err = DGW_OK;
    c->close_deadline = 0;
    c->fatal = false;
    c->errmsg[0] = '\0';
    dgw_rl_reset(&c->rl, &c->mem);

    pick_url(c);
    int r = dgw_decoder_reset(&c->dec);
    if (r != DGW_OK)
        return dgw_set_error(c, (dgw_err)r, "cannot set up decompression",
                             NULL);
    if ((r = dgw_ws_open(c)) != DGW_OK)
        return dgw_set_error(c, (dgw_err)r, "cannot set up WebSocket framing",
                             NULL);
    uint8_t key[16];
    c->cfg.random(c->cfg.random_user, key, sizeof key);
    dgw_base64(key, sizeof key, c->ws_key);
    r = dgw_http_build_request(&c->mem, &c->out, &c->current_url, c->query,
                               c->ws_key);
    if (r != DGW_OK)
        return dgw_set_error(c, (dgw_err)r, "cannot build the upgrade request",
                             NULL);
    c->state = DGW_STATE_UPGRADING;
    c->handshake_deadline = now_ms + c->cfg.handshake_timeout_ms;
    return DGW_OK;
}

static void deliver_rejection(dgw_conn *c)
{
    const dgw_http_response *r = &c->resp;
    const char *base = (const char *)c->http.p + c->http.off;
    size_t live = dgw_buf_live(&c->http);
    size_t body = live - r->head_len;
    if (r->content_length >= 0 && (unsigned long long)r->content_length < body)
        body = (size_t)r->content_length;
    if (body > c->cfg.max_http_body_size)
        body = c->cfg.max_http_body_size;
    dgw_evslot *s = dgw_push_event(c, DGW_EV_REJECTED);
    s->ev.http_status = r->status;
    s->ev.http_headers = base + r->fields_off;
    s->ev.http_headers_len = r->fields_len;
    s->ev.http_body = base + r->head_len;
    s->ev.http_body_len = body;
    char code[4] = {(char)('0' + r->status / 100),
                    (char)('0' + r->status / 10 % 10),
                    (char)('0' + r->status % 10), 0};
    dgw_set_error(c, DGW_ERR_REJECTED, "upgrade rejected with HTTP status ",
                  code);
    dgw_finish_close(c, DGW_ERR_REJECTED);
}

/* True once the rejected response's body is all here (or capped). */
static bool body_complete(const dgw_conn *c)
{
    size_t have = dgw_buf_live(&c->http) - c->resp.head_len;
    if (have >= c->cfg.max_http_body_size)
        return true;
    return c->resp.content_length >= 0 &&
           have >= (unsigned long long)c->resp.content_length;
}

static long recv_upgrade(dgw_conn *c, const uint8_t *data, size_t len)
{
    size_t cap = c->cfg.max_http_header_size + c->cfg.max_http_body_size;
    size_t room = cap - dgw_buf_live(&c->http);
    size_t take = len < room ? len : room;
    if (dgw_buf_append(&c->mem, &c->http, data, take, cap) != DGW_OK)
        return dgw_fail(c, DGW_ERR_NOMEM, 0, "out of memory", NULL);
    if (c->resp_head_done) {
        if (body_complete(c))
            deliver_rejection(c);
        return (long)len; /* body bytes past the cap are dropped */
    }
    const char *why = NULL;
    int r = dgw_http_parse_response(c->http.p + c->http.off,
                                    dgw_buf_live(&c->http), &c->resp, &why);
    if (r < 0)
        return dgw_fail(c, DGW_ERR_HTTP, 0, "bad upgrade response: ", why);
    if (r == 0 || c->resp.head_len > c->cfg.max_http_header_size) {
        if (dgw_buf_live(&c->http) >= c->cfg.max_http_header_size)
            return dgw_fail(c, DGW_ERR_HTTP_TOO_LARGE, 0,
                            "upgrade response headers over "
                            "max_http_header_size",
                            NULL);
        return (long)take;
    }
    if (c->resp.status != 101) {
        c->resp_head_done = true;
        if (body_complete(c))
            deliver_rejection(c);
        return (long)len;
    }
    if ((why = dgw_http_check_upgrade(&c->resp, c->ws_key)) != NULL)
        return dgw_fail(c, DGW_ERR_HANDSHAKE, 0, "bad upgrade response: ", why);
    /* Bytes after the head are already WebSocket frames: hand them back. */
    size_t extra = dgw_buf_live(&c->http) - c->resp.head_len;
    dgw_buf_reset(&c->mem, &c->http, 0);
    c->state = DGW_STATE_WAIT_HELLO;
    c->handshake_deadline = c->now + c->cfg.handshake_timeout_ms;
    dgw_push_event(c, DGW_EV_UPGRADED);
    return (long)(take - extra);
}

long dgw_conn_recv(dgw_conn *c, const uint8_t *data, size_t len,
                   uint64_t now_ms)
{
    if (!c || (len && !data))
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    switch (c->state) {
    case DGW_STATE_IDLE:
        return dgw_set_error(c, DGW_ERR_STATE, "recv() before start()", NULL);
    case DGW_STATE_CLOSED:
        return (long)len;
    case DGW_STATE_UPGRADING:
        if (c->ev_count)
            return 0;
        return recv_upgrade(c, data, len);
    default:
        break;
    }
    if (c->ev_count)
        return 0;
    c->in = data;
    c->in_len = len;
    dgw_err e = dgw_ws_pump(c);
    size_t used = len - c->in_len;
    c->in = NULL;
    c->in_len = 0;
    if (e != DGW_OK)
        return e;
    return (long)used;
}

void dgw_conn_recv_eof(dgw_conn *c, uint64_t now_ms)
{
    if (!c || c->state == DGW_STATE_IDLE || c->state == DGW_STATE_CLOSED)
        return;
    c->now = now_ms;
    if (c->state == DGW_STATE_UPGRADING && c->resp_head_done) {
        deliver_rejection(c); /* a body without Content-Length ends here */
        return;
    }
    if (c->state == DGW_STATE_CLOSING) {
        dgw_finish_close(c, DGW_OK);
        return;
    }
    dgw_err err = DGW_ERR_EOF;
    const char *what = "connection ended without a close frame";
    if (c->state == DGW_STATE_UPGRADING) {
        what = "connection ended during the upgrade";
    } else if (c->dec.mid_payload) {
        err = DGW_ERR_INFLATE_TRUNCATED;
        what = "connection ended inside a compressed payload";
    } else if (c->rx.in_message || c->rx.in_frame) {
        what = "connection ended inside a message";
    }
    dgw_set_error(c, err, what, NULL);
    dgw_finish_close(c, err);
}

size_t dgw_conn_peek_output(dgw_conn *c, const uint8_t **out)
{
    size_t n = c ? dgw_buf_live(&c->out) : 0;
    *out = n ? c->out.p + c->out.off : NULL;
    return n;
}

void dgw_conn_consume_output(dgw_conn *c, size_t n)
{
    if (!c)
        return;
    dgw_buf_consume(&c->out, n);
    /* Output is rare (a heartbeat every ~41 s): hold nothing while idle. */
    if (dgw_buf_live(&c->out) == 0)
        dgw_buf_reset(&c->mem, &c->out, 0);
}

uint64_t dgw_conn_next_timeout(const dgw_conn *c)
{
    return c ? dgw_gw_next_timeout(c) : DGW_NO_TIMEOUT;
}

dgw_err dgw_conn_handle_timeout(dgw_conn *c, uint64_t now_ms)
{
    if (!c)
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    if (c->state == DGW_STATE_IDLE || c->state == DGW_STATE_CLOSED)
        return DGW_OK;
    return dgw_gw_timeouts(c);
}

bool dgw_conn_has_events(const dgw_conn *c)
{
    return c && c->ev_count > 0;
}

bool dgw_conn_poll_event(dgw_conn *c, dgw_event *ev)
{
    if (!c || !ev)
        return false;
    if (c->ev_count == 0) {
        if (c->msg_busy) {
            dgw_buf_reset(&c->mem, &c->msg, DGW_KEEP_CAP);
            c->msg_busy = false;
        }
        /* Frames wslay already holds may make the next event. */
        dgw_ws_pump(c);
        if (c->ev_count == 0)
            return false;
    }
    *ev = c->evq[c->ev_head].ev;
    c->ev_head = (c->ev_head + 1) % DGW_EVQ_LEN;
    c->ev_count--;
    return true;
}

static bool valid_client_close_code(uint16_t code)
{
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

dgw_err dgw_conn_close(dgw_conn *c, uint16_t code, const char *reason,
                       uint64_t now_ms)
{
    if (!c || !valid_client_close_code(code) ||
        (reason && strlen(reason) > 123))
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    switch (c->state) {
    case DGW_STATE_UPGRADING:
        /* No WebSocket yet: nothing to say to the server. */
        if (code == 1000 || code == 1001)
            dgw_clear_session(c);
        c->close_code = 0;
        dgw_finish_close(c, DGW_OK);
        return DGW_OK;
    case DGW_STATE_WAIT_HELLO:
    case DGW_STATE_IDENTIFYING:
    case DGW_STATE_RESUMING:
    case DGW_STATE_CONNECTED:
        return dgw_begin_close(c, code, reason);
    default:
        return dgw_set_error(c, DGW_ERR_STATE, "cannot close in state ",
                             dgw_state_name(c->state));
    }
}

dgw_err dgw_conn_reconnect(dgw_conn *c, uint64_t now_ms, uint32_t *wait_ms)
{
    if (!c || !wait_ms)
        return DGW_ERR_INVALID_ARGUMENT;
    c->now = now_ms;
    *wait_ms = 0;
    if (c->fatal) {
        char code[6];
        unsigned v = c->close_code;
        for (int i = 4; i >= 0; i--, v /= 10)
            code[i] = (char)('0' + v % 10);
        code[5] = '\0';
        return dgw_set_error(c, DGW_ERR_FATAL_CLOSE,
                             "server closed with a code that forbids "
                             "reconnecting: ",
                             code);
    }
    uint64_t wait = 0;
    if (c->attempts > 0) {
        /* Exponential, capped, with "equal jitter": half fixed, half
         * random, so retries spread out but never collapse to zero. */
        unsigned shift = c->attempts - 1 > 16 ? 16 : c->attempts - 1;
        wait = (uint64_t)c->cfg.backoff_base_ms << shift;
        if (wait > c->cfg.backoff_max_ms)
            wait = c->cfg.backoff_max_ms;
        wait = wait / 2 + dgw_random_u32(c) % (wait / 2 + 1);
    }
    if (c->identify_pending && c->identify_at > now_ms &&
        c->identify_at - now_ms > wait)
        wait = c->identify_at - now_ms;
    if (c->attempts < UINT32_MAX)
        c->attempts++;
    /* Drop the transport now; start() builds the next one. */
    dgw_ws_close_ctx(c);
    c->state = DGW_STATE_IDLE;
    pick_url(c);
    *wait_ms = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
    return DGW_OK;
}

dgw_state dgw_conn_state(const dgw_conn *c) { return c->state; }

const char *dgw_conn_last_error(const dgw_conn *c) { return c->errmsg; }

const char *dgw_conn_session_id(const dgw_conn *c)
{
    return dgw_has_session(c) ? c->session_id : NULL;
}

const char *dgw_conn_resume_url(const dgw_conn *c)
{
    return dgw_has_session(c) ? c->resume_url : NULL;
}

int64_t dgw_conn_last_seq(const dgw_conn *c) { return c->seq; }

bool dgw_conn_can_resume(const dgw_conn *c) { return dgw_has_session(c); }

uint32_t dgw_conn_heartbeat_interval(const dgw_conn *c)
{
    return c->hb_interval;
}

int64_t dgw_conn_latency(const dgw_conn *c) { return c->latency; }

size_t dgw_conn_memory(const dgw_conn *c) { return c->mem.in_use; }
