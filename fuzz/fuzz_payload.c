/* fuzz_payload - gateway payloads as text (or compressed) messages, in
 * every connection state, and the JSON scanner on its own.
 *
 * Input: [state][rest: messages separated by 0xff bytes]
 *   state % 6: 0 waiting for HELLO, 1 IDENTIFYING (after HELLO),
 *              2 CONNECTED (after READY), 3 CLOSING (we closed 4000),
 *              4 RESUMING (second connection of a session),
 *              5 IDENTIFYING with IDENTIFY held back by INVALID_SESSION
 *   state bit 3: zlib-stream (messages are compressed, binary)
 *   state bit 4: fragment every message into 7-byte frames
 * Each message is also given to the scanner: dgw_json_is_value,
 * dgw_json_value, the object iterator, dgw_json_get, dgw_json_int,
 * dgw_json_unescape and dgw_json_key_is, compared with cJSON where the two
 * must agree (RFC 8259 values are a subset of what cJSON reads; cJSON
 * refuses lone surrogate escapes, which the grammar allows, so those are
 * not compared). The UTF-8 validator and the JSON string writer are
 * checked too (round trip). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "json.h"
#include "utf8.h"

static bool span_has(dgw_span s, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= s.n; i++)
        if (memcmp(s.p + i, needle, k) == 0)
            return true;
    return false;
}

static bool tricky(dgw_span s)
{
    /* Escapes cJSON reads differently from RFC 8259: NUL and surrogates. */
    for (size_t i = 0; i + 2 < s.n; i++)
        if (s.p[i] == '\\' && s.p[i + 1] == 'u')
            return true;
    return memchr(s.p, '\0', s.n) != NULL;
}

static dgw_json_type cjson_type(const cJSON *j)
{
    if (cJSON_IsObject(j)) return DGW_JSON_OBJECT;
    if (cJSON_IsArray(j)) return DGW_JSON_ARRAY;
    if (cJSON_IsString(j)) return DGW_JSON_STRING;
    if (cJSON_IsNumber(j)) return DGW_JSON_NUMBER;
    if (cJSON_IsTrue(j)) return DGW_JSON_TRUE;
    if (cJSON_IsFalse(j)) return DGW_JSON_FALSE;
    if (cJSON_IsNull(j)) return DGW_JSON_NULL;
    return DGW_JSON_INVALID;
}

static void check_number(dgw_span v)
{
    int64_t x;
    bool ok = dgw_json_int(v, &x);
    char buf[64];
    if (v.n >= sizeof buf) {
        FZ_CHECK(!ok || v.n < 64, "huge integer accepted");
        return;
    }
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    bool integral = strspn(buf + (buf[0] == '-'), "0123456789") ==
                        strlen(buf + (buf[0] == '-')) &&
                    buf[buf[0] == '-'] != '\0';
    errno = 0;
    char *end;
    long long ref = strtoll(buf, &end, 10);
    bool fits = integral && errno == 0 && *end == '\0';
    FZ_CHECK(ok == fits, "dgw_json_int(%s) = %d, strtoll says %d", buf, ok,
             fits);
    if (ok)
        FZ_CHECK(x == ref, "dgw_json_int(%s) = %lld, strtoll %lld", buf,
                 (long long)x, ref);
}

static void check_string(dgw_span v, const cJSON *cj)
{
    char out[4096];
    long n = dgw_json_unescape(v, out, sizeof out);
    FZ_CHECK(n < (long)sizeof out, "unescape overran");
    if (n < 0)
        return;
    FZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n,
             "unescape result not NUL-terminated at %ld", n);
    if (cj && cJSON_IsString(cj) && !tricky(v))
        FZ_CHECK(strcmp(out, cj->valuestring) == 0,
                 "unescape %.*s gives \"%s\", cJSON \"%s\"", (int)v.n, v.p,
                 out, cj->valuestring);
}

static void check_object(dgw_span obj, const cJSON *cj, int depth)
{
    dgw_json_iter it;
    dgw_span k, v;
    dgw_json_type t;
    FZ_CHECK(dgw_json_iter_init(&it, obj), "iter_init refused an object");
    int count = 0;
    while (dgw_json_iter_next(&it, &k, &v, &t)) {
        FZ_CHECK(t != DGW_JSON_INVALID, "member of type INVALID");
        FZ_CHECK(k.p >= obj.p && k.p + k.n <= obj.p + obj.n &&
                     v.p >= obj.p && v.p + v.n <= obj.p + obj.n,
                 "member span outside its object");
        FZ_CHECK(dgw_json_is_value(v.p, v.n), "member value is not JSON");
        if (++count > 64)
            continue;
        char key[64];
        long kn = dgw_json_unescape(k, key, sizeof key);
        const cJSON *cv = NULL;
        if (kn > 0) {
            FZ_CHECK(dgw_json_key_is(k, key), "key_is(%.*s, %s) is false",
                     (int)k.n, k.p, key);
            dgw_span g;
            dgw_json_type gt = dgw_json_get(obj, key, &g);
            FZ_CHECK(gt != DGW_JSON_INVALID, "get(%s) misses a member", key);
            if (cj && !tricky(k)) {
                cv = cJSON_GetObjectItemCaseSensitive(cj, key);
                FZ_CHECK(cv && cjson_type(cv) == gt,
                         "get(%s): type %d, cJSON's %d", key, (int)gt,
                         cv ? (int)cjson_type(cv) : -1);
            }
            if (g.p != v.p)
                cv = NULL; /* a duplicate key: cJSON's node is the first */
        }
        if (t == DGW_JSON_NUMBER)
            check_number(v);
        else if (t == DGW_JSON_STRING)
            check_string(v, cv);
        else if (t == DGW_JSON_OBJECT && depth < 3)
            check_object(v, cv, depth + 1);
    }
    FZ_CHECK(!it.failed, "iterator failed inside a valid object");
}

static void scan_checks(const uint8_t *b, size_t n)
{
    const char *s = (const char *)b;
    bool ok = dgw_json_is_value(s, n);
    const char *pp = s;
    dgw_span span = {0};
    dgw_json_type t = dgw_json_value(&pp, s + n, &span);
    if (ok) {
        FZ_CHECK(t != DGW_JSON_INVALID, "is_value yes, value() no");
        for (const char *q = pp; q < s + n; q++)
            FZ_CHECK(*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n',
                     "is_value accepted trailing bytes");
    }
    if (t != DGW_JSON_INVALID) {
        FZ_CHECK(span.p >= s && span.n > 0 && span.p + span.n <= s + n &&
                     pp >= span.p + span.n && pp <= s + n,
                 "value span outside the input");
        FZ_CHECK(dgw_json_is_value(span.p, span.n), "span is not a value");
    }
    if (!ok)
        return;
    /* Differential: what the scanner accepts, cJSON reads, same type. */
    FZ_CHECK(fz_cjson_accepts(s, n), "scanner accepts, cJSON refuses: %.*s",
             (int)(n > 200 ? 200 : n), s);
    cJSON *cj = cJSON_ParseWithLength(s, n);
    if (cj && !span_has(span, "\\u"))
        FZ_CHECK(cjson_type(cj) == t, "type %d, cJSON's %d", (int)t,
                 (int)cjson_type(cj));
    if (t == DGW_JSON_OBJECT)
        check_object(span, cj, 0);
    else if (t == DGW_JSON_NUMBER)
        check_number(span);
    else if (t == DGW_JSON_STRING)
        check_string(span, cj);
    cJSON_Delete(cj);
}

static void utf8_checks(const uint8_t *b, size_t n)
{
    dgw_utf8 u;
    dgw_utf8_init(&u);
    bool ok = true;
    /* Incremental: chunks of 1, 2, 3... bytes. */
    for (size_t off = 0, k = 1; off < n && ok; off += k, k = k % 5 + 1) {
        size_t len = n - off < k ? n - off : k;
        ok = dgw_utf8_feed(&u, b + off, len);
    }
    ok = ok && dgw_utf8_complete(&u);
    FZ_CHECK(ok == fz_utf8_valid(b, n), "dgw_utf8 says %d, reference %d", ok,
             !ok);
}

static void writer_checks(const uint8_t *b, size_t n)
{
    if (n > 1024 || memchr(b, '\0', n) || !fz_utf8_valid(b, n))
        return;
    char in[1025], out[6 * 1024 + 3], back[1025 * 4];
    memcpy(in, b, n);
    in[n] = '\0';
    dgw_jw w;
    dgw_jw_init(&w, out, sizeof out);
    dgw_jw_str(&w, in);
    FZ_CHECK(!w.overflow, "jw_str overflowed");
    FZ_CHECK(dgw_json_is_value(out, w.len), "jw_str wrote non-JSON: %.*s",
             (int)w.len, out);
    FZ_CHECK(fz_cjson_accepts(out, w.len), "cJSON refuses jw_str output");
    long m = dgw_json_unescape((dgw_span){out, w.len}, back, sizeof back);
    FZ_CHECK(m == (long)n && memcmp(back, in, n) == 0,
             "jw_str/unescape round trip fails");
}

static void fast_tweak(dgw_config *cfg, void *u)
{
    (void)u;
    (void)cfg;
}

static bool setup(fz_peer *p, unsigned st)
{
    static const char hello[] = "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}";
    static const char ready[] =
        "{\"t\":\"READY\",\"s\":1,\"op\":0,\"d\":{\"session_id\":\"abc\","
        "\"resume_gateway_url\":\"ws://resume.test/\"}}";
    if (!fz_connect(p))
        return false;
    if (st == 0)
        return true;
    fz_send_str(p, hello);
    if (st == 1)
        return true;
    fz_send_str(p, ready);
    switch (st) {
    case 3:
        dgw_conn_close(p->c, 4000, "bye", p->now);
        fz_collect(p);
        break;
    case 4: {
        fz_eof(p);
        uint32_t wait;
        if (dgw_conn_reconnect(p->c, p->now, &wait) != DGW_OK)
            return false;
        p->now += wait;
        if (!fz_connect(p))
            return false;
        fz_send_str(p, hello);
        break;
    }
    case 5:
        fz_send_str(p, "{\"op\":9,\"d\":false}");
        break;
    default:
        break;
    }
    return dgw_conn_state(p->c) != DGW_STATE_CLOSED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t st = fz_u8(&in);

    /* The scanner alone, on each message. */
    for (size_t off = 0; off <= in.n;) {
        const uint8_t *m = in.p + off;
        const uint8_t *sep = memchr(m, 0xff, in.n - off);
        size_t n = sep ? (size_t)(sep - m) : in.n - off;
        scan_checks(m, n);
        utf8_checks(m, n);
        writer_checks(m, n);
        off += n + 1;
    }

    fz_peer p;
    fz_peer_init(&p, st & 8 ? DGW_COMPRESS_ZLIB_STREAM : DGW_COMPRESS_NONE,
                 1u << 20, fast_tweak, NULL);
    if (!p.c)
        return 0;
    if (setup(&p, st % 6)) {
        for (size_t off = 0; off <= in.n;) {
            const uint8_t *m = in.p + off;
            const uint8_t *sep = memchr(m, 0xff, in.n - off);
            size_t n = sep ? (size_t)(sep - m) : in.n - off;
            if (dgw_conn_state(p.c) == DGW_STATE_CLOSED)
                break;
            fz_send_payload(&p, m, n, st & 16 ? 7 : 0);
            off += n + 1;
        }
        fz_advance(&p, 50000);
    }
    fz_peer_free(&p);
    return 0;
}
