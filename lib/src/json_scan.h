/* json_scan.h - the scanner's kernels and what they share (internal).
 *
 * Three kernels walk JSON and give the same answers:
 *   scalar  (json_scan.c)       byte at a time, strings eight bytes at a
 *                               time; every CPU;
 *   sse2    (json_scan_sse2.c)  64-byte blocks classified with SSE2 into
 *   avx2    (json_scan_avx2.c)  bit masks (quotes, structure, white space,
 *                               control bytes), strings found by a prefix
 *                               XOR of the quote mask, then a walk over the
 *                               set bits only; UTF-8 checked on the same
 *                               blocks (AVX2: the lookup-table method of
 *                               Keiser and Lemire; SSE2: scalar on blocks
 *                               with non-ASCII bytes).
 * json_scan.c picks one per call: AVX2 when __builtin_cpu_supports says so,
 * else SSE2 on x86-64, else scalar. The *_isa() entry points force one, so
 * that tests and the fuzz_json_paths target run every kernel on the same
 * input. */
#ifndef DGW_JSON_SCAN_H
#define DGW_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

typedef enum dgw_json_isa {
    DGW_JSON_ISA_SCALAR = 0,
    DGW_JSON_ISA_SSE2,
    DGW_JSON_ISA_AVX2,
    DGW_JSON_ISA_COUNT
} dgw_json_isa;

/* Whether this build and this CPU can run the kernel. */
bool dgw_json_isa_available(dgw_json_isa isa);
/* The kernel the unsuffixed functions use on this CPU. */
dgw_json_isa dgw_json_isa_best(void);
const char *dgw_json_isa_name(dgw_json_isa isa);

/* The public scans with a forced kernel (it must be available). */
dgw_json_type dgw_json_value_isa(dgw_json_isa isa, const char **pp,
                                 const char *end, dgw_span *out);
bool dgw_json_is_value_isa(dgw_json_isa isa, const char *p, size_t n);
dgw_json_verdict dgw_json_scan_payload_isa(dgw_json_isa isa, const char *p,
                                           size_t n, dgw_json_field *fields,
                                           size_t nfields);

/* A block kernel. p points at '{' or '['; it scans that container.
 *   mode 0:            stop at its end: *vend = the byte after it;
 *   DGW_JS_WHOLE:      the rest up to end must be white space, else
 *                      DGW_JSON_TRAILING;
 *   | DGW_JS_UTF8:     and [p, end) must be UTF-8, else DGW_JSON_BAD_UTF8
 *                      (reported only when the JSON is otherwise fine: the
 *                      caller decides UTF-8 first on any other verdict).
 * With nfields, members of the outer container (an object) are matched. */
#define DGW_JS_WHOLE 1u
#define DGW_JS_UTF8 2u
typedef dgw_json_verdict dgw_json_kernel(const char *p, const char *end,
                                         unsigned mode, dgw_json_field *fields,
                                         size_t nfields, const char **vend);
dgw_json_kernel dgw_json_kernel_sse2;
dgw_json_kernel dgw_json_kernel_avx2;

/* ------------------------------------------------------------------------ */
/* Shared by every kernel: the grammar of scalars, done one way.             */

static inline bool dgw_js_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline const char *dgw_js_skip_ws(const char *p, const char *end)
{
    while (p < end && dgw_js_is_ws(*p))
        p++;
    return p;
}

/* The last byte of [start, p) that is not white space, plus one. */
static inline const char *dgw_js_trim_back(const char *start, const char *p)
{
    while (p > start && dgw_js_is_ws(p[-1]))
        p--;
    return p;
}

static inline int dgw_js_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* p is the byte after a backslash: is it a whole escape (RFC 8259 7)? */
static inline bool dgw_js_escape_ok(const char *p, const char *end)
{
    if (p >= end)
        return false;
    switch (*p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        return true;
    case 'u':
        if (end - p < 5)
            return false;
        for (int i = 1; i <= 4; i++)
            if (dgw_js_hexval(p[i]) < 0)
                return false;
        return true;
    default:
        return false;
    }
}

static inline bool dgw_js_digit(char c) { return c >= '0' && c <= '9'; }

/* A number at p: the byte after it, or NULL. Stops at the first byte that
 * cannot continue it (the caller judges what follows). */
static inline const char *dgw_js_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && dgw_js_digit(*p))
            p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !dgw_js_digit(*p))
            return NULL;
        while (p < end && dgw_js_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !dgw_js_digit(*p))
            return NULL;
        while (p < end && dgw_js_digit(*p))
            p++;
    }
    return p;
}

/* A number or literal at p: the byte after it, or NULL. *t gets its type.
 * (memcmp with a constant length compiles to one compare.) */
static inline const char *dgw_js_atom(const char *p, const char *end,
                                      dgw_json_type *t)
{
    size_t left = (size_t)(end - p);
    switch (*p) {
    case 't':
        *t = DGW_JSON_TRUE;
        return left >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        *t = DGW_JSON_FALSE;
        return left >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        *t = DGW_JSON_NULL;
        return left >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        *t = DGW_JSON_NUMBER;
        return dgw_js_number(p, end);
    }
}

/* The type of the value whose first byte is c (the value is known valid). */
static inline dgw_json_type dgw_js_type_of(char c)
{
    switch (c) {
    case '{': return DGW_JSON_OBJECT;
    case '[': return DGW_JSON_ARRAY;
    case '"': return DGW_JSON_STRING;
    case 't': return DGW_JSON_TRUE;
    case 'f': return DGW_JSON_FALSE;
    case 'n': return DGW_JSON_NULL;
    default: return DGW_JSON_NUMBER;
    }
}

/* dgw_json_key_is, byte by byte without a call while the key has no
 * escape: most keys differ from most names in their first byte. */
static inline bool dgw_js_key_is(dgw_span key, const char *name)
{
    size_t len = key.n - 2; /* between the quotes */
    for (size_t i = 0; i < len; i++) {
        if (key.p[1 + i] == '\\')
            return dgw_json_key_is(key, name);
        /* The key is not checked yet (a block kernel matches before its
         * errors are looked at): it may hold a NUL byte. */
        if (name[i] == '\0' || key.p[1 + i] != name[i])
            return false;
    }
    return name[len] == '\0';
}

/* The field a raw key names (the last of equal names), or NULL. */
static inline dgw_json_field *dgw_js_match(dgw_json_field *f, size_t nf,
                                           dgw_span key)
{
    dgw_json_field *hit = NULL;
    for (size_t i = 0; i < nf; i++)
        if (dgw_js_key_is(key, f[i].name))
            hit = &f[i];
    return hit;
}

static inline void dgw_js_fields_clear(dgw_json_field *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        f[i].val.p = NULL;
        f[i].val.n = 0;
        f[i].type = DGW_JSON_INVALID;
    }
}

#endif
