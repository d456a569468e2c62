/* fuzz_common.h - what the fuzz targets share: a byte reader over the fuzz
 * input, a deterministic in-memory peer for one dgw_conn (the server side
 * of the upgrade, server frames, zlib/zstd compressors), and the checks
 * every target runs on what the client writes and reports.
 *
 * A failed check prints what was wrong and calls abort(), so libFuzzer,
 * AFL++ and the replay driver all see a crash and keep the input. */
#ifndef FZ_COMMON_H
#define FZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond))                                                          \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 4, 5)))
#endif
void fz_fail(const char *file, int line, const char *cond, const char *fmt,
             ...);

/* ------------------------------------------------------------------------ */
/* Reading the fuzz input                                                   */

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

uint8_t fz_u8(fz_in *in);              /* 0 when exhausted */
uint16_t fz_u16(fz_in *in);
uint32_t fz_u32(fz_in *in);
/* Up to n bytes (fewer at the end of input); returns how many. */
size_t fz_take(fz_in *in, size_t n, const uint8_t **out);
/* A length-prefixed chunk: one length byte, or, when it is 0xff, two more
 * (big endian). */
size_t fz_chunk(fz_in *in, const uint8_t **out);

/* ------------------------------------------------------------------------ */
/* The peer                                                                  */

#define FZ_TOKEN "fz-Tok3n-q8Zr"
#define FZ_MAX_TEXT_SENT 4096  /* send times remembered per connection */

typedef struct fz_peer {
    dgw_conn *c;
    dgw_config cfg;
    dgw_allocator allocator;
    size_t alloc_now;          /* bytes the allocator hands out right now */
    size_t alloc_calls;
    long fail_after;           /* allocations from this one on fail (-1: never) */
    uint64_t rng;
    uint64_t now;
    dgw_compress comp;
    void *zdef;                /* z_stream* */
    void *zstd;                /* ZSTD_CCtx* */

    /* client output of the current connection */
    uint8_t *wire;
    size_t wire_len, wire_cap;
    char request[4096];
    size_t request_len;
    bool request_done;
    bool close_frame_seen;     /* the client sent its close frame */
    uint64_t text_at[FZ_MAX_TEXT_SENT];
    size_t ntext;              /* text frames on this connection */
    size_t frames;

    /* events of the current connection */
    size_t nevents, nclosed, nupgraded;
    dgw_event_type last_event;
    bool closed_fatal;         /* the last DGW_EV_CLOSED said fatal */
    bool strict_rate;          /* check the 120 / 60 s send limit */
    bool check_token;
    size_t mem_bound;
    uint64_t sink;
} fz_peer;

/* Creates the connection (url ws://gateway.test/, token FZ_TOKEN). The
 * caller may set fields of p->cfg through `tweak` first. */
void fz_peer_init(fz_peer *p, dgw_compress comp, size_t max_message,
                  void (*tweak)(dgw_config *cfg, void *u), void *u);
void fz_peer_free(fz_peer *p);

/* dgw_conn_start(): records the request. false when start() refused. */
bool fz_start(fz_peer *p);
/* The correct 101 answer to the recorded request. Returns its length. */
size_t fz_build_101(const fz_peer *p, char *out, size_t cap);
/* start() + a correct 101; true when the WebSocket is open. */
bool fz_connect(fz_peer *p);

/* Drains events and output, checking both. */
void fz_collect(fz_peer *p);
/* Feeds bytes through dgw_conn_recv in chunks whose sizes come from
 * `splits` (cycled; NULL/0: all at once). Stops early on an error. */
void fz_feed(fz_peer *p, const uint8_t *b, size_t n, const uint8_t *splits,
             size_t nsplits);
void fz_eof(fz_peer *p);
/* Runs every deadline up to now + ms, like a real event loop would. */
void fz_advance(fz_peer *p, uint64_t ms);

/* A server frame (never masked). out needs n + 14 bytes. */
size_t fz_frame(uint8_t *out, bool fin, uint8_t opcode, const void *b,
                size_t n);
/* Compresses one payload with this connection's stream (zlib sync flush or
 * zstd flush); plain copy without compression. Caller frees *out. */
size_t fz_compress(fz_peer *p, const void *json, size_t n, uint8_t **out);
/* Sends a payload the way the connection expects (text, or compressed in
 * binary frames), cut into frames of `frag` bytes (0: one frame). */
void fz_send_payload(fz_peer *p, const void *json, size_t n, size_t frag);
void fz_send_str(fz_peer *p, const char *json);
void fz_reset_compressor(fz_peer *p);

/* Is [s, s+n) JSON by cJSON's reading, ignoring cJSON's refusal of lone
 * surrogate escapes (RFC 8259's grammar allows them)? */
bool fz_cjson_accepts(const char *s, size_t n);
/* RFC 3629 UTF-8, checked independently of the library. */
bool fz_utf8_valid(const uint8_t *s, size_t n);

#endif
