/* json_path.c - reading a value of an event's "d" by path, without a tree.
 *
 * The bytes were scanned (validated) when the event was made, so this only
 * finds where values end: a member's name is compared, its value skipped
 * unless the path goes into it. Skipping looks for the next byte that
 * matters (a quote or backslash in a string; a quote or bracket in a
 * container) 16 bytes at a time with SSE2 where the compiler has it as a
 * baseline (x86-64), else 8 at a time in a 64-bit word. Nothing is ever
 * read past the end of d, whatever it holds. */
#include <string.h>

#include "json.h"
#include "json_scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit of each byte of w that equals c (exact, no false positives). */
static inline uint64_t eq_bytes(uint64_t w, uint8_t c)
{
    uint64_t x = w ^ (ONES * c);
    return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}

/* The index of the first flagged byte of a non-zero word mask. */
static inline unsigned first_byte(uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (unsigned)__builtin_ctzll(m) >> 3;
#else
    return (unsigned)__builtin_clzll(m) >> 3;
#endif
}

/* In strings, a quote or a backslash matters. */
static inline bool string_byte(char c) { return c == '"' || c == '\\'; }

static inline uint64_t string_word(uint64_t w)
{
    return eq_bytes(w, '"') | eq_bytes(w, '\\');
}

/* In containers, quotes and brackets ('[' ']' are '{' '}' without the 0x20
 * bit). */
static inline bool nest_byte(char c)
{
    return c == '"' || (c | 0x20) == '{' || (c | 0x20) == '}';
}

static inline uint64_t nest_word(uint64_t w)
{
    uint64_t w20 = w | (ONES * 0x20);
    return eq_bytes(w, '"') | eq_bytes(w20, '{') | eq_bytes(w20, '}');
}

/* The first byte at or after p that matters, in a string or (nest) in a
 * container, or end. Inlined with a constant `nest`: two loops. */
static inline const char *to_byte(const char *p, const char *end, bool nest)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
    const __m128i lower = _mm_set1_epi8(0x20);
    const __m128i ob = _mm_set1_epi8('{'), cb = _mm_set1_epi8('}');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i v20 = _mm_or_si128(v, lower);
        __m128i other = nest ? _mm_or_si128(_mm_cmpeq_epi8(v20, ob),
                                            _mm_cmpeq_epi8(v20, cb))
                             : _mm_cmpeq_epi8(v, b);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, q), other));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t w, m;
        memcpy(&w, p, 8);
        if ((m = nest ? nest_word(w) : string_word(w)) != 0)
            return p + first_byte(m);
        p += 8;
    }
    while (p < end && !(nest ? nest_byte(*p) : string_byte(*p)))
        p++;
    return p;
}

/* p at an opening quote: the byte after the closing one, or NULL.
 * *escaped is set when the string holds a backslash. */
static inline const char *skip_string(const char *p, const char *end,
                                      bool *escaped)
{
    p++;
    for (;;) {
        p = to_byte(p, end, false);
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        *escaped = true;
        if (end - p < 2)
            return NULL;
        p += 2; /* the escaped byte cannot end the string */
    }
}

/* Bytes that end a number or literal. */
static const bool atom_end[256] = {
    [','] = true, ['}'] = true, [']'] = true, [' '] = true, ['\t'] = true,
    ['\n'] = true, ['\r'] = true,
};

/* p at a value: the byte after it, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    bool escaped;
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end, &escaped);
    if (*p != '{' && *p != '[') {
        while (p < end && !atom_end[(uint8_t)*p])
            p++;
        return p;
    }
    size_t depth = 0;
    for (;;) {
        p = to_byte(p, end, true);
        if (p >= end)
            return NULL;
        if (*p == '"') {
            if (!(p = skip_string(p, end, &escaped)))
                return NULL;
            continue;
        }
        if ((*p | 0x20) == '{')
            depth++;
        else if (--depth == 0)
            return p + 1;
        p++;
    }
}

/* dgw_js_skip_ws, first testing the common case: no white space at all
 * (every byte that is white space is <= ' '). */
static inline const char *skip_ws(const char *p, const char *end)
{
    if (p < end && (unsigned char)*p > ' ')
        return p;
    return dgw_js_skip_ws(p, end);
}

/* memcmp(a, b, n) == 0 for the short names of a path, without a call. */
static inline bool same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* A path segment of digits as an index; false if it is not one. */
static bool segment_index(const char *s, size_t n, size_t *idx)
{
    if (n == 0 || n > 9)
        return false;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dgw_js_digit(s[i]))
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *idx = v;
    return true;
}

/* The lookups of one call: up to DGW_JSON_PATHS_MAX paths, each with a
 * cursor at its next segment, walked together in one pass over d. */
typedef struct lookup {
    const char *seg[DGW_JSON_PATHS_MAX]; /* each path's next segment */
    size_t seg_n[DGW_JSON_PATHS_MAX];    /* its length */
    size_t seg_idx[DGW_JSON_PATHS_MAX];  /* its index, or SIZE_MAX */
    dgw_span *out;
    dgw_json_type *type;
    uint64_t pending;                    /* paths not found yet */
} lookup;

/* The length of segment s (up to the next dot or the end). */
static inline size_t seg_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != '.')
        n++;
    return n;
}

/* Puts path i's cursor at segment s. */
static void set_segment(lookup *l, unsigned i, const char *s)
{
    l->seg[i] = s;
    l->seg_n[i] = seg_len(s);
    if (!segment_index(s, l->seg_n[i], &l->seg_idx[i]))
        l->seg_idx[i] = SIZE_MAX;
}

/* Moves the paths in `set` past their current segment; those that end
 * there are returned (their value is the one at hand). */
static uint64_t advance(lookup *l, uint64_t set, uint64_t *deeper)
{
    uint64_t ends = 0;
    *deeper = 0;
    for (uint64_t b = set; b; b &= b - 1) {
        unsigned i = (unsigned)__builtin_ctzll(b);
        const char *s = l->seg[i] + l->seg_n[i];
        if (*s == '.') {
            set_segment(l, i, s + 1);
            *deeper |= 1ull << i;
        } else {
            ends |= 1ull << i;
        }
    }
    return ends;
}

static const char *walk(lookup *l, const char *p, const char *end,
                        uint64_t active, int depth);

/* The value at p, for the paths in `ends` (found here) and `deeper` (go
 * on inside it): the byte after it, or NULL (malformed, or all found). */
static const char *visit(lookup *l, const char *p, const char *end,
                         uint64_t ends, uint64_t deeper, int depth)
{
    const char *q = deeper ? walk(l, p, end, deeper, depth + 1)
                           : skip_value(p, end);
    if (!q)
        return NULL;
    for (uint64_t b = ends; b; b &= b - 1) {
        unsigned i = (unsigned)__builtin_ctzll(b);
        l->out[i] = (dgw_span){p, (size_t)(q - p)};
        l->type[i] = q > p ? dgw_js_type_of(*p) : DGW_JSON_INVALID;
    }
    l->pending &= ~ends;
    return l->pending ? q : NULL;
}

/* p at a value, `active` the paths whose next segment names a member or
 * element of it. Returns the byte after the value, or NULL: malformed, or
 * every path found (l->pending == 0: no need to read further). */
static const char *walk(lookup *l, const char *p, const char *end,
                        uint64_t active, int depth)
{
    if (p >= end)
        return NULL;
    if (depth > DGW_JSON_MAX_DEPTH || (*p != '{' && *p != '['))
        return skip_value(p, end); /* a scalar has no members */
    bool obj = *p == '{';
    p = skip_ws(p + 1, end);
    if (p < end && *p == (obj ? '}' : ']'))
        return p + 1;
    for (size_t idx = 0;; idx++) {
        uint64_t hits = 0;
        if (p >= end)
            return NULL;
        if (obj) {
            if (p >= end || *p != '"')
                return NULL;
            const char *k = p;
            bool escaped = false;
            if (!(p = skip_string(p, end, &escaped)))
                return NULL;
            dgw_span key = {k, (size_t)(p - k)};
            for (uint64_t b = active; b; b &= b - 1) {
                unsigned i = (unsigned)__builtin_ctzll(b);
                size_t n = l->seg_n[i];
                if (escaped ? dgw_json_key_is_n(key, l->seg[i], n)
                            : key.n == n + 2 && same(k + 1, l->seg[i], n))
                    hits |= 1ull << i;
            }
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end)
                return NULL;
        } else {
            for (uint64_t b = active; b; b &= b - 1) {
                unsigned i = (unsigned)__builtin_ctzll(b);
                if (l->seg_idx[i] == idx)
                    hits |= 1ull << i;
            }
        }
        if (hits) {
            active &= ~hits; /* the first match wins */
            uint64_t deeper, ends = advance(l, hits, &deeper);
            p = visit(l, p, end, ends, deeper, depth);
        } else {
            p = skip_value(p, end);
        }
        if (!p)
            return NULL;
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == (obj ? '}' : ']'))
            return p + 1;
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
}

size_t dgw_json_paths(dgw_span d, const char *const *paths, size_t n,
                      dgw_span *out, dgw_json_type *types)
{
    lookup l; /* not zeroed: only the first n cursors are ever read */
    l.out = out;
    l.type = types;
    for (size_t i = 0; i < n; i++) {
        out[i] = (dgw_span){NULL, 0};
        types[i] = DGW_JSON_INVALID;
    }
    if (n > DGW_JSON_PATHS_MAX)
        n = DGW_JSON_PATHS_MAX;
    uint64_t top = 0, active = 0;
    for (size_t i = 0; i < n; i++) {
        set_segment(&l, (unsigned)i, paths[i]);
        if (paths[i][0] == '\0')
            top |= 1ull << i; /* "" is d itself */
        else
            active |= 1ull << i;
    }
    l.pending = top | active;
    const char *end = d.p + d.n;
    const char *p = skip_ws(d.p, end);
    if (p < end && l.pending)
        visit(&l, p, end, top, active, 0);
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        found += types[i] != DGW_JSON_INVALID;
    return found;
}

dgw_json_type dgw_json_path(dgw_span d, const char *path, dgw_span *out)
{
    dgw_json_type t;
    dgw_json_paths(d, &path, 1, out, &t);
    return t;
}

long dgw_json_path_string(dgw_span d, const char *path, char *buf, size_t cap)
{
    dgw_span v;
    if (dgw_json_path(d, path, &v) != DGW_JSON_STRING)
        return -1;
    return dgw_json_unescape(v, buf, cap);
}
