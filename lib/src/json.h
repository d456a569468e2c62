/* json.h - a validating JSON scanner that finds values without building a
 * tree, and a bounded writer for the payloads libdgw sends.
 *
 * The receive path only needs "op", "s", "t" and the bytes of "d"; parsing a
 * 1 MiB READY into cJSON nodes to read four fields would dominate the cost
 * of a connection. The scanner walks each value once, checks it is JSON
 * (RFC 8259 grammar; string contents are not UTF-8 checked here), and
 * returns spans into the caller's bytes. Nesting is bounded so hostile input
 * cannot exhaust the stack (there is no recursion). */
#ifndef DGW_JSON_H
#define DGW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DGW_JSON_MAX_DEPTH 256

typedef struct dgw_span {
    const char *p;
    size_t n;
} dgw_span;

typedef enum dgw_json_type {
    DGW_JSON_INVALID = 0,
    DGW_JSON_OBJECT,
    DGW_JSON_ARRAY,
    DGW_JSON_STRING,
    DGW_JSON_NUMBER,
    DGW_JSON_TRUE,
    DGW_JSON_FALSE,
    DGW_JSON_NULL
} dgw_json_type;

/* Skips one value starting at *pp (leading white space allowed). On success
 * stores its span (without surrounding white space) in *out, advances *pp
 * past it and returns its type; DGW_JSON_INVALID on malformed input. */
dgw_json_type dgw_json_value(const char **pp, const char *end, dgw_span *out);

/* True when [p, p+n) is exactly one JSON value with optional white space. */
bool dgw_json_is_value(const char *p, size_t n);

/* Iterates the members of an object span. */
typedef struct dgw_json_iter {
    const char *p, *end;
    bool first;
    bool failed;
} dgw_json_iter;
bool dgw_json_iter_init(dgw_json_iter *it, dgw_span obj);
/* Next member: key is the raw string span including quotes. Returns false at
 * the end of the object or on malformed input (it->failed tells which). */
bool dgw_json_iter_next(dgw_json_iter *it, dgw_span *key, dgw_span *val,
                        dgw_json_type *type);

/* Compares a raw key span (with quotes, possibly escaped) to a plain name. */
bool dgw_json_key_is(dgw_span key, const char *name);

/* Finds member `name` of an object span. Returns its type, or
 * DGW_JSON_INVALID when absent or the object is malformed. */
dgw_json_type dgw_json_get(dgw_span obj, const char *name, dgw_span *val);

/* Parses an integer value (no fraction, no exponent) in int64 range. */
bool dgw_json_int(dgw_span v, int64_t *out);

/* Unescapes a string span (with quotes) into out (NUL-terminated, UTF-8).
 * Returns the length, or -1 if it does not fit or is malformed. */
long dgw_json_unescape(dgw_span s, char *out, size_t cap);

/* A bounded writer: once it overflows, it stays overflowed and the result
 * is discarded by the caller. */
typedef struct dgw_jw {
    char *p;
    size_t len, cap;
    bool overflow;
} dgw_jw;
void dgw_jw_init(dgw_jw *w, char *buf, size_t cap);
void dgw_jw_raw(dgw_jw *w, const char *s, size_t n);
void dgw_jw_lit(dgw_jw *w, const char *s);      /* NUL-terminated raw */
void dgw_jw_str(dgw_jw *w, const char *s);      /* quoted and escaped */
void dgw_jw_int(dgw_jw *w, int64_t v);
void dgw_jw_bool(dgw_jw *w, bool v);

#endif
