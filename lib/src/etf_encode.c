/* etf_encode.c - one JSON value -> an ETF message (see etf.h).
 *
 * One pass over the JSON text, writing the term as it goes: a container's
 * count is written as a placeholder and patched when it closes, so the
 * text is read once and nothing is allocated. Scalars are scanned with
 * json.h's dgw_json_value (the grammar lives in one place); strings are
 * unescaped here because dgw_json_unescape stops at \u0000, which a binary
 * may hold. */
#include "etf.h"

#include <string.h>

#include "float_text.h"
#include "utf8.h"

typedef struct enc {
    uint8_t *out;
    size_t len, cap;
    unsigned flags;
    int err;
    const char *why;
} enc;

static bool bad(enc *e, const char *why)
{
    e->err = DGW_ERR_INVALID_ARGUMENT;
    e->why = why;
    return false;
}

static bool emit(enc *e, const void *p, size_t n)
{
    if (n > e->cap - e->len) {
        e->err = DGW_ERR_SEND_TOO_LARGE;
        e->why = "the ETF encoding is larger than the cap";
        return false;
    }
    memcpy(e->out + e->len, p, n);
    e->len += n;
    return true;
}

static bool emit_byte(enc *e, uint8_t b) { return emit(e, &b, 1); }

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A tag with a 4-byte count to patch later; *at gets the count's offset. */
static bool emit_counted(enc *e, uint8_t tag, size_t *at)
{
    uint8_t h[5] = {tag, 0, 0, 0, 0};
    *at = e->len + 1;
    return emit(e, h, 5);
}

static bool emit_atom(enc *e, const char *name)
{
    uint8_t h[2] = {DGW_ETF_SMALL_ATOM, (uint8_t)strlen(name)};
    return emit(e, h, 2) && emit(e, name, h[1]);
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                   */

/* term_to_binary's choice: 0..255 SMALL_INTEGER, 32-bit INTEGER, else
 * SMALL_BIG with the fewest bytes. */
static bool emit_integer(enc *e, bool neg, uint64_t mag)
{
    if (!neg && mag <= 255) {
        uint8_t b[2] = {DGW_ETF_SMALL_INTEGER, (uint8_t)mag};
        return emit(e, b, 2);
    }
    if (neg ? mag <= 0x80000000u : mag <= 0x7fffffffu) {
        uint8_t b[5] = {DGW_ETF_INTEGER};
        put_be32(b + 1, (uint32_t)(neg ? 0 - mag : mag));
        return emit(e, b, 5);
    }
    uint8_t b[3 + 8] = {DGW_ETF_SMALL_BIG, 0, neg};
    size_t n = 0;
    for (; mag; mag >>= 8)
        b[3 + n++] = (uint8_t)mag;
    b[1] = (uint8_t)n;
    return emit(e, b, 3 + n);
}

static bool emit_number(enc *e, dgw_span v)
{
    if (memchr(v.p, '.', v.n) || memchr(v.p, 'e', v.n) ||
        memchr(v.p, 'E', v.n)) {
        double x;
        if (!dgw_decimal_to_double(v.p, v.n, &x))
            return bad(e, "a number is beyond the range of a double");
        uint64_t u;
        memcpy(&u, &x, sizeof u);
        uint8_t b[9] = {DGW_ETF_NEW_FLOAT};
        put_be32(b + 1, (uint32_t)(u >> 32));
        put_be32(b + 5, (uint32_t)u);
        return emit(e, b, 9);
    }
    const char *p = v.p, *end = v.p + v.n;
    bool neg = *p == '-';
    p += neg;
    uint64_t mag = 0;
    for (; p < end; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (mag > (UINT64_MAX - digit) / 10)
            return bad(e, "an integer is beyond 64 bits (ETF here carries "
                          "at most 64-bit magnitudes, like Discord's "
                          "snowflakes)");
        mag = mag * 10 + digit;
    }
    return emit_integer(e, neg && mag, mag);
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10; /* the scanner let only hex digits through */
}

static uint32_t hex4(const char *p)
{
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
                      hexval(p[2]) << 4 | hexval(p[3]));
}

static bool emit_utf8(enc *e, uint32_t cp)
{
    uint8_t o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (uint8_t)(0xF0 | cp >> 18);
        o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return emit(e, o, n);
}

/* A string span (with its quotes, grammar already checked) as a binary. */
static bool emit_binary(enc *e, dgw_span s)
{
    const char *p = s.p + 1, *end = s.p + s.n - 1;
    if (!dgw_utf8_valid(p, (size_t)(end - p)))
        return bad(e, "a string is not UTF-8");
    size_t at;
    if (!emit_counted(e, DGW_ETF_BINARY, &at))
        return false;
    size_t start = e->len;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        const char *stop = bs ? bs : end;
        if (!emit(e, p, (size_t)(stop - p)))
            return false;
        if (!bs)
            break;
        p = bs + 1;
        char c = *p++;
        uint32_t cp;
        switch (c) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            cp = hex4(p);
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return bad(e, "a string has a lone low surrogate escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                    (lo = hex4(p + 2)) < 0xDC00 || lo > 0xDFFF)
                    return bad(e, "a string has a lone high surrogate "
                                  "escape");
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default: cp = (uint8_t)c; break; /* " \ / */
        }
        if (!emit_utf8(e, cp))
            return false;
    }
    size_t n = e->len - start;
    if (n > UINT32_MAX)
        return bad(e, "a string is longer than a binary can be");
    put_be32(e->out + at, (uint32_t)n);
    return true;
}

typedef struct open_container {
    size_t count_at; /* offset of the count (2 bytes as STRING_EXT, else 4) */
    size_t count;
    bool object;
    bool bytes;      /* an array still written as STRING_EXT */
} open_container;

/* Arrays start as STRING_EXT, the form term_to_binary gives a list of
 * integers 0..255 (the same term for Erlang, at half the size); the first
 * element that is not such an integer widens what is written so far into
 * a LIST_EXT of SMALL_INTEGER_EXTs, in place: the array is the last thing
 * in the output, and every byte only moves right. */
static bool widen(enc *e, open_container *c)
{
    size_t start = c->count_at - 1, k = c->count;
    if (2 + k > e->cap - e->len) {
        e->err = DGW_ERR_SEND_TOO_LARGE;
        e->why = "the ETF encoding is larger than the cap";
        return false;
    }
    uint8_t *o = e->out + start;
    for (size_t i = k; i-- > 0;) {
        o[5 + 2 * i + 1] = o[3 + i];
        o[5 + 2 * i] = DGW_ETF_SMALL_INTEGER;
    }
    o[0] = DGW_ETF_LIST;
    e->len += 2 + k;
    c->bytes = false;
    return true;
}

/* A value in a STRING_EXT array: one byte if it is an integer 0..255 (and
 * the array still fits STRING_EXT's 16-bit count), else widen. *done says
 * the value was written. */
static bool byte_element(enc *e, open_container *c, const char *p,
                         const char *end, const char **next, bool *done)
{
    *done = false;
    if (*p != '{' && *p != '[' && c->count < 65535) {
        dgw_span v;
        const char *q = p;
        if (dgw_json_value(&q, end, &v) == DGW_JSON_NUMBER &&
            !memchr(v.p, '.', v.n) && !memchr(v.p, 'e', v.n) &&
            !memchr(v.p, 'E', v.n) && v.n <= 3 &&
            (v.p[0] != '-' || (v.n == 2 && v.p[1] == '0'))) {
            unsigned b = 0;
            for (size_t i = v.p[0] == '-'; i < v.n; i++)
                b = b * 10 + (unsigned)(v.p[i] - '0');
            if (b <= 255) {
                *next = q;
                *done = true;
                return emit_byte(e, (uint8_t)b);
            }
        }
    }
    return widen(e, c);
}

/* DGW_ETF_SNOWFLAKE_INTEGERS: a string of 17 to 20 digits, no leading
 * zero, that fits 64 bits, becomes that integer. 17 digits is past 2^53,
 * so the decoder renders it as the same string again. */
static bool emit_string_value(enc *e, dgw_span s)
{
    size_t n = s.n - 2;
    if ((e->flags & DGW_ETF_SNOWFLAKE_INTEGERS) && n >= 17 && n <= 20 &&
        s.p[1] != '0') {
        uint64_t v = 0;
        size_t i;
        for (i = 1; i <= n; i++) {
            unsigned digit = (unsigned)(s.p[i] - '0');
            if (digit > 9 || v > (UINT64_MAX - digit) / 10)
                break;
            v = v * 10 + digit;
        }
        if (i > n)
            return emit_integer(e, false, v);
    }
    return emit_binary(e, s);
}

/* DGW_ETF_ATOM_KEYS: the binary just written becomes an atom, in place,
 * when it can be one (at most 255 characters). An ASCII name is a
 * SMALL_ATOM_EXT, as Erlang before OTP 26 writes it and as Discord's own
 * erlpack (which reads no UTF-8 atom tags) needs; others are UTF-8 atoms. */
static void binary_to_atom(enc *e, size_t at)
{
    uint8_t *b = e->out + at;
    size_t n = e->len - at - 5, chars = 0;
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        chars += (b[5 + i] & 0xC0) != 0x80;
        ascii &= b[5 + i] < 0x80;
    }
    if (chars > DGW_ETF_MAX_ATOM_CHARS)
        return;
    size_t head = n <= 255 ? 2 : 3;
    if (head == 2) {
        b[0] = ascii ? DGW_ETF_SMALL_ATOM : DGW_ETF_SMALL_ATOM_UTF8;
        b[1] = (uint8_t)n;
    } else {
        b[0] = DGW_ETF_ATOM_UTF8;
        b[1] = (uint8_t)(n >> 8);
        b[2] = (uint8_t)n;
    }
    memmove(b + head, b + 5, n);
    e->len -= 5 - head;
}

/* ------------------------------------------------------------------------ */
/* Duplicate keys                                                            */

/* Skips one term this encoder wrote (so its shape is known good). */
static const uint8_t *skip_own_term(const uint8_t *p)
{
    size_t pending = 1;
    while (pending--) {
        uint8_t tag = *p++;
        switch (tag) {
        case DGW_ETF_SMALL_INTEGER: p += 1; break;
        case DGW_ETF_INTEGER: p += 4; break;
        case DGW_ETF_NEW_FLOAT: p += 8; break;
        case DGW_ETF_SMALL_BIG: p += 1 + 1 + p[0]; break;
        case DGW_ETF_SMALL_ATOM:
        case DGW_ETF_SMALL_ATOM_UTF8: p += 1 + p[0]; break;
        case DGW_ETF_ATOM_UTF8: p += 2 + ((size_t)p[0] << 8 | p[1]); break;
        case DGW_ETF_BINARY: {
            uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                         (uint32_t)p[2] << 8 | p[3];
            p += 4 + n;
            break;
        }
        case DGW_ETF_NIL: break;
        case DGW_ETF_STRING: p += 2 + ((size_t)p[0] << 8 | p[1]); break;
        case DGW_ETF_LIST:
        case DGW_ETF_MAP: {
            size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
                       (size_t)p[2] << 8 | p[3];
            p += 4;
            pending += tag == DGW_ETF_MAP ? 2 * n : n + 1;
            break;
        }
        }
    }
    return p;
}

/* A key this encoder wrote (a binary, or an atom with DGW_ETF_ATOM_KEYS):
 * its bytes; returns where its value starts. */
static const uint8_t *key_bytes(const uint8_t *k, const uint8_t **s, size_t *n)
{
    switch (k[0]) {
    case DGW_ETF_SMALL_ATOM:
    case DGW_ETF_SMALL_ATOM_UTF8:
        *n = k[1];
        *s = k + 2;
        break;
    case DGW_ETF_ATOM_UTF8:
        *n = (size_t)k[1] << 8 | k[2];
        *s = k + 3;
        break;
    default:
        *n = (size_t)k[1] << 24 | (size_t)k[2] << 16 | (size_t)k[3] << 8 | k[4];
        *s = k + 5;
        break;
    }
    return *s + *n;
}

static bool same_key(const uint8_t *a, const uint8_t *b)
{
    const uint8_t *sa, *sb;
    size_t na, nb;
    key_bytes(a, &sa, &na);
    key_bytes(b, &sb, &nb);
    return na == nb && memcmp(sa, sb, na) == 0;
}

static const uint8_t *next_key(const uint8_t *k)
{
    const uint8_t *s;
    size_t n;
    return skip_own_term(key_bytes(k, &s, &n));
}

/* Keys are compared pairwise up to this many, hashed above it. The table
 * (4 KiB of stack) holds what the 4096-byte cap allows (682 pairs at
 * most); larger maps, under larger caps, fall back to pairwise. */
#define PAIRWISE_MAX 16
#define KEY_SLOTS 1024

/* Erlang refuses a map with a repeated key, and Discord closes with 4002
 * on what it cannot decode: say so here instead. body is the offset of
 * the map's first key. */
static bool unique_keys(enc *e, size_t body, size_t pairs)
{
    static const char dup[] = "an object has a duplicate key (an Erlang map "
                              "cannot)";
    const uint8_t *k = e->out + body;
    if (pairs > PAIRWISE_MAX && pairs <= KEY_SLOTS / 4 * 3 &&
        e->len <= UINT32_MAX) {
        uint32_t slot[KEY_SLOTS];
        memset(slot, 0xff, sizeof slot);
        for (size_t i = 0; i < pairs; i++) {
            const uint8_t *ks;
            size_t n;
            key_bytes(k, &ks, &n);
            uint32_t h = 2166136261u; /* FNV-1a */
            for (size_t j = 0; j < n; j++)
                h = (h ^ ks[j]) * 16777619u;
            for (h &= KEY_SLOTS - 1; slot[h] != UINT32_MAX;
                 h = (h + 1) & (KEY_SLOTS - 1))
                if (same_key(k, e->out + slot[h]))
                    return bad(e, dup);
            slot[h] = (uint32_t)(k - e->out);
            k = next_key(k);
        }
        return true;
    }
    for (size_t i = 0; i + 1 < pairs; i++) {
        const uint8_t *next = next_key(k);
        for (const uint8_t *o = next, *end = e->out + e->len; o < end;
             o = next_key(o))
            if (same_key(k, o))
                return bad(e, dup);
        k = next;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* An object key and its colon; p is past the '{' or ','. */
static const char *key(enc *e, const char *p, const char *end)
{
    dgw_span s;
    p = skip_ws(p, end);
    if (p >= end || *p != '"' ||
        dgw_json_value(&p, end, &s) != DGW_JSON_STRING) {
        bad(e, "not JSON: an object key is not a string");
        return NULL;
    }
    size_t at = e->len;
    if (!emit_binary(e, s))
        return NULL;
    if (e->flags & DGW_ETF_ATOM_KEYS)
        binary_to_atom(e, at);
    p = skip_ws(p, end);
    if (p >= end || *p != ':') {
        bad(e, "not JSON: no ':' after an object key");
        return NULL;
    }
    return p + 1;
}

static bool encode(enc *e, const char *p, const char *end)
{
    open_container st[DGW_ETF_MAX_DEPTH];
    size_t depth = 0;
    if (!emit_byte(e, DGW_ETF_VERSION))
        return false;
    for (;;) {
        /* A value starts at p. */
        p = skip_ws(p, end);
        if (p >= end)
            return bad(e, "not JSON: a value is missing");
        if (depth && st[depth - 1].bytes) {
            bool written;
            if (!byte_element(e, &st[depth - 1], p, end, &p, &written))
                return false;
            if (written)
                goto done;
        }
        if (*p == '{' || *p == '[') {
            bool object = *p == '{';
            if (depth == DGW_ETF_MAX_DEPTH)
                return bad(e, "JSON nested deeper than 256 levels");
            p = skip_ws(p + 1, end);
            if (p < end && *p == (object ? '}' : ']')) {
                p++;
                if (object ? !emit(e, (uint8_t[]){DGW_ETF_MAP, 0, 0, 0, 0}, 5)
                           : !emit_byte(e, DGW_ETF_NIL))
                    return false;
                goto done;
            }
            open_container *c = &st[depth++];
            c->object = object;
            c->bytes = !object;
            c->count = 0;
            if (object ? !emit_counted(e, DGW_ETF_MAP, &c->count_at)
                       : !emit(e, (uint8_t[]){DGW_ETF_STRING, 0, 0}, 3))
                return false;
            if (!object)
                c->count_at = e->len - 2;
            if (object && !(p = key(e, p, end)))
                return false;
            continue;
        }
        dgw_span v;
        switch (dgw_json_value(&p, end, &v)) {
        case DGW_JSON_STRING:
            if (!emit_string_value(e, v))
                return false;
            break;
        case DGW_JSON_NUMBER:
            if (!emit_number(e, v))
                return false;
            break;
        case DGW_JSON_TRUE:
            if (!emit_atom(e, "true"))
                return false;
            break;
        case DGW_JSON_FALSE:
            if (!emit_atom(e, "false"))
                return false;
            break;
        case DGW_JSON_NULL:
            if (!emit_atom(e, "nil"))
                return false;
            break;
        default:
            return bad(e, "not JSON: a value is malformed");
        }
    done:
        /* A value is complete: what follows it? */
        while (depth) {
            open_container *c = &st[depth - 1];
            c->count++;
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p++;
                if (c->object && !(p = key(e, p, end)))
                    return false;
                break;
            }
            if (p >= end || *p != (c->object ? '}' : ']'))
                return bad(e, "not JSON: a ',' or the container's end is "
                              "missing");
            p++;
            if (c->bytes) {
                e->out[c->count_at] = (uint8_t)(c->count >> 8);
                e->out[c->count_at + 1] = (uint8_t)c->count;
            } else {
                if (c->count > UINT32_MAX)
                    return bad(e, "a container has more than 2^32-1 "
                                  "elements");
                put_be32(e->out + c->count_at, (uint32_t)c->count);
                if (c->object ? !unique_keys(e, c->count_at + 4, c->count)
                              : !emit_byte(e, DGW_ETF_NIL))
                    return false;
            }
            depth--;
        }
        if (depth == 0)
            break;
    }
    if (skip_ws(p, end) != end)
        return bad(e, "not JSON: bytes after the value");
    return true;
}

int dgw_etf_encode(const char *json, size_t n, unsigned flags, uint8_t *out,
                   size_t cap, size_t *len, const char **why)
{
    enc e = {.out = out, .len = 0, .cap = cap, .flags = flags, .err = DGW_OK,
             .why = NULL};
    if (n == 0)
        json = ""; /* may be NULL: no NULL + 0 below */
    if (!encode(&e, json, json + n)) {
        *why = e.why;
        return e.err;
    }
    *len = e.len;
    return DGW_OK;
}
