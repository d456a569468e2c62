#include "json.h"

#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Any byte of w equal to zero / below n (n <= 128): the classic bit tricks,
 * exact as yes/no answers. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_zero(uint64_t w) { return (w - ONES) & ~w & HIGHS; }
static inline uint64_t has_less(uint64_t w, uint8_t n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

/* p points at the opening quote. Returns the byte after the closing quote. */
static const char *scan_string(const char *p, const char *end)
{
    p++;
    for (;;) {
        /* Strings are most of a payload's bytes: look at eight at a time
         * and jump straight to the first quote, backslash or control
         * character (the lowest flagged byte of the masks is exact). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t m = has_zero(w ^ (ONES * '"')) |
                         has_zero(w ^ (ONES * '\\')) | has_less(w, 0x20);
            if (m) {
                p += __builtin_ctzll(m) >> 3;
                break;
            }
            p += 8;
        }
#endif
        if (p >= end)
            return NULL;
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p + 1;
        if (ch < 0x20)
            return NULL;
        if (ch == '\\') {
            if (++p >= end)
                return NULL;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f':
            case 'n': case 'r': case 't':
                break;
            case 'u':
                if (end - p < 5)
                    return NULL;
                for (int i = 1; i <= 4; i++)
                    if (hexval(p[i]) < 0)
                        return NULL;
                p += 4;
                break;
            default:
                return NULL;
            }
        }
        p++;
    }
}

static const char *scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *scan_literal(const char *p, const char *end,
                                const char *lit, size_t n)
{
    if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
        return NULL;
    return p + n;
}

/* Scans a scalar at p; NULL if malformed. */
static const char *scan_scalar(const char *p, const char *end,
                               dgw_json_type *t)
{
    switch (*p) {
    case '"':
        *t = DGW_JSON_STRING;
        return scan_string(p, end);
    case 't':
        *t = DGW_JSON_TRUE;
        return scan_literal(p, end, "true", 4);
    case 'f':
        *t = DGW_JSON_FALSE;
        return scan_literal(p, end, "false", 5);
    case 'n':
        *t = DGW_JSON_NULL;
        return scan_literal(p, end, "null", 4);
    default:
        *t = DGW_JSON_NUMBER;
        return scan_number(p, end);
    }
}

dgw_json_type dgw_json_value(const char **pp, const char *end, dgw_span *out)
{
    /* Containers are tracked in a bit stack: 1 = object, 0 = array. */
    uint8_t stack[DGW_JSON_MAX_DEPTH / 8];
    int depth = 0;
    const char *p = skip_ws(*pp, end);
    const char *start = p;
    dgw_json_type top = DGW_JSON_INVALID;

    if (p >= end)
        return DGW_JSON_INVALID;
    for (;;) {
        /* Expect a value at p. */
        p = skip_ws(p, end);
        if (p >= end)
            return DGW_JSON_INVALID;
        if (*p == '{' || *p == '[') {
            bool obj = *p == '{';
            if (depth == 0)
                top = obj ? DGW_JSON_OBJECT : DGW_JSON_ARRAY;
            if (depth >= DGW_JSON_MAX_DEPTH)
                return DGW_JSON_INVALID;
            if (obj)
                stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else
                stack[depth / 8] &= (uint8_t)~(1u << (depth % 8));
            depth++;
            p = skip_ws(p + 1, end);
            if (p >= end)
                return DGW_JSON_INVALID;
            if (*p == (obj ? '}' : ']')) {
                p++;
                depth--;
                goto after_value;
            }
            if (obj) {
                if (*p != '"' || !(p = scan_string(p, end)))
                    return DGW_JSON_INVALID;
                p = skip_ws(p, end);
                if (p >= end || *p != ':')
                    return DGW_JSON_INVALID;
                p++;
            }
            continue;
        } else {
            dgw_json_type t;
            p = scan_scalar(p, end, &t);
            if (!p)
                return DGW_JSON_INVALID;
            if (depth == 0)
                top = t;
        }
    after_value:
        if (depth == 0)
            break;
        p = skip_ws(p, end);
        if (p >= end)
            return DGW_JSON_INVALID;
        bool in_obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            if (in_obj) {
                if (p >= end || *p != '"' || !(p = scan_string(p, end)))
                    return DGW_JSON_INVALID;
                p = skip_ws(p, end);
                if (p >= end || *p != ':')
                    return DGW_JSON_INVALID;
                p++;
            }
            continue;
        }
        if (*p == (in_obj ? '}' : ']')) {
            p++;
            depth--;
            goto after_value;
        }
        return DGW_JSON_INVALID;
    }
    out->p = start;
    out->n = (size_t)(p - start);
    *pp = p;
    return top;
}

bool dgw_json_is_value(const char *p, size_t n)
{
    const char *end = p + n;
    dgw_span v;
    if (dgw_json_value(&p, end, &v) == DGW_JSON_INVALID)
        return false;
    return skip_ws(p, end) == end;
}

bool dgw_json_iter_init(dgw_json_iter *it, dgw_span obj)
{
    it->p = obj.p;
    it->end = obj.p + obj.n;
    it->first = true;
    it->failed = false;
    it->p = skip_ws(it->p, it->end);
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
    const char *p = skip_ws(it->p, it->end);
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
        p = skip_ws(p + 1, it->end);
    }
    if (p >= it->end || *p != '"')
        goto fail;
    const char *k = p;
    p = scan_string(p, it->end);
    if (!p)
        goto fail;
    key->p = k;
    key->n = (size_t)(p - k);
    p = skip_ws(p, it->end);
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

bool dgw_json_key_is(dgw_span key, const char *name)
{
    size_t n = strlen(name);
    if (key.n == n + 2 && memcmp(key.p + 1, name, n) == 0)
        return true;
    /* Rare: an escaped key such as "\u006fp". */
    if (memchr(key.p, '\\', key.n) == NULL)
        return false;
    char tmp[64];
    long m = dgw_json_unescape(key, tmp, sizeof tmp);
    return m >= 0 && (size_t)m == n && memcmp(tmp, name, n) == 0;
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
        int h = hexval(p[i]);
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
            tmp[0] = *p++;
            k = 1;
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
