/* json_scan.c - the portable scalar kernel, and the choice of kernel.
 *
 * The scalar kernel walks a byte at a time with a bit stack of containers,
 * and strings eight bytes at a time (SWAR). With UTF-8 checking on, a
 * non-ASCII byte stops the string loop and its character is checked there,
 * so one pass does both; outside strings JSON admits only ASCII anyway. */
#include "json_scan.h"

#include "utf8.h"

#if defined(__GNUC__)
#define DGW_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DGW_ALWAYS_INLINE inline
#endif

/* Any byte of w equal to zero / below n (n <= 128): the classic bit tricks.
 * Bytes above a real match may be flagged too, so only the lowest flagged
 * byte is exact, and that is the only one used. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_zero(uint64_t w) { return (w - ONES) & ~w & HIGHS; }
static inline uint64_t has_less(uint64_t w, uint8_t n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

/* p points at the opening quote. Returns the byte after the closing quote,
 * or NULL. utf8: the contents must be UTF-8 too. */
static DGW_ALWAYS_INLINE const char *scan_string(const char *p,
                                                 const char *end, bool utf8)
{
    p++;
    for (;;) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Strings are most of a payload's bytes: jump straight to the
         * first quote, backslash, control (or non-ASCII) byte. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t m = has_zero(w ^ (ONES * '"')) |
                         has_zero(w ^ (ONES * '\\')) | has_less(w, 0x20);
            if (utf8)
                m |= w & HIGHS;
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
            if (!dgw_js_escape_ok(p + 1, end))
                return NULL;
            p += p[1] == 'u' ? 6 : 2;
        } else if (utf8 && ch >= 0x80) {
            size_t k = dgw_utf8_seq((const uint8_t *)p, (const uint8_t *)end);
            if (k == 0)
                return NULL;
            p += k;
        } else {
            p++;
        }
    }
}

/* p at a member name: the byte after its colon, or NULL. */
static DGW_ALWAYS_INLINE const char *scan_key(const char *p, const char *end,
                                              bool utf8)
{
    if (p >= end || *p != '"' || !(p = scan_string(p, end, utf8)))
        return NULL;
    p = dgw_js_skip_ws(p, end);
    return p < end && *p == ':' ? p + 1 : NULL;
}

/* One value at *pp: the old-fashioned walk, a byte at a time, containers
 * tracked in a bit stack (1 = object, 0 = array), at most max_depth deep. */
static DGW_ALWAYS_INLINE dgw_json_type value_scalar(const char **pp,
                                                    const char *end,
                                                    dgw_span *out, bool utf8,
                                                    int max_depth)
{
    uint8_t stack[DGW_JSON_MAX_DEPTH / 8];
    int depth = 0;
    const char *p = dgw_js_skip_ws(*pp, end);
    const char *start = p;
    dgw_json_type top = DGW_JSON_INVALID;

    if (p >= end)
        return DGW_JSON_INVALID;
    for (;;) {
        /* Expect a value at p. */
        p = dgw_js_skip_ws(p, end);
        if (p >= end)
            return DGW_JSON_INVALID;
        if (*p == '{' || *p == '[') {
            bool obj = *p == '{';
            if (depth == 0)
                top = obj ? DGW_JSON_OBJECT : DGW_JSON_ARRAY;
            if (depth >= max_depth)
                return DGW_JSON_INVALID;
            if (obj)
                stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else
                stack[depth / 8] &= (uint8_t)~(1u << (depth % 8));
            depth++;
            p = dgw_js_skip_ws(p + 1, end);
            if (p >= end)
                return DGW_JSON_INVALID;
            if (*p == (obj ? '}' : ']')) {
                p++;
                depth--;
                goto after_value;
            }
            if (obj && !(p = scan_key(p, end, utf8)))
                return DGW_JSON_INVALID;
            continue;
        } else {
            dgw_json_type t;
            if (*p == '"') {
                t = DGW_JSON_STRING;
                p = scan_string(p, end, utf8);
            } else {
                p = dgw_js_atom(p, end, &t);
            }
            if (!p)
                return DGW_JSON_INVALID;
            if (depth == 0)
                top = t;
        }
    after_value:
        if (depth == 0)
            break;
        p = dgw_js_skip_ws(p, end);
        if (p >= end)
            return DGW_JSON_INVALID;
        bool in_obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        if (*p == ',') {
            p = dgw_js_skip_ws(p + 1, end);
            if (in_obj && !(p = scan_key(p, end, utf8)))
                return DGW_JSON_INVALID;
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

static dgw_json_type value_plain(const char **pp, const char *end,
                                 dgw_span *out)
{
    return value_scalar(pp, end, out, false, DGW_JSON_MAX_DEPTH);
}

/* A member's value sits one level down: the object counts toward the
 * depth bound, as it does in the block kernels. */
static dgw_json_type member_utf8(const char **pp, const char *end,
                                 dgw_span *out)
{
    return value_scalar(pp, end, out, true, DGW_JSON_MAX_DEPTH - 1);
}

/* The scalar payload scan; p is at the '{'. */
static dgw_json_verdict payload_scalar(const char *p, const char *end,
                                       dgw_json_field *f, size_t nf)
{
    p = dgw_js_skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p >= end || *p != '"')
                return DGW_JSON_BAD_SYNTAX;
            const char *k = p;
            if (!(p = scan_string(p, end, true)))
                return DGW_JSON_BAD_SYNTAX;
            dgw_span key = {k, (size_t)(p - k)};
            p = dgw_js_skip_ws(p, end);
            if (p >= end || *p != ':')
                return DGW_JSON_BAD_SYNTAX;
            p++;
            dgw_span v;
            dgw_json_type t = member_utf8(&p, end, &v);
            if (t == DGW_JSON_INVALID)
                return DGW_JSON_BAD_SYNTAX;
            dgw_json_field *hit = nf ? dgw_js_match(f, nf, key) : NULL;
            if (hit) {
                hit->val = v;
                hit->type = t;
            }
            p = dgw_js_skip_ws(p, end);
            if (p >= end)
                return DGW_JSON_BAD_SYNTAX;
            if (*p == ',') {
                p = dgw_js_skip_ws(p + 1, end);
                continue;
            }
            if (*p != '}')
                return DGW_JSON_BAD_SYNTAX;
            p++;
            break;
        }
    }
    return dgw_js_skip_ws(p, end) == end ? DGW_JSON_OK : DGW_JSON_TRAILING;
}

/* ------------------------------------------------------------------------ */
/* Choosing a kernel                                                        */

static bool cpu_has_avx2(void)
{
#if defined(DGW_HAVE_JSON_SIMD) && defined(__GNUC__)
    /* Reads the CPU model libgcc (or compiler-rt) filled in by a
     * constructor before main: a load and a bit test, no state of ours. A
     * caller inside another constructor that runs first sees no AVX2 and
     * gets the SSE2 kernel, which is correct, only slower. */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
#else
    return false;
#endif
}

bool dgw_json_isa_available(dgw_json_isa isa)
{
    switch (isa) {
    case DGW_JSON_ISA_SCALAR:
        return true;
#ifdef DGW_HAVE_JSON_SIMD
    case DGW_JSON_ISA_SSE2:
        return true;
    case DGW_JSON_ISA_AVX2:
        return cpu_has_avx2();
#endif
    default:
        return false;
    }
}

dgw_json_isa dgw_json_isa_best(void)
{
#ifdef DGW_HAVE_JSON_SIMD
    return cpu_has_avx2() ? DGW_JSON_ISA_AVX2 : DGW_JSON_ISA_SSE2;
#else
    return DGW_JSON_ISA_SCALAR;
#endif
}

const char *dgw_json_isa_name(dgw_json_isa isa)
{
    static const char *const names[] = {"scalar", "sse2", "avx2"};
    return (unsigned)isa < DGW_JSON_ISA_COUNT ? names[isa] : "?";
}

/* The block kernel of isa, or NULL for the scalar walk. */
static dgw_json_kernel *kernel_of(dgw_json_isa isa)
{
#ifdef DGW_HAVE_JSON_SIMD
    if (isa == DGW_JSON_ISA_AVX2)
        return dgw_json_kernel_avx2;
    if (isa == DGW_JSON_ISA_SSE2)
        return dgw_json_kernel_sse2;
#else
    (void)isa;
#endif
    return NULL;
}

dgw_json_type dgw_json_value_isa(dgw_json_isa isa, const char **pp,
                                 const char *end, dgw_span *out)
{
    const char *p = dgw_js_skip_ws(*pp, end);
    if (p >= end)
        return DGW_JSON_INVALID;
    /* Scalars are short: no kernel, and no container walk either. */
    if (*p != '{' && *p != '[') {
        dgw_json_type t = DGW_JSON_STRING;
        const char *q = *p == '"' ? scan_string(p, end, false)
                                  : dgw_js_atom(p, end, &t);
        if (!q)
            return DGW_JSON_INVALID;
        out->p = p;
        out->n = (size_t)(q - p);
        *pp = q;
        return t;
    }
    dgw_json_kernel *k = kernel_of(isa);
    if (!k)
        return value_plain(pp, end, out);
    const char *vend;
    if (k(p, end, 0, NULL, 0, &vend) != DGW_JSON_OK)
        return DGW_JSON_INVALID;
    out->p = p;
    out->n = (size_t)(vend - p);
    *pp = vend;
    return *p == '{' ? DGW_JSON_OBJECT : DGW_JSON_ARRAY;
}

bool dgw_json_is_value_isa(dgw_json_isa isa, const char *p, size_t n)
{
    const char *end = p + n;
    const char *q = dgw_js_skip_ws(p, end);
    dgw_json_kernel *k = kernel_of(isa);
    if (k && q < end && (*q == '{' || *q == '[')) {
        const char *vend;
        return k(q, end, DGW_JS_WHOLE, NULL, 0, &vend) == DGW_JSON_OK;
    }
    dgw_span v;
    if (value_plain(&q, end, &v) == DGW_JSON_INVALID)
        return false;
    return dgw_js_skip_ws(q, end) == end;
}

dgw_json_verdict dgw_json_scan_payload_isa(dgw_json_isa isa, const char *p,
                                           size_t n, dgw_json_field *fields,
                                           size_t nfields)
{
    const char *end = p + n;
    const char *q = dgw_js_skip_ws(p, end);
    dgw_json_kernel *k = kernel_of(isa);
    dgw_json_verdict v;
    dgw_js_fields_clear(fields, nfields);
    if (q >= end || *q != '{') {
        v = DGW_JSON_NOT_OBJECT;
    } else if (k) {
        const char *vend;
        v = k(q, end, DGW_JS_WHOLE | DGW_JS_UTF8, fields, nfields, &vend);
    } else {
        v = payload_scalar(q, end, fields, nfields);
    }
    /* Bad UTF-8 outranks every other finding, whichever one the walk
     * stopped at; only a walk that got to the end has checked it all. */
    if (v != DGW_JSON_OK && v != DGW_JSON_BAD_UTF8 && !dgw_utf8_valid(p, n))
        v = DGW_JSON_BAD_UTF8;
    return v;
}

dgw_json_type dgw_json_value(const char **pp, const char *end, dgw_span *out)
{
    return dgw_json_value_isa(dgw_json_isa_best(), pp, end, out);
}

bool dgw_json_is_value(const char *p, size_t n)
{
    return dgw_json_is_value_isa(dgw_json_isa_best(), p, n);
}

dgw_json_verdict dgw_json_scan_payload(const char *p, size_t n,
                                       dgw_json_field *fields, size_t nfields)
{
    return dgw_json_scan_payload_isa(dgw_json_isa_best(), p, n, fields,
                                     nfields);
}
