/* json.h - a validating JSON scanner that finds values without building a
 * tree, zero-copy field reads by path, and a bounded writer for the
 * payloads libdgw sends.
 *
 * The receive path only needs "op", "s", "t" and the bytes of "d"; parsing a
 * 1 MiB READY into cJSON nodes to read four fields would dominate the cost
 * of a connection. The scanner walks each value once, checks it is JSON
 * (RFC 8259 grammar), and returns spans into the caller's bytes. Nesting is
 * bounded so hostile input cannot exhaust the stack (there is no
 * recursion).
 *
 * The scan runs on one of three kernels (json_scan.h): a portable scalar
 * one, and on x86-64 an SSE2 one (the baseline) or an AVX2 one when the CPU
 * has it, asked of the CPU on every call (no cached choice, no global
 * state). All three give the same verdicts and spans; tests and the
 * fuzz_json_paths target hold them to that. */
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
 * past it and returns its type; DGW_JSON_INVALID on malformed input.
 * String contents are not UTF-8 checked here (dgw_json_scan_payload does). */
dgw_json_type dgw_json_value(const char **pp, const char *end, dgw_span *out);

/* True when [p, p+n) is exactly one JSON value with optional white space. */
bool dgw_json_is_value(const char *p, size_t n);

/* What a whole-payload scan found wrong, first match wins. */
typedef enum dgw_json_verdict {
    DGW_JSON_OK = 0,
    DGW_JSON_BAD_UTF8,      /* the bytes are not UTF-8 (RFC 3629) */
    DGW_JSON_NOT_OBJECT,    /* the first byte after white space is not '{' */
    DGW_JSON_BAD_SYNTAX,    /* the object is not JSON */
    DGW_JSON_TRAILING       /* a whole object, then more than white space */
} dgw_json_verdict;

/* A top-level member to pick out during the scan. */
typedef struct dgw_json_field {
    const char *name;       /* in: the plain (unescaped) member name */
    dgw_span val;           /* out: the value's bytes (strings with quotes) */
    dgw_json_type type;     /* out: DGW_JSON_INVALID when absent */
} dgw_json_field;

/* One pass over a whole gateway payload: checks that [p, p+n) is UTF-8 and
 * one JSON object with optional white space around it, and stores the last
 * top-level member named fields[i].name in fields[i] (val/type; names may
 * be escaped in the payload). This is both of the receive path's checks in
 * one read of the bytes: ws.c's per-frame UTF-8 pass and gateway.c's scan.
 * fields are meaningful only when DGW_JSON_OK is returned. */
dgw_json_verdict dgw_json_scan_payload(const char *p, size_t n,
                                       dgw_json_field *fields, size_t nfields);

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
/* The same for a name of n bytes (not NUL-terminated). */
bool dgw_json_key_is_n(dgw_span key, const char *name, size_t n);

/* Finds member `name` of an object span. Returns its type, or
 * DGW_JSON_INVALID when absent or the object is malformed. */
dgw_json_type dgw_json_get(dgw_span obj, const char *name, dgw_span *val);

/* Parses an integer value (no fraction, no exponent) in int64 range. */
bool dgw_json_int(dgw_span v, int64_t *out);

/* Unescapes a string span (with quotes) into out (NUL-terminated, UTF-8).
 * Returns the length, or -1 if it does not fit or is malformed. */
long dgw_json_unescape(dgw_span s, char *out, size_t cap);

/* Finds the value at `path` inside the JSON value d, without a tree and
 * without copying: out gets a span into d's bytes (strings with their
 * quotes). A path is member names and array indexes joined by dots:
 * "channel_id", "author.id", "mentions.0.id"; a segment of digits indexes
 * an array (in an object it is a member name); an empty path is d itself.
 * Returns the value's type, or DGW_JSON_INVALID when the path does not
 * lead to a value (absent member, index past the end, a scalar on the
 * way). Members are compared after unescaping; the first match wins, as in
 * dgw_json_get. d is expected to be valid JSON (an event's data is): on
 * malformed input the result is INVALID or some span inside d, never a
 * read outside it. */
dgw_json_type dgw_json_path(dgw_span d, const char *path, dgw_span *out);

/* Several paths in one pass over d (what reading three or four fields of
 * an event wants: each member is passed over once, not once per field, and
 * the walk stops when all are found). out[i]/types[i] as dgw_json_path
 * gives them for paths[i] (INVALID when not there); only the first
 * DGW_JSON_PATHS_MAX paths are looked up (the rest come back INVALID).
 * Returns how many were found. */
#define DGW_JSON_PATHS_MAX 64
size_t dgw_json_paths(dgw_span d, const char *const *paths, size_t n,
                      dgw_span *out, dgw_json_type *types);

/* The string at `path`, unescaped into buf (NUL-terminated). Returns its
 * length, or -1 when absent, not a string, or it does not fit in cap. */
long dgw_json_path_string(dgw_span d, const char *path, char *buf, size_t cap);

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
