/* gateway.c - received payloads: PROTOCOL.md section 2's shape and the
 * fields of HELLO, READY, INVALID_SESSION that the client acts on. */
#include "gateway.h"

#include <string.h>

static dgw_err bad(const char **why, dgw_err err, const char *what)
{
    *why = what;
    return err;
}

static dgw_err parse_hello(dgw_gw_msg *m, dgw_json_type d_type,
                           const char **why)
{
    dgw_span v;
    int64_t iv;
    if (d_type != DGW_JSON_OBJECT ||
        dgw_json_get(m->d, "heartbeat_interval", &v) != DGW_JSON_NUMBER)
        return bad(why, DGW_ERR_HELLO,
                   "HELLO without a numeric heartbeat_interval");
    if (!dgw_json_int(v, &iv) || iv <= 0 || iv > DGW_HEARTBEAT_MAX_MS)
        return bad(why, DGW_ERR_HELLO,
                   "HELLO heartbeat_interval is not an integer in "
                   "1..600000 ms");
    m->heartbeat_interval = (uint32_t)iv;
    return DGW_OK;
}

static dgw_err parse_ready(dgw_gw_msg *m, dgw_json_type d_type,
                           const char **why)
{
    dgw_span v;
    if (d_type != DGW_JSON_OBJECT ||
        dgw_json_get(m->d, "session_id", &v) != DGW_JSON_STRING ||
        dgw_json_unescape(v, m->session_id, sizeof m->session_id) <= 0)
        return bad(why, DGW_ERR_READY, "READY without a usable session_id");
    /* An unusable resume URL is not fatal: resume at the gateway URL. */
    if (dgw_json_get(m->d, "resume_gateway_url", &v) == DGW_JSON_STRING &&
        dgw_json_unescape(v, m->resume_url, sizeof m->resume_url) > 0) {
        dgw_url parsed;
        const char *ignored;
        if (!dgw_url_parse(m->resume_url, &parsed, &ignored))
            m->resume_url[0] = '\0';
    }
    return DGW_OK;
}

static dgw_gw_kind kind_of(int op)
{
    switch (op) {
    case 0: return DGW_GW_DISPATCH;
    case 1: return DGW_GW_HEARTBEAT_REQUEST;
    case 7: return DGW_GW_RECONNECT;
    case 9: return DGW_GW_INVALID_SESSION;
    case 10: return DGW_GW_HELLO;
    case 11: return DGW_GW_ACK;
    default: return DGW_GW_OTHER;
    }
}

dgw_err dgw_gw_parse(const char *p, size_t n, dgw_gw_msg *m,
                     const char **why)
{
    dgw_json_iter it;
    dgw_span k, v, s = {0};
    dgw_json_type t, d_type = DGW_JSON_INVALID, s_type = DGW_JSON_INVALID;
    int64_t op = -1;
    memset(m, 0, sizeof *m);
    m->seq = -1;
    if (!dgw_json_iter_init(&it, (dgw_span){p, n}))
        return bad(why, DGW_ERR_PAYLOAD, "payload is not a JSON object");
    while (dgw_json_iter_next(&it, &k, &v, &t)) {
        if (dgw_json_key_is(k, "op")) {
            if (t != DGW_JSON_NUMBER || !dgw_json_int(v, &op) || op < 0 ||
                op > 255)
                return bad(why, DGW_ERR_PAYLOAD,
                           "payload \"op\" is not a small integer");
        } else if (dgw_json_key_is(k, "d")) {
            m->d = v;
            d_type = t;
        } else if (dgw_json_key_is(k, "t")) {
            m->t = t == DGW_JSON_STRING ? v : (dgw_span){0};
        } else if (dgw_json_key_is(k, "s")) {
            s = v;
            s_type = t;
        }
    }
    if (it.failed)
        return bad(why, DGW_ERR_PAYLOAD, "payload is not valid JSON");
    for (const char *q = it.p; q < p + n; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
            return bad(why, DGW_ERR_PAYLOAD,
                       "payload has bytes after the JSON object");
    if (op < 0)
        return bad(why, DGW_ERR_PAYLOAD, "payload has no \"op\"");
    if (d_type == DGW_JSON_INVALID)
        m->d = (dgw_span){"null", 4};
    m->op = (int)op;
    m->kind = kind_of(m->op);
    switch (m->kind) {
    case DGW_GW_HELLO:
        return parse_hello(m, d_type, why);
    case DGW_GW_INVALID_SESSION:
        m->resumable = d_type == DGW_JSON_TRUE;
        return DGW_OK;
    case DGW_GW_DISPATCH:
        break;
    default:
        return DGW_OK;
    }
    if (s_type == DGW_JSON_NUMBER &&
        (!dgw_json_int(s, &m->seq) || m->seq < 0))
        return bad(why, DGW_ERR_PAYLOAD,
                   "dispatch \"s\" is not a non-negative integer");
    if (s_type != DGW_JSON_NUMBER)
        m->seq = -1;
    if (m->t.n && dgw_json_key_is(m->t, "READY")) {
        m->which = DGW_GW_READY;
        return parse_ready(m, d_type, why);
    }
    if (m->t.n && dgw_json_key_is(m->t, "RESUMED"))
        m->which = DGW_GW_RESUMED;
    return DGW_OK;
}

long dgw_gw_name(const dgw_gw_msg *m, char *out, size_t cap)
{
    if (!m->t.n) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    return dgw_json_unescape(m->t, out, cap);
}
