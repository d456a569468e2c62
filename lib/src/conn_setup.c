/* conn_setup.c - creating and freeing a connection, its configuration, and
 * the getters. */
#include <string.h>

#include "commands.h"
#include "conn.h"
#include "utf8.h"

#define DEFAULT_MAX_MESSAGE (16u << 20)
#define DEFAULT_MAX_HEADER (16u << 10)
#define DEFAULT_MAX_BODY 4096u

static void resolve_limits(dgw_config *k)
{
#define DEF(f, v) if (k->f == 0) k->f = (v)
    DEF(max_message_size, DEFAULT_MAX_MESSAGE);
    DEF(max_http_header_size, DEFAULT_MAX_HEADER);
    DEF(max_http_body_size, DEFAULT_MAX_BODY);
    DEF(backoff_base_ms, 1000);
    DEF(backoff_max_ms, 60000);
    DEF(backoff_stable_ms, 60000);
    DEF(handshake_timeout_ms, 30000);
    DEF(ready_timeout_ms, 15000);
    DEF(close_timeout_ms, 5000);
    DEF(identify_interval_ms, 5000);
    DEF(rate_limit_count, 120);
    DEF(rate_limit_window_ms, 60000);
    DEF(rate_limit_reserved, 5);
    DEF(send_queue_max, 64);
#undef DEF
}

static dgw_err bad(const char **why, dgw_err err, const char *what)
{
    *why = what;
    return err;
}

dgw_err dgw_config_check(const dgw_config *cfg, const char **why)
{
    static const char *ignored;
    if (!why)
        why = &ignored;
    *why = "";
    if (!cfg)
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "no configuration");
    const dgw_identify *id = &cfg->identify;
    if (!cfg->url)
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "no url");
    if (!cfg->random)
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "no random source");
    if (!id->token || !id->token[0])
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "no token");
    if ((unsigned)cfg->compress > DGW_COMPRESS_ZSTD_STREAM)
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "unknown compress value");
    if ((unsigned)cfg->encoding > DGW_ENCODING_ETF)
        return bad(why, DGW_ERR_INVALID_ARGUMENT, "unknown encoding value");
    if (cfg->payload_compress && cfg->compress != DGW_COMPRESS_NONE)
        return bad(why, DGW_ERR_INVALID_ARGUMENT,
                   "payload compression cannot be combined with transport "
                   "compression (zlib-stream, zstd-stream)");
    if (cfg->payload_compress && cfg->encoding == DGW_ENCODING_ETF)
        return bad(why, DGW_ERR_INVALID_ARGUMENT,
                   "payload compression needs the JSON encoding");
#ifndef DGW_HAVE_ZSTD
    if (cfg->compress == DGW_COMPRESS_ZSTD_STREAM)
        return bad(why, DGW_ERR_UNSUPPORTED,
                   "zstd-stream: this build has no libzstd");
#endif
    if (id->shard_count && id->shard_id >= id->shard_count)
        return bad(why, DGW_ERR_INVALID_ARGUMENT,
                   "shard_id must be below shard_count");
    if (id->presence_json &&
        !dgw_json_is_value(id->presence_json, strlen(id->presence_json)))
        return bad(why, DGW_ERR_INVALID_ARGUMENT,
                   "presence_json is not one JSON value");
    /* IDENTIFY goes out as text or binary: its strings must be UTF-8. */
    if (!dgw_utf8_valid_str(id->token) || !dgw_utf8_valid_str(id->os) ||
        !dgw_utf8_valid_str(id->browser) || !dgw_utf8_valid_str(id->device) ||
        !dgw_utf8_valid_str(id->presence_json))
        return bad(why, DGW_ERR_INVALID_ARGUMENT,
                   "token, os, browser, device or presence_json is not "
                   "UTF-8");
    dgw_url url;
    if (!dgw_url_parse(cfg->url, &url, why))
        return DGW_ERR_URL;
    /* Refuse now an IDENTIFY that could never be sent. */
    char json[DGW_CMD_BUF];
    dgw_jw w;
    dgw_jw_init(&w, json, sizeof json);
    dgw_cmd_identify(id, cfg->payload_compress, &w);
    if (dgw_cmd_overflow(&w))
        return bad(why, DGW_ERR_SEND_TOO_LARGE, "IDENTIFY over 4096 bytes");
    uint8_t buf[DGW_MAX_SEND_PAYLOAD];
    const uint8_t *wire;
    size_t wn;
    dgw_err e = dgw_send_prepare(cfg->encoding, json, w.len, buf, &wire, &wn,
                                 why);
    if (e == DGW_ERR_SEND_TOO_LARGE)
        *why = "IDENTIFY over 4096 bytes";
    return e;
}

/* v=10&encoding=...[&compress=...] */
static void build_query(dgw_conn *c)
{
    static const char *const compress[] = {
        [DGW_COMPRESS_NONE] = "",
        [DGW_COMPRESS_ZLIB_STREAM] = "&compress=zlib-stream",
        [DGW_COMPRESS_ZSTD_STREAM] = "&compress=zstd-stream",
    };
    dgw_jw w;
    dgw_jw_init(&w, c->query, sizeof c->query - 1);
    dgw_jw_lit(&w, c->cfg.encoding == DGW_ENCODING_ETF ? "v=10&encoding=etf"
                                                       : "v=10&encoding=json");
    dgw_jw_lit(&w, compress[c->cfg.compress]);
    c->query[w.len] = '\0';
}

dgw_conn *dgw_conn_new(const dgw_config *cfg, dgw_err *errp)
{
    dgw_err dummy;
    dgw_err *err = errp ? errp : &dummy;
    const char *why;
    *err = dgw_config_check(cfg, &why);
    if (*err != DGW_OK)
        return NULL;
    dgw_url url;
    dgw_url_parse(cfg->url, &url, &why);
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
    build_query(c);
    c->seq = -1;
    c->hb.latency = -1;
    c->stats.latency_ms = c->stats.latency_avg_ms = -1;
    c->state = DGW_STATE_IDLE;
    dgw_decoder_init(&c->dec, &c->mem, cfg->compress);
    dgw_ws_init(&c->ws, &c->mem, &c->msg, &c->dec, c->cfg.max_message_size,
                cfg->compress);
    dgw_etf_decoder_init(&c->etf, &c->mem);
    dgw_payload_inflater_init(&c->pz, &c->mem);

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
    dgw_decoder_free(&c->dec);
    dgw_buf_free(&c->mem, &c->out);
    dgw_buf_free(&c->mem, &c->http);
    dgw_buf_free(&c->mem, &c->msg);
    dgw_buf_free(&c->mem, &c->long_name);
    dgw_buf_free(&c->mem, &c->decoded);
    dgw_etf_decoder_free(&c->etf);
    dgw_payload_inflater_free(&c->pz);
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

dgw_err dgw_conn_restore_session(dgw_conn *c, const char *session_id,
                                 int64_t seq, const char *resume_url)
{
    if (!c || !session_id || !session_id[0] ||
        strlen(session_id) >= sizeof c->session_id ||
        !dgw_utf8_valid_str(session_id))
        return DGW_ERR_INVALID_ARGUMENT;
    if (c->state != DGW_STATE_IDLE)
        return dgw_set_error(c, DGW_ERR_STATE,
                             "restore_session() needs state IDLE, not ",
                             dgw_state_name(c->state));
    char *url = NULL;
    dgw_url u;
    const char *why;
    if (resume_url && dgw_url_parse(resume_url, &u, &why)) {
        if (u.tls != c->gateway_url.tls) {
            dgw_set_error(c, DGW_OK, "saved resume URL ignored: its scheme "
                          "differs from the gateway URL's", NULL);
        } else if (!(url = dgw_mem_strdup(&c->mem, resume_url))) {
            return DGW_ERR_NOMEM;
        }
    }
    memcpy(c->session_id, session_id, strlen(session_id) + 1);
    c->seq = seq < 0 ? -1 : seq;
    dgw_mem_strfree(&c->mem, c->resume_url);
    c->resume_url = url;
    c->resume_url_failed = false;
    dgw_conn_pick_url(c);
    return DGW_OK;
}

void dgw_conn_endpoint(const dgw_conn *c, dgw_endpoint *ep)
{
    if (!ep)
        return;
    if (!c) {
        memset(ep, 0, sizeof *ep);
        return;
    }
    ep->host = c->current_url.host;
    ep->port = c->current_url.port;
    ep->tls = c->current_url.tls;
}

dgw_state dgw_conn_state(const dgw_conn *c)
{
    return c ? c->state : DGW_STATE_IDLE;
}

const char *dgw_conn_last_error(const dgw_conn *c)
{
    return c ? c->errmsg : "";
}

const char *dgw_conn_session_id(const dgw_conn *c)
{
    return c && dgw_has_session(c) ? c->session_id : NULL;
}

const char *dgw_conn_resume_url(const dgw_conn *c)
{
    return c && dgw_has_session(c) ? c->resume_url : NULL;
}

int64_t dgw_conn_last_seq(const dgw_conn *c) { return c ? c->seq : -1; }

bool dgw_conn_can_resume(const dgw_conn *c)
{
    return c && dgw_has_session(c);
}

uint32_t dgw_conn_heartbeat_interval(const dgw_conn *c)
{
    return c ? c->hb.interval : 0;
}

int64_t dgw_conn_latency(const dgw_conn *c) { return c ? c->hb.latency : -1; }

size_t dgw_conn_memory(const dgw_conn *c) { return c ? c->mem.in_use : 0; }
