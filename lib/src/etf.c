/* etf.c - ETF decoding: one server message -> JSON text (see etf.h).
 *
 * Why hand-written and not erl_interface's ei (Debian's erlang-dev): ei's
 * decoders (ei_decode_long, ei_get_type, ei_skip_term, ...) take a buffer
 * and an index but no length, so on bytes from a server they read past the
 * end of the buffer unless every extent has been checked before, which is
 * this parser's whole job. ei's encoders take no capacity either (a size
 * pass, then a write pass), and are a few lines each here; using them
 * would tie lib/ to erlang-dev (no pkg-config file, a path that changes
 * with each OTP release: /usr/lib/erlang/lib/erl_interface-5.3) and its
 * ei_init(). So lib/ has no ei and ETF is always built. The tests take
 * the Erlang runtime itself (term_to_binary, binary_to_term) as the
 * reference, which ei would only re-implement.
 *
 * One pass, no recursion: an explicit stack of open containers, each with
 * the number of terms it still expects. Every term takes at least one
 * byte, so each count is checked against the bytes left before anything
 * is written, and the work is linear in the input. */
#include "etf.h"

#include <string.h>

#include "float_text.h"
#include "utf8.h"

typedef struct dec {
    const uint8_t *p, *end;
    dgw_mem *mem;
    dgw_buf *out;
    size_t max;
    size_t wlim; /* out->len may grow to this without a reserve */
    int err;
    const char *why;
} dec;

enum { K_TUPLE, K_LIST, K_MAP };

typedef struct frame {
    size_t left; /* elements (maps: pairs) still expected */
    uint8_t kind;
} frame;

static bool fail(dec *d, const char *why)
{
    if (d->err == DGW_OK) {
        d->err = DGW_ERR_PAYLOAD;
        d->why = why;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

/* Writes need one comparison: up to wlim, the buffer has room and the cap
 * is not reached; past it, grow() decides. */
static void set_wlim(dec *d)
{
    dgw_buf *b = d->out;
    size_t lim = d->max > SIZE_MAX - b->off ? SIZE_MAX : b->off + d->max;
    if (lim > b->cap)
        lim = b->cap;
    d->wlim = lim > b->len ? lim : b->len;
}

static bool grow(dec *d, size_t n)
{
    int r = dgw_buf_reserve(d->mem, d->out, n, d->max);
    if (r == DGW_OK) {
        set_wlim(d);
        return true;
    }
    d->err = r == DGW_ERR_NOMEM ? DGW_ERR_NOMEM : DGW_ERR_WS_TOO_LARGE;
    d->why = r == DGW_ERR_NOMEM ? "out of memory for the JSON form of an ETF "
                                  "payload"
                                : "the JSON form of an ETF payload is larger "
                                  "than max_message_size";
    return false;
}

static inline bool room(dec *d, size_t n)
{
    return n <= d->wlim - d->out->len || grow(d, n);
}

/* Where to write; room() must have been asked first. */
static inline char *at(dec *d) { return (char *)d->out->p + d->out->len; }

static inline bool put(dec *d, const void *s, size_t n)
{
    if (!room(d, n))
        return false;
    memcpy(at(d), s, n);
    d->out->len += n;
    return true;
}

static inline bool put_ch(dec *d, char c)
{
    if (!room(d, 1))
        return false;
    *at(d) = c;
    d->out->len++;
    return true;
}

static bool put_u64(dec *d, bool neg, uint64_t v, bool quoted)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char tmp[24];
    size_t i = sizeof tmp;
    if (quoted)
        tmp[--i] = '"';
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        tmp[--i] = pairs[2 * r + 1];
        tmp[--i] = pairs[2 * r];
    }
    if (v >= 10) {
        tmp[--i] = pairs[2 * v + 1];
        tmp[--i] = pairs[2 * v];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    if (neg)
        tmp[--i] = '-';
    if (quoted)
        tmp[--i] = '"';
    return put(d, tmp + i, sizeof tmp - i);
}

/* Any byte of w equal to zero / below n (n <= 128): exact for the lowest
 * flagged byte, which is all the scan below uses. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_zero(uint64_t w) { return (w - ONES) & ~w & HIGHS; }
static inline uint64_t has_less(uint64_t w, uint8_t n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

static inline bool needs_escape(uint8_t c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* 1 for the bytes a JSON string cannot hold as they are: controls, '"',
 * '\\', and (for the fast path below) anything not ASCII. */
static const uint8_t not_plain[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* True when [p, p+n) is ASCII that JSON takes as it is: the common case of
 * keys and short strings, written with one copy. */
static bool plain_ascii(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if ((w & HIGHS) || has_zero(w ^ (ONES * '"')) ||
            has_zero(w ^ (ONES * '\\')) || has_less(w, 0x20))
            return false;
    }
    uint8_t bad = 0;
    for (; i < n; i++)
        bad |= not_plain[p[i]];
    return bad == 0;
}

static bool put_escape(dec *d, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 0, 0, 0, 0, 0};
    switch (c) {
    case '"': e[1] = '"'; return put(d, e, 2);
    case '\\': e[1] = '\\'; return put(d, e, 2);
    case '\b': e[1] = 'b'; return put(d, e, 2);
    case '\f': e[1] = 'f'; return put(d, e, 2);
    case '\n': e[1] = 'n'; return put(d, e, 2);
    case '\r': e[1] = 'r'; return put(d, e, 2);
    case '\t': e[1] = 't'; return put(d, e, 2);
    default:
        memcpy(e, "\\u00", 4);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        return put(d, e, 6);
    }
}

/* A JSON string of bytes that must be UTF-8 (else fail with bad_utf8) or,
 * when bad_utf8 is NULL, Latin-1 characters to convert. */
static bool put_string(dec *d, const uint8_t *p, size_t n,
                       const char *bad_utf8)
{
    if (!room(d, n + 2))
        return false;
    char *o = at(d);
    if (plain_ascii(p, n)) {
        o[0] = '"';
        memcpy(o + 1, p, n);
        o[n + 1] = '"';
        d->out->len += n + 2;
        return true;
    }
    bool latin1 = bad_utf8 == NULL;
    if (!latin1 && !dgw_utf8_valid(p, n))
        return fail(d, bad_utf8);
    *o = '"';
    d->out->len++;
    const uint8_t *end = p + n, *run = p;
    while (p < end) {
        if (!latin1) {
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
            while (p < end && !needs_escape(*p))
                p++;
        } else {
            while (p < end && !not_plain[*p])
                p++;
        }
        if (p > run && !put(d, run, (size_t)(p - run)))
            return false;
        if (p == end)
            break;
        if (*p >= 0x80) { /* Latin-1 only: UTF-8 bytes are copied above */
            char u[2] = {(char)(0xC0 | (*p >> 6)), (char)(0x80 | (*p & 0x3F))};
            if (!put(d, u, 2))
                return false;
        } else if (!put_escape(d, *p)) {
            return false;
        }
        run = ++p;
    }
    return put_ch(d, '"');
}

/* ------------------------------------------------------------------------ */
/* Input                                                                     */

static inline size_t left(const dec *d) { return (size_t)(d->end - d->p); }

static bool need(dec *d, size_t n)
{
    return n <= left(d) || fail(d, "ETF: the term ends early (truncated)");
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Reads a length field of `width` bytes, then checks that `per` bytes per
 * counted item (plus `extra`) are there. */
static inline bool count(dec *d, unsigned width, size_t per, size_t extra,
                         size_t *out, const char *too_long)
{
    if (!need(d, width))
        return false;
    size_t c = width == 1 ? d->p[0] : width == 2 ? be16(d->p) : be32(d->p);
    d->p += width;
    size_t have = left(d);
    if (extra > have || c > (have - extra) / per)
        return fail(d, too_long);
    *out = c;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */

/* A length field of `width` bytes, then that many bytes. */
static bool take(dec *d, unsigned width, const uint8_t **s, size_t *n,
                 const char *too_long)
{
    if (!count(d, width, 1, 0, n, too_long))
        return false;
    *s = d->p;
    d->p += *n;
    return true;
}

static bool atom_bytes(dec *d, uint8_t tag, const uint8_t **s, size_t *n,
                       bool *latin1)
{
    bool small = tag == DGW_ETF_SMALL_ATOM || tag == DGW_ETF_SMALL_ATOM_UTF8;
    *latin1 = tag == DGW_ETF_ATOM || tag == DGW_ETF_SMALL_ATOM;
    if (!take(d, small ? 1 : 2, s, n,
              "ETF: an atom is longer than the bytes left"))
        return false;
    if (*n <= DGW_ETF_MAX_ATOM_CHARS)
        return true;
    /* Only past 255 bytes can it have more than 255 characters. */
    size_t chars = *n;
    if (!*latin1)
        for (size_t i = chars = 0; i < *n; i++)
            chars += ((*s)[i] & 0xC0) != 0x80;
    if (chars > DGW_ETF_MAX_ATOM_CHARS)
        return fail(d, "ETF: an atom is longer than 255 characters");
    return true;
}

static bool atom_is(const uint8_t *s, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(s, name, n) == 0;
}

/* SMALL_BIG_EXT / LARGE_BIG_EXT after the tag. */
static bool read_big(dec *d, uint8_t tag, bool *neg, uint64_t *mag)
{
    size_t n;
    if (!count(d, tag == DGW_ETF_SMALL_BIG ? 1 : 4, 1, 1, &n,
               "ETF: a big integer is longer than the bytes left"))
        return false;
    if (n > DGW_ETF_MAX_BIG_BYTES)
        return fail(d, "ETF: an integer wider than 64 bits (Discord's "
                       "largest are 64-bit snowflakes)");
    uint8_t sign = *d->p++;
    if (sign > 1)
        return fail(d, "ETF: a big integer's sign byte is not 0 or 1");
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | d->p[i];
    d->p += n;
    *neg = sign && v;
    *mag = v;
    return true;
}

static bool read_integer(dec *d, uint8_t tag, bool *neg, uint64_t *mag)
{
    if (tag == DGW_ETF_SMALL_INTEGER) {
        if (!need(d, 1))
            return false;
        *neg = false;
        *mag = *d->p++;
        return true;
    }
    if (tag == DGW_ETF_INTEGER) {
        if (!need(d, 4))
            return false;
        int32_t v = (int32_t)be32(d->p);
        d->p += 4;
        *neg = v < 0;
        *mag = v < 0 ? (uint64_t)0 - (uint64_t)(int64_t)v : (uint64_t)v;
        return true;
    }
    return read_big(d, tag, neg, mag);
}

static bool put_double(dec *d, double v)
{
    char s[DGW_DTOA_MAX];
    return put(d, s, dgw_dtoa(v, s));
}

static bool read_new_float(dec *d)
{
    if (!need(d, 8))
        return false;
    uint64_t u = (uint64_t)be32(d->p) << 32 | be32(d->p + 4);
    d->p += 8;
    if (((u >> 52) & 0x7ff) == 0x7ff)
        return fail(d, "ETF: a float is NaN or infinite (no JSON form)");
    double v;
    memcpy(&v, &u, sizeof v);
    return put_double(d, v);
}

/* FLOAT_EXT: 31 bytes of "%.20e" text, NUL-padded (term_to_binary with
 * minor_version 0). */
static bool read_old_float(dec *d)
{
    if (!need(d, 31))
        return false;
    const char *s = (const char *)d->p;
    d->p += 31;
    size_t n = 0;
    while (n < 31 && s[n])
        n++;
    for (size_t i = n; i < 31; i++)
        if (s[i])
            return fail(d, "ETF: FLOAT_EXT text is not NUL-padded");
    double v;
    if (!dgw_decimal_to_double(s, n, &v))
        return fail(d, "ETF: FLOAT_EXT text is not a finite decimal number");
    return put_double(d, v);
}

static const char *no_json_form(uint8_t tag)
{
    /* Tag numbers of erl_ext_dist: NEW_PID, PID; NEW_PORT, PORT, V4_PORT;
     * NEWER_REFERENCE, REFERENCE, NEW_REFERENCE; NEW_FUN, EXPORT, FUN;
     * DIST_HEADER, ATOM_CACHE_REF. */
    switch (tag) {
    case 88: case 103: return "ETF: a pid has no JSON form";
    case 89: case 102: case 120: return "ETF: a port has no JSON form";
    case 90: case 101: case 114: return "ETF: a reference has no JSON form";
    case 112: case 113: case 117: return "ETF: a fun has no JSON form";
    case DGW_ETF_BIT_BINARY:
        return "ETF: a bitstring (a binary with a partial last byte) has no "
               "JSON form";
    case DGW_ETF_COMPRESSED:
        return "ETF: a compressed term inside a term (only the whole "
               "message may be compressed)";
    case 68: case 82:
        return "ETF: distribution headers and atom cache references are "
               "not used on the gateway";
    default:
        return "ETF: unknown term tag";
    }
}

/* Integers: a key is always a string; a value past 2^53, which a double
 * cannot hold, is a string of its exact digits. */
static bool decode_integer(dec *d, uint8_t tag, bool key)
{
    bool neg;
    uint64_t mag;
    return read_integer(d, tag, &neg, &mag) &&
           put_u64(d, neg, mag, key || mag > (1ull << 53));
}

/* Atoms: a key is its name; a value may be null, true or false. */
static bool decode_atom(dec *d, uint8_t tag, bool key)
{
    const uint8_t *s;
    size_t n;
    bool latin1;
    if (!atom_bytes(d, tag, &s, &n, &latin1))
        return false;
    if (!key) {
        if (atom_is(s, n, "nil") || atom_is(s, n, "null"))
            return put(d, "null", 4);
        if (atom_is(s, n, "true"))
            return put(d, "true", 4);
        if (atom_is(s, n, "false"))
            return put(d, "false", 5);
    }
    return put_string(d, s, n,
                      latin1 ? NULL : "ETF: a UTF-8 atom is not UTF-8");
}

static bool decode_binary(dec *d, const char *bad_utf8)
{
    const uint8_t *s;
    size_t n;
    return take(d, 4, &s, &n, "ETF: a binary is longer than the bytes left") &&
           put_string(d, s, n, bad_utf8);
}

static bool take_byte_list(dec *d, const uint8_t **s, size_t *n)
{
    return take(d, 2, s, n, "ETF: a string is longer than the bytes left");
}

/* A term in key position: must become a JSON string. */
static bool decode_key(dec *d, uint8_t tag)
{
    switch (tag) {
    case DGW_ETF_ATOM:
    case DGW_ETF_SMALL_ATOM:
    case DGW_ETF_ATOM_UTF8:
    case DGW_ETF_SMALL_ATOM_UTF8:
        return decode_atom(d, tag, true);
    case DGW_ETF_BINARY:
        return decode_binary(d, "ETF: a binary map key is not UTF-8");
    case DGW_ETF_STRING: {
        const uint8_t *s;
        size_t n;
        return take_byte_list(d, &s, &n) && put_string(d, s, n, NULL);
    }
    case DGW_ETF_NIL:
        return put(d, "\"\"", 2);
    case DGW_ETF_SMALL_INTEGER:
    case DGW_ETF_INTEGER:
    case DGW_ETF_SMALL_BIG:
    case DGW_ETF_LARGE_BIG:
        return decode_integer(d, tag, true);
    default:
        return fail(d, "ETF: a map key that is not an atom, binary, string "
                       "or integer has no JSON form");
    }
}

/* A scalar term in value position (containers are handled by the loop). */
static bool decode_scalar(dec *d, uint8_t tag)
{
    switch (tag) {
    case DGW_ETF_SMALL_INTEGER:
    case DGW_ETF_INTEGER:
    case DGW_ETF_SMALL_BIG:
    case DGW_ETF_LARGE_BIG:
        return decode_integer(d, tag, false);
    case DGW_ETF_NEW_FLOAT:
        return read_new_float(d);
    case DGW_ETF_FLOAT:
        return read_old_float(d);
    case DGW_ETF_ATOM:
    case DGW_ETF_SMALL_ATOM:
    case DGW_ETF_ATOM_UTF8:
    case DGW_ETF_SMALL_ATOM_UTF8:
        return decode_atom(d, tag, false);
    case DGW_ETF_BINARY:
        return decode_binary(d, "ETF: a binary is not UTF-8 (JSON strings "
                                "must be)");
    default:
        return fail(d, no_json_form(tag));
    }
}

/* STRING_EXT in value position: a list of small integers. */
static bool decode_byte_list(dec *d)
{
    const uint8_t *s;
    size_t n;
    if (!take_byte_list(d, &s, &n) || !put_ch(d, '['))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (i && !put_ch(d, ','))
            return false;
        if (!put_u64(d, false, s[i], false))
            return false;
    }
    return put_ch(d, ']');
}

static bool list_tail(dec *d)
{
    if (!need(d, 1))
        return false;
    if (*d->p++ != DGW_ETF_NIL)
        return fail(d, "ETF: an improper list (its tail is not []) has no "
                       "JSON form");
    return true;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */

/* A map key and its colon. */
static bool map_key(dec *d)
{
    if (!need(d, 1))
        return false;
    uint8_t tag = *d->p++;
    return decode_key(d, tag) && put_ch(d, ':');
}

static bool decode_term(dec *d)
{
    frame st[DGW_ETF_MAX_DEPTH];
    size_t depth = 0;
    for (;;) {
        /* A value starts here (keys are read where their pair starts). */
        if (!need(d, 1))
            return false;
        uint8_t tag = *d->p++;
        size_t n = 0;
        uint8_t kind;
        switch (tag) {
        case DGW_ETF_SMALL_TUPLE:
        case DGW_ETF_LARGE_TUPLE:
            kind = K_TUPLE;
            if (!count(d, tag == DGW_ETF_SMALL_TUPLE ? 1 : 4, 1, 0, &n,
                       "ETF: a tuple has more elements than the bytes left"))
                return false;
            break;
        case DGW_ETF_LIST:
            kind = K_LIST;
            if (!count(d, 4, 1, 1, &n,
                       "ETF: a list has more elements than the bytes left"))
                return false;
            break;
        case DGW_ETF_MAP:
            kind = K_MAP;
            if (!count(d, 4, 2, 0, &n,
                       "ETF: a map has more pairs than the bytes left"))
                return false;
            break;
        case DGW_ETF_NIL:
        case DGW_ETF_STRING:
            kind = K_LIST;
            break;
        default:
            if (!decode_scalar(d, tag))
                return false;
            goto done;
        }
        /* Every container, even an empty one, is a JSON nesting level. */
        if (depth == DGW_ETF_MAX_DEPTH)
            return fail(d, "ETF: terms nested deeper than 256 levels");
        if (tag == DGW_ETF_NIL) {
            if (!put(d, "[]", 2))
                return false;
            goto done;
        }
        if (tag == DGW_ETF_STRING) {
            if (!decode_byte_list(d))
                return false;
            goto done;
        }
        if (!put_ch(d, kind == K_MAP ? '{' : '['))
            return false;
        if (n == 0) {
            if (kind == K_LIST && !list_tail(d))
                return false;
            if (!put_ch(d, kind == K_MAP ? '}' : ']'))
                return false;
            goto done;
        }
        st[depth].left = n;
        st[depth].kind = kind;
        depth++;
        if (kind == K_MAP && !map_key(d))
            return false;
        continue;
    done:
        /* A value is complete: punctuate, and close what it completes. */
        while (depth) {
            frame *f = &st[depth - 1];
            if (--f->left) {
                if (!put_ch(d, ','))
                    return false;
                if (f->kind == K_MAP && !map_key(d))
                    return false;
                break;
            }
            if (f->kind == K_LIST && !list_tail(d))
                return false;
            if (!put_ch(d, f->kind == K_MAP ? '}' : ']'))
                return false;
            depth--;
        }
        if (depth == 0)
            return true;
    }
}

static bool decode_body(dec *d)
{
    if (!decode_term(d))
        return false;
    return d->p == d->end || fail(d, "ETF: bytes after the term");
}

/* ------------------------------------------------------------------------ */

void dgw_etf_decoder_init(dgw_etf_decoder *d, dgw_mem *m)
{
    memset(d, 0, sizeof *d);
    d->mem = m;
    dgw_payload_inflater_init(&d->zin, m);
}

void dgw_etf_decoder_trim(dgw_etf_decoder *d, size_t keep_cap)
{
    dgw_buf_reset(d->mem, &d->inflated, keep_cap);
}

void dgw_etf_decoder_free(dgw_etf_decoder *d)
{
    dgw_payload_inflater_free(&d->zin);
    dgw_buf_free(d->mem, &d->inflated);
}

/* Tag 80: a 4-byte uncompressed size, then a zlib stream of the term. */
static int decode_compressed(dgw_etf_decoder *e, dec *d)
{
    if (!need(d, 4))
        return d->err;
    size_t size = be32(d->p);
    d->p += 4;
    if (size > d->max) {
        d->why = "ETF: a compressed term inflates past max_message_size";
        return DGW_ERR_INFLATE_TOO_LARGE;
    }
    dgw_buf_reset(e->mem, &e->inflated, SIZE_MAX);
    int r = dgw_payload_inflate(&e->zin, d->p, left(d), &e->inflated, size,
                                &d->why);
    if (r == DGW_ERR_INFLATE_TOO_LARGE) {
        d->why = "ETF: a compressed term inflates to more than its "
                 "declared size";
        return DGW_ERR_INFLATE;
    }
    if (r != DGW_OK)
        return r;
    if (dgw_buf_live(&e->inflated) != size) {
        d->why = "ETF: a compressed term inflates to less than its declared "
                 "size";
        return DGW_ERR_INFLATE;
    }
    /* An empty term never allocated the scratch buffer: no NULL + 0. */
    d->p = size ? e->inflated.p + e->inflated.off : (const uint8_t *)"";
    d->end = d->p + size;
    decode_body(d);
    return d->err;
}

int dgw_etf_decode(dgw_etf_decoder *e, const uint8_t *in, size_t n,
                   dgw_buf *out, size_t max, const char **why)
{
    if (n == 0)
        in = (const uint8_t *)""; /* may be NULL: no NULL + 0 below */
    dec d = {.p = in, .end = in + n, .mem = e->mem, .out = out, .max = max,
             .err = DGW_OK, .why = NULL};
    set_wlim(&d);
    size_t live = dgw_buf_live(out);
    int r;
    if (n == 0 || in[0] != DGW_ETF_VERSION) {
        d.why = "not ETF: the message does not start with version byte 131";
        r = DGW_ERR_PAYLOAD;
    } else {
        d.p++;
        if (d.p < d.end && *d.p == DGW_ETF_COMPRESSED) {
            d.p++;
            r = decode_compressed(e, &d);
        } else {
            decode_body(&d);
            r = d.err;
        }
    }
    if (r != DGW_OK) {
        out->len = out->off + live; /* growing may have moved off */
        *why = d.why;
    }
    return r;
}
