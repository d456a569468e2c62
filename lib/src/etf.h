/* etf.h - Erlang External Term Format <-> JSON text, for encoding=etf.
 *
 * An ETF connection is made to look like a JSON one at the edges: each
 * binary message the server sends is rendered as JSON text, so the rest of
 * the library (the payload scanner, op/s/t/d, dgw_event_parse_data) and
 * every caller see one format; each command, built as JSON text as
 * always, is encoded to ETF just before it is sent, and the 4096-byte cap
 * is measured on the ETF bytes. A gateway payload {op, d, s, t} with atom
 * keys therefore reads exactly like {"op":..,"d":..,"s":..,"t":..}.
 *
 * Decoding (server -> client), term -> JSON:
 *   map                      object; keys that are atoms, binaries or
 *                            strings (lists of bytes, [] included) become
 *                            JSON strings, integer keys their decimal
 *                            digits as a string; any other key is an error
 *   list, tuple              array
 *   STRING_EXT               array of numbers: it is how Erlang sends any
 *                            list of small integers ([0, 1] as "shard"),
 *                            not text
 *   NIL_EXT ([])             []
 *   atom nil, atom null      null (erlpack reads both as null)
 *   atom true / false        true / false
 *   other atoms              strings (Latin-1 atoms converted to UTF-8)
 *   binary                   string; it must be UTF-8 (else an error)
 *   integer, |i| <= 2^53     number
 *   integer, |i| >  2^53     string of its exact decimal digits. Discord
 *                            sends snowflakes as 64-bit integers under ETF
 *                            and as strings under JSON; a double cannot
 *                            hold them, so this keeps "id" the same string
 *                            in both modes (erlpack does the same for any
 *                            integer wider than 32 bits). Every snowflake
 *                            made after 2015-01-25 is above 2^53.
 *   float                    number, the shortest text that reads back as
 *                            the same double, always with '.' or 'e'
 *   anything else            an error: pids, ports, references, funs,
 *                            bitstrings, improper lists, NaN/infinity
 * Strings are escaped per RFC 8259 (\" \\ \b \f \n \r \t, other controls
 * as \u00XX); nothing else is escaped. Map keys keep the term's order;
 * duplicate keys (Erlang never makes them) pass through as they are.
 *
 * Limits, each a checked error with its own message:
 *   - nesting deeper than DGW_ETF_MAX_DEPTH (the JSON scanner's limit, so
 *     whatever decodes also scans);
 *   - a count or length larger than the bytes left could hold (checked
 *     before anything is read or reserved, so a 2^32 count costs nothing);
 *   - integers wider than DGW_ETF_MAX_BIG_BYTES bytes (Discord's largest
 *     are 64-bit snowflakes);
 *   - atoms longer than DGW_ETF_MAX_ATOM_CHARS characters (Erlang's own
 *     limit);
 *   - output past the caller's cap; truncated input; bytes after the term.
 *
 * A compressed term (tag 80, what term_to_binary(T, [compressed]) makes)
 * is accepted at the top level: it is a zlib stream, inflated through the
 * decoder's allocator into a scratch buffer no larger than the cap, and
 * must inflate to exactly its declared size. Discord does not send them
 * today; erlpack reads them, and an ETF peer may legally send one, so
 * refusing would make a valid server message fatal.
 *
 * Encoding (client -> server), JSON -> term, as erlpack does it (Discord
 * points to erlpack as its example, and closes with 4002 when a payload
 * uses atom keys, so keys are binaries):
 *   object -> map with binary keys; a duplicate key (after unescaping)
 *   is an error, since Erlang's binary_to_term refuses such a map;
 *   array -> proper list, [] -> NIL_EXT, an array of integers 0..255 ->
 *   STRING_EXT (as term_to_binary writes it);
 *   string -> binary (UTF-8 checked, escapes resolved, lone surrogates
 *   refused); null -> atom nil; true/false -> atoms (SMALL_ATOM_EXT, as
 *   erlpack writes them); an integer (no fraction, no exponent) ->
 *   SMALL_INTEGER / INTEGER / SMALL_BIG exactly as term_to_binary picks
 *   them, up to 64-bit magnitude (so a snowflake given as a number
 *   survives); any other number -> NEW_FLOAT_EXT, the correctly rounded
 *   double. Flags give what a server sends instead (see below).
 *
 * Both directions are pure: no I/O, no clock, no global state; the
 * decoder allocates only through the dgw_mem it is given, the encoder not
 * at all. Nothing here depends on the connection, so the mock gateway can
 * link it (with its own dgw_mem) to read what clients send, bounded
 * against hostile bytes, and to send payloads as Discord does. */
#ifndef DGW_ETF_H
#define DGW_ETF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "payload_inflate.h"

#define DGW_ETF_VERSION 131
#define DGW_ETF_MAX_DEPTH DGW_JSON_MAX_DEPTH
#define DGW_ETF_MAX_BIG_BYTES 8
#define DGW_ETF_MAX_ATOM_CHARS 255

/* Term tags (erts' external term format documentation, "erl_ext_dist"). */
enum {
    DGW_ETF_NEW_FLOAT = 70,
    DGW_ETF_BIT_BINARY = 77,
    DGW_ETF_COMPRESSED = 80,
    DGW_ETF_SMALL_INTEGER = 97,
    DGW_ETF_INTEGER = 98,
    DGW_ETF_FLOAT = 99,          /* 31 bytes of "%.20e" text */
    DGW_ETF_ATOM = 100,          /* Latin-1, 2-byte length */
    DGW_ETF_SMALL_TUPLE = 104,
    DGW_ETF_LARGE_TUPLE = 105,
    DGW_ETF_NIL = 106,
    DGW_ETF_STRING = 107,        /* list of bytes, 2-byte length */
    DGW_ETF_LIST = 108,
    DGW_ETF_BINARY = 109,
    DGW_ETF_SMALL_BIG = 110,
    DGW_ETF_LARGE_BIG = 111,
    DGW_ETF_SMALL_ATOM = 115,    /* Latin-1, 1-byte length */
    DGW_ETF_MAP = 116,
    DGW_ETF_ATOM_UTF8 = 118,
    DGW_ETF_SMALL_ATOM_UTF8 = 119
};

/* Decoder state that outlives one message: only what a compressed term
 * needs, made on first use. */
typedef struct dgw_etf_decoder {
    dgw_mem *mem;
    dgw_payload_inflater zin; /* tag 80 bodies */
    dgw_buf inflated;         /* a tag-80 term, inflated */
} dgw_etf_decoder;

/* No allocation until a compressed term arrives. */
void dgw_etf_decoder_init(dgw_etf_decoder *d, dgw_mem *m);

/* Renders one ETF message [in, in+n) (version byte 131, then one term) as
 * JSON text appended to out, keeping at most max live bytes in out. On
 * failure out is as it was and *why says what was wrong. Returns
 *   DGW_OK
 *   DGW_ERR_PAYLOAD            not ETF, malformed, over a limit, or a term
 *                              with no JSON form (see the table above)
 *   DGW_ERR_WS_TOO_LARGE       the JSON text would pass max
 *   DGW_ERR_INFLATE, DGW_ERR_INFLATE_TRUNCATED, DGW_ERR_INFLATE_TOO_LARGE
 *                              a compressed term's zlib data is corrupt,
 *                              short, or inflates past max or its size
 *   DGW_ERR_NOMEM */
int dgw_etf_decode(dgw_etf_decoder *d, const uint8_t *in, size_t n,
                   dgw_buf *out, size_t max, const char **why);

/* Frees the scratch buffer of a compressed term if it grew past keep_cap
 * (as dgw_buf_reset does for a connection's other buffers). */
void dgw_etf_decoder_trim(dgw_etf_decoder *d, size_t keep_cap);
void dgw_etf_decoder_free(dgw_etf_decoder *d);

/* dgw_etf_encode flags. 0 is what a client sends (libdgw's commands).
 * The two flags make what Discord's gateway sends, for a server (the mock
 * gateway) or a benchmark: */
enum {
    /* Object keys as UTF-8 atoms (keys over 255 characters stay binaries). */
    DGW_ETF_ATOM_KEYS = 1,
    /* Strings of 17 to 20 digits (no leading zero) that fit 64 bits as
     * integers: snowflakes. Each is above 2^53, so it decodes back to the
     * same string. */
    DGW_ETF_SNOWFLAKE_INTEGERS = 2
};

/* Encodes one JSON value [json, json+n) (white space around it allowed) as
 * an ETF message (131, then the term) into out[0, cap); *len gets its
 * size. Never allocates. Returns
 *   DGW_OK
 *   DGW_ERR_INVALID_ARGUMENT   not exactly one JSON value, nested deeper
 *                              than DGW_ETF_MAX_DEPTH, a string that is not
 *                              UTF-8 or has a lone surrogate escape, an
 *                              integer beyond 64 bits, a number beyond the
 *                              double range, or a duplicate object key
 *   DGW_ERR_SEND_TOO_LARGE     the encoding does not fit in cap
 * with *why saying which. */
int dgw_etf_encode(const char *json, size_t n, unsigned flags, uint8_t *out,
                   size_t cap, size_t *len, const char **why);

#endif
