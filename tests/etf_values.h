/* etf_values.h - a seeded generator of Discord-like values for the ETF
 * cross-check with Erlang, and the four texts each value has:
 *
 *   the JSON libdgw must decode it to      (etv_json_expected)
 *   the JSON given to libdgw's encoder     (etv_json_input)
 *   the Erlang term Erlang encodes for us  (etv_erl_decode_side)
 *   the Erlang term our encoding must be   (etv_erl_encode_side)
 *   ... with DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS
 *                                          (etv_erl_server_side)
 *
 * A value is a JSON-shaped tree; each node also carries an Erlang
 * "flavour" for the decode side, so that one JSON value comes from many
 * terms (a string from a binary, an atom or, as a key, a list of bytes or
 * an integer; an array from a list or a tuple; null from nil or null). */
#ifndef ETF_VALUES_H
#define ETF_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum etv_kind {
    ETV_NULL,
    ETV_BOOL,
    ETV_INT,
    ETV_FLOAT,
    ETV_STR,
    ETV_ARR,
    ETV_OBJ
} etv_kind;

/* Decode-side flavours. */
enum {
    ETV_AS_BINARY = 0, /* strings */
    ETV_AS_ATOM = 1,
    ETV_AS_CHARLIST = 2, /* keys only: code points <= 255 */
    ETV_AS_INTEGER = 3,  /* keys only: canonical decimal digits */
    ETV_AS_LIST = 0,     /* arrays */
    ETV_AS_TUPLE = 1,
    ETV_AS_NIL = 0,      /* null */
    ETV_AS_NULL_ATOM = 1
};

typedef struct etv etv;
struct etv {
    etv_kind kind;
    uint8_t flavour;
    bool b;
    bool neg;
    uint64_t mag;      /* ETV_INT: |value| */
    double f;
    char *s;           /* ETV_STR: UTF-8, no NUL inside */
    size_t n;
    etv **items;       /* ETV_ARR elements, ETV_OBJ values */
    etv **keys;        /* ETV_OBJ keys (ETV_STR) */
    size_t count;
    uint8_t json_form; /* encode side: how numbers/strings are written */
};

/* A growable string the renderers append to. */
typedef struct etv_text {
    char *p;
    size_t len, cap;
} etv_text;

void etv_text_free(etv_text *t);

typedef struct etv_rng {
    uint64_t s;
} etv_rng;

/* A random Discord-like value: sometimes a whole gateway payload
 * {op, d, s, t}, sometimes a bare value; at most `depth` levels. */
etv *etv_random(etv_rng *r, int depth);
/* Fixed edge cases: boundary integers, floats, strings, empty and deep
 * containers. Returns how many were stored in out (at most max). */
size_t etv_edge_cases(etv **out, size_t max);
/* True when the value holds no map and no atom-valued node (null,
 * booleans), so that our encoding must equal term_to_binary's bytes. */
bool etv_byte_exact(const etv *v);
void etv_free(etv *v);

void etv_json_expected(const etv *v, etv_text *t);
void etv_json_input(const etv *v, etv_text *t);
void etv_erl_decode_side(const etv *v, etv_text *t);
void etv_erl_encode_side(const etv *v, etv_text *t);
/* false when the term cannot be written as Erlang source (an atom key with
 * a noncharacter); t is then incomplete. */
bool etv_erl_server_side(const etv *v, etv_text *t);

#endif
