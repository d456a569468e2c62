/* harness.h - plays the Discord gateway's side of a dgw_conn in memory.
 *
 * The tests own the clock (t->now) and the random source (a seeded
 * xorshift), so every run is the same and an hour of heartbeats takes
 * microseconds. The harness speaks real bytes: it answers the client's real
 * upgrade request, frames server messages as RFC 6455 requires (optionally
 * compressed with a real zlib or zstd stream), and unmasks and records every
 * frame the client writes. */
#ifndef TS_HARNESS_H
#define TS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgw.h"

#define TS_MAX_EVENTS 4096
#define TS_MAX_SENT 4096

typedef struct ts_event {
    dgw_event_type type;
    int op;
    int64_t seq;
    char *name;             /* copy of the name ("" when none) */
    size_t name_len;
    char *data;             /* copy of d (NUL-terminated) */
    size_t data_len;
    uint32_t interval, latency;
    bool resumable, fatal, by_server;
    uint16_t close_code;
    uint32_t dropped;       /* COMMANDS_DROPPED */
    dgw_err error;
    int http_status;
    char *body;
    char *headers;          /* copy of the REJECTED header block */
    size_t body_len, headers_len;
    char reason[128];       /* CLOSED: close_reason, NUL-terminated */
} ts_event;

typedef struct ts_frame_out {
    uint8_t opcode;
    char *payload;          /* unmasked, NUL-terminated; under ETF the
                               binary frame rendered as JSON text */
    size_t len;
    size_t wire_len;        /* the frame's payload bytes as sent */
    bool etf;               /* a binary frame holding an ETF payload */
    uint64_t at;            /* harness time when it was written */
} ts_frame_out;

typedef struct ts {
    dgw_conn *c;
    dgw_config cfg;
    dgw_compress comp;
    uint64_t now;
    uint64_t rng;
    void *zdef;             /* z_stream* */
    void *zstd;             /* ZSTD_CStream* */
    ts_event ev[TS_MAX_EVENTS];
    size_t nev;
    ts_frame_out out[TS_MAX_SENT];
    size_t nout;
    uint8_t *wire;          /* client bytes not yet parsed as frames */
    size_t wire_len;
    char request[4096];     /* the upgrade request */
    long last_recv;         /* dgw_conn_recv's last negative result, or 0 */
    /* counting allocator */
    size_t alloc_now, alloc_peak, alloc_calls;
    /* ts_advance_acking(): the server's ACK comes this long after each
     * beat (0: at once), so timing races between beats and ACKs show. */
    uint64_t rtt_ms;
    uint64_t ack_due[64];   /* ACKs on their way, in order */
    size_t nack_due;
    size_t beats_acked;     /* client beats the server has answered */
    long fail_after;        /* fail the Nth allocation (-1: never) */
    dgw_allocator allocator;
} ts;

/* Sets up t with defaults (ws://gateway.test/, token "secret-token") and
 * creates the connection. Tests may edit t->cfg and call ts_recreate(). */
void ts_init(ts *t, dgw_compress comp);
void ts_recreate(ts *t);
void ts_free(ts *t);

/* start() and answer the upgrade with a correct 101. */
void ts_connect(ts *t);
/* start() only; the test answers the upgrade itself with ts_feed(). */
void ts_start(ts *t);
/* The 101 response for the pending request (correct accept). */
void ts_build_101(ts *t, char *out, size_t cap);

/* Feeds raw bytes in chunks of `split` (0: all at once), collecting events
 * and client output. */
void ts_feed_split(ts *t, const void *p, size_t n, size_t split);
void ts_feed(ts *t, const void *p, size_t n);
void ts_eof(ts *t);

/* Builds a server frame into out; returns its length. */
size_t ts_frame(uint8_t *out, bool fin, uint8_t opcode, const void *p,
                size_t n, const uint8_t *mask_or_null);
/* Sends one payload as a message (compressed and binary when the
 * connection uses compression), optionally fragmented into frames of
 * frag bytes (0: one frame). */
void ts_send_json_frag(ts *t, const char *json, size_t frag);
void ts_send_json(ts *t, const char *json);
/* The wire bytes of a payload for this connection: ETF-encoded (as
 * Discord sends it) when cfg.encoding is ETF, then compressed with the
 * transport's stream. */
size_t ts_compress(ts *t, const char *json, uint8_t **out);
/* Sends one payload as a binary message holding one whole zlib stream
 * (payload compression), or with trailing/missing bytes to test errors:
 * cut bytes off the end (cut > 0) or append junk (cut < 0). */
void ts_send_zlib_payload(ts *t, const char *json, long cut);

void ts_hello(ts *t, uint32_t interval);
void ts_ready(ts *t, const char *session_id, const char *resume_url);
void ts_dispatch(ts *t, int64_t seq, const char *name, const char *d);
/* connect + HELLO + READY (session "sess-1", seq 1). */
void ts_establish(ts *t, uint32_t interval);

/* ts_establish(), then a minute of acknowledged heartbeats: a session up
 * long enough (backoff_stable_ms) that its loss is retried at once. */
void ts_establish_stable(ts *t, uint32_t interval);

/* Moves time forward, running every deadline on the way. */
void ts_advance(ts *t, uint64_t ms);
void ts_collect(ts *t);

/* Client output: count of text payloads with this op since index `from`,
 * and the last one. */
size_t ts_count_op(const ts *t, int op, size_t from);
const ts_frame_out *ts_last_op(const ts *t, int op);
const ts_frame_out *ts_last_close(const ts *t);
uint16_t ts_close_code_of(const ts_frame_out *f);
const ts_event *ts_last_event(const ts *t, dgw_event_type type);
size_t ts_count_events(const ts *t, dgw_event_type type);

/* --- Additions for the unit suites. --- */

/* Sends one raw frame (server side, unmasked unless mask is given). */
void ts_send_frame(ts *t, bool fin, uint8_t opcode, const void *p, size_t n);
/* Sends a close frame from the server: code 0 means an empty payload. */
void ts_server_close(ts *t, uint16_t code, const char *reason);
/* Like ts_advance(), but answers every heartbeat the client has sent (also
 * before the call) with an ACK t->rtt_ms after it was sent. */
void ts_advance_acking(ts *t, uint64_t ms);
/* Count of client frames with this WebSocket opcode since index `from`. */
size_t ts_count_opcode(const ts *t, uint8_t opcode, size_t from);
/* The op of a client text frame (-1 if none). */
int ts_op_of(const ts_frame_out *f);
/* ts_start() without assertions: returns dgw_conn_start()'s result (for
 * allocation-failure runs). */
dgw_err ts_try_start(ts *t);
/* Index of the first event of this type at or after `from`, or -1. */
long ts_find_event(const ts *t, dgw_event_type type, size_t from);

#endif
