/* json.c - reading members of scanned JSON (iterator, lookup by name),
 * numbers and string unescaping, and the bounded writer. The scan itself is
 * in json_scan.c and its kernels, lookup by path in json_path.c. */
#include "json.h"

#include <string.h>

#include "json_scan.h"

bool dgw_json_iter_init(dgw_json_iter *it, dgw_span obj)
{
    it->p = obj.p;
    it->end = obj.p + obj.n;
    it->first = true;
    it->failed = false;
    it->p = dgw_js_skip_ws(it->p, it->end);
    if (it->p >= it->end || *it->p != '{') {
        it->failed = true;
        return false;
    }
    it->p++;
    return true;
}

bool dgw_json_iter_next(dgw_json_iter *it, dgw_span *key, dgw_span *val,
                        dgw_json_type *type)
{
    if (it->failed)
        return false;
    const char *p = dgw_js_skip_ws(it->p, it->end);
    if (p >= it->end)
        goto fail;
    if (*p == '}') {
        it->p = p + 1;
        it->failed = false;
        return false;
    }
    if (!it->first) {
        if (*p != ',')
            goto fail;
        p = dgw_js_skip_ws(p + 1, it->end);
    }
    if (p >= it->end || *p != '"' ||
        dgw_json_value(&p, it->end, key) != DGW_JSON_STRING)
        goto fail;
    p = dgw_js_skip_ws(p, it->end);
    if (p >= it->end || *p != ':')
        goto fail;
    p++;
    *type = dgw_json_value(&p, it->end, val);
    if (*type == DGW_JSON_INVALID)
        goto fail;
    it->p = p;
    it->first = false;
    return true;
fail:
    it->failed = true;
    return false;
}

bool dgw_json_key_is_n(dgw_span key, const char *name, size_t n)
{
    if (key.n == n + 2 && memcmp(key.p + 1, name, n) == 0)
        return true;
    /* Rare: an escaped key such as "\u006fp". */
    if (memchr(key.p, '\\', key.n) == NULL)
        return false;
    char tmp[64];
    long m = dgw_json_unescape(key, tmp, sizeof tmp);
    return m >= 0 && (size_t)m == n && memcmp(tmp, name, n) == 0;
}

bool dgw_json_key_is(dgw_span key, const char *name)
{
    return dgw_json_key_is_n(key, name, strlen(name));
}

dgw_json_type dgw_json_get(dgw_span obj, const char *name, dgw_span *val)
{
    dgw_json_iter it;
    dgw_span k, v;
    dgw_json_type t;
    if (!dgw_json_iter_init(&it, obj))
        return DGW_JSON_INVALID;
    while (dgw_json_iter_next(&it, &k, &v, &t)) {
        if (dgw_json_key_is(k, name)) {
            *val = v;
            return t;
        }
    }
    return DGW_JSON_INVALID;
}

bool dgw_json_int(dgw_span v, int64_t *out)
{
    const char *p = v.p, *end = v.p + v.n;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end)
        return false;
    uint64_t acc = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (acc > (limit - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return true;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool read_hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = dgw_js_hexval(p[i]);
        if (h < 0)
            return false;
        *v = (*v << 4) | (uint32_t)h;
    }
    return true;
}

long dgw_json_unescape(dgw_span s, char *out, size_t cap)
{
    if (s.n < 2 || s.p[0] != '"' || s.p[s.n - 1] != '"' || cap == 0)
        return -1;
    const char *p = s.p + 1, *end = s.p + s.n - 1;
    size_t o = 0;
    while (p < end) {
        char tmp[4];
        size_t k;
        if (*p != '\\') {
            /* The run up to the next escape, in one copy. */
            const char *q = memchr(p, '\\', (size_t)(end - p));
            size_t run = (size_t)((q ? q : end) - p);
            if (run >= cap - o)
                return -1;
            memcpy(out + o, p, run);
            o += run;
            p += run;
            continue;
        } else {
            if (++p >= end)
                return -1;
            char e = *p++;
            switch (e) {
            case '"': tmp[0] = '"'; k = 1; break;
            case '\\': tmp[0] = '\\'; k = 1; break;
            case '/': tmp[0] = '/'; k = 1; break;
            case 'b': tmp[0] = '\b'; k = 1; break;
            case 'f': tmp[0] = '\f'; k = 1; break;
            case 'n': tmp[0] = '\n'; k = 1; break;
            case 'r': tmp[0] = '\r'; k = 1; break;
            case 't': tmp[0] = '\t'; k = 1; break;
            case 'u': {
                uint32_t cp, lo;
                if (end - p < 4 || !read_hex4(p, &cp))
                    return -1;
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                        !read_hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return -1;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return -1;
                }
                if (cp == 0)
                    return -1; /* would truncate a C string */
                k = put_utf8(tmp, cp);
                break;
            }
            default:
                return -1;
            }
        }
        if (o + k >= cap)
            return -1;
        memcpy(out + o, tmp, k);
        o += k;
    }
    out[o] = '\0';
    return (long)o;
}

void dgw_jw_init(dgw_jw *w, char *buf, size_t cap)
{
    w->p = buf;
    w->len = 0;
    w->cap = cap;
    w->overflow = false;
}

void dgw_jw_raw(dgw_jw *w, const char *s, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

void dgw_jw_lit(dgw_jw *w, const char *s)
{
    dgw_jw_raw(w, s, strlen(s));
}

void dgw_jw_str(dgw_jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    dgw_jw_raw(w, "\"", 1);
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        char e[6];
        if (*q == '"' || *q == '\\') {
            e[0] = '\\';
            e[1] = (char)*q;
            dgw_jw_raw(w, e, 2);
        } else if (*q < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[*q >> 4];
            e[5] = hex[*q & 15];
            dgw_jw_raw(w, e, 6);
        } else {
            dgw_jw_raw(w, (const char *)q, 1);
        }
    }
    dgw_jw_raw(w, "\"", 1);
}

void dgw_jw_int(dgw_jw *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    dgw_jw_raw(w, tmp + i, sizeof tmp - i);
}

void dgw_jw_bool(dgw_jw *w, bool v)
{
    dgw_jw_lit(w, v ? "true" : "false");
}
