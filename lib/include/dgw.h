/*
 * dgw.h - libdgw, a sans-I/O Discord gateway client.
 *
 * The library is a state machine. It never opens a socket, never reads a
 * clock, never sleeps, never starts a thread and never prints. The caller:
 *
 *   1. creates a connection with dgw_conn_new() and calls dgw_conn_start();
 *   2. connects a socket (TLS for wss://) to dgw_conn_endpoint();
 *   3. writes what dgw_conn_peek_output() shows, then dgw_conn_consume_output();
 *   4. feeds what the socket gives to dgw_conn_recv(), and reads events with
 *      dgw_conn_poll_event() until it returns false;
 *   5. sleeps until dgw_conn_next_timeout() and then calls
 *      dgw_conn_handle_timeout();
 *   6. on DGW_EV_CLOSED closes the socket, asks dgw_conn_reconnect() how
 *      long to wait, waits, and goes back to step 1's dgw_conn_start().
 *
 * Time is a caller-chosen monotonic clock in milliseconds ("now_ms").
 * Randomness (WebSocket key, frame masks, heartbeat jitter, backoff jitter)
 * comes from the caller's dgw_random_fn, so a test run is reproducible.
 *
 * Heartbeats, zombie detection, IDENTIFY/RESUME, RECONNECT, INVALID_SESSION,
 * close codes, backoff and the send rate limit are handled inside; the
 * caller only moves bytes and reads events.
 *
 * Thread safety: a dgw_conn has no locks. Calls on one connection must not
 * overlap; a threaded caller holds one mutex around every call (see
 * examples/). Different connections are independent: there is no global
 * state.
 */
#ifndef DGW_H
#define DGW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function of this header is exported from the shared library;
 * nothing else is. */
#if defined(__GNUC__) || defined(__clang__)
#define DGW_API __attribute__((visibility("default")))
#else
#define DGW_API
#endif

#define DGW_VERSION "0.2.0"
#define DGW_API_VERSION 10

/* "No deadline" from dgw_conn_next_timeout(). */
#define DGW_NO_TIMEOUT UINT64_MAX

/* Largest payload the gateway accepts from a client (else it closes 4002). */
#define DGW_MAX_SEND_PAYLOAD 4096

/* The close code libdgw sends when it closes to reconnect and resume
 * (zombie, RECONNECT, INVALID_SESSION d=true). Any code but 1000/1001 keeps
 * the session alive on Discord's side; 4900 is in the private-use range. */
#define DGW_CLOSE_RESUMABLE 4900

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* Every function that can fail returns one of these. Negative is failure. */
typedef enum dgw_err {
    DGW_OK = 0,
    DGW_ERR_NOMEM = -1,          /* an allocation failed */
    DGW_ERR_INVALID_ARGUMENT = -2, /* a NULL or out-of-range argument */
    DGW_ERR_STATE = -3,          /* the call is not valid in this state */
    DGW_ERR_URL = -4,            /* the gateway URL cannot be used */
    DGW_ERR_UNSUPPORTED = -5,    /* e.g. zstd-stream in a build without zstd */
    DGW_ERR_HTTP = -10,          /* malformed HTTP upgrade response */
    DGW_ERR_HTTP_TOO_LARGE = -11, /* upgrade response headers over the cap */
    DGW_ERR_HANDSHAKE = -12,     /* 101 with a wrong/missing Upgrade,
                                    Connection or Sec-WebSocket-Accept */
    DGW_ERR_REJECTED = -13,      /* the server answered the upgrade with a
                                    status other than 101 */
    DGW_ERR_WS_PROTOCOL = -20,   /* a WebSocket framing violation */
    DGW_ERR_WS_TOO_LARGE = -21,  /* a frame or message over the cap */
    DGW_ERR_WS_UTF8 = -22,       /* invalid UTF-8 in a text message or reason */
    DGW_ERR_INFLATE = -30,       /* corrupt zlib-stream / zstd-stream data */
    DGW_ERR_INFLATE_TOO_LARGE = -31, /* a payload inflated past the cap */
    DGW_ERR_INFLATE_TRUNCATED = -32, /* the stream ended inside a payload */
    DGW_ERR_PAYLOAD = -40,       /* not JSON, no "op", non-integer "op"... */
    DGW_ERR_HELLO = -41,         /* HELLO with a missing or absurd interval */
    DGW_ERR_READY = -42,         /* READY without a usable session_id */
    DGW_ERR_ZOMBIE = -50,        /* no heartbeat ACK before the next beat */
    DGW_ERR_TIMEOUT = -51,       /* upgrade, HELLO or close handshake took
                                    too long */
    DGW_ERR_EOF = -52,           /* the transport ended without a close */
    DGW_ERR_SEND_TOO_LARGE = -60, /* a command over DGW_MAX_SEND_PAYLOAD */
    DGW_ERR_RATE_LIMITED = -61,  /* send queue full: command refused */
    DGW_ERR_FATAL_CLOSE = -70    /* the server closed with a code that forbids
                                    reconnecting (4004, 4010-4014) */
} dgw_err;

/* A static English description of an error code. Never NULL. */
DGW_API const char *dgw_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/* Fills buf with len random bytes. Must not fail. For production use a
 * CSPRNG (getrandom(2)); tests use a seeded generator. */
typedef void (*dgw_random_fn)(void *user, uint8_t *buf, size_t len);

/* Optional allocator. Every allocation libdgw, zlib and zstd make for a
 * connection goes through it. */
typedef struct dgw_allocator {
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} dgw_allocator;

typedef enum dgw_compress {
    DGW_COMPRESS_NONE = 0,
    DGW_COMPRESS_ZLIB_STREAM = 1,
    DGW_COMPRESS_ZSTD_STREAM = 2
} dgw_compress;

/* How payloads are written on the wire (the URL's encoding=). Under ETF
 * (Erlang's External Term Format, binary frames) the library renders every
 * received term as JSON text, so events, their slices and
 * dgw_event_parse_data() look exactly as under JSON: maps are objects,
 * lists and tuples arrays, nil null, binaries strings, integers numbers,
 * and integers beyond 2^53 (snowflakes, which Discord sends as 64-bit
 * integers under ETF) strings of their exact digits, as they are under
 * JSON. Commands are still given as JSON; each is encoded as ETF just
 * before it is sent (object keys as binaries, as Discord requires), and the
 * 4096-byte limit is measured on the ETF bytes. */
typedef enum dgw_encoding {
    DGW_ENCODING_JSON = 0,
    DGW_ENCODING_ETF = 1
} dgw_encoding;

/* What IDENTIFY carries. Strings are copied by dgw_conn_new(). */
typedef struct dgw_identify {
    const char *token;          /* required; never appears in any message */
    uint64_t intents;
    const char *os;             /* properties.os; NULL: "linux" */
    const char *browser;        /* properties.browser; NULL: "libdgw" */
    const char *device;         /* properties.device; NULL: "libdgw" */
    uint32_t shard_id;          /* used when shard_count > 0 */
    uint32_t shard_count;       /* 0: no "shard" field */
    uint32_t large_threshold;   /* 0: field omitted (server default 50) */
    const char *presence_json;  /* raw JSON object for "presence", or NULL */
} dgw_identify;

typedef struct dgw_config {
    /* Gateway URL, "wss://gateway.discord.gg" or "ws://127.0.0.1:8080/gw".
     * Its query is replaced by v=10&encoding=json[&compress=...]. Every
     * connection, resumes included, uses this URL's scheme: a
     * resume_gateway_url with another one is refused. */
    const char *url;
    dgw_compress compress;
    dgw_encoding encoding;
    /* Payload compression ("compress": true in IDENTIFY): the gateway may
     * send any payload as a binary message holding one whole zlib stream;
     * text messages stay plain. Discord allows it only with the JSON
     * encoding and without transport compression: other combinations are
     * refused by dgw_conn_new() (dgw_config_check() says why). */
    bool payload_compress;
    dgw_identify identify;
    dgw_random_fn random;       /* required */
    void *random_user;
    const dgw_allocator *allocator; /* NULL: malloc/realloc/free */

    /* Limits and timers. 0 picks the default given in brackets. */
    size_t max_message_size;    /* one (inflated) payload [16 MiB] */
    size_t max_http_header_size; /* upgrade response headers [16 KiB] */
    size_t max_http_body_size;  /* body kept from a rejected upgrade [4 KiB] */
    uint32_t backoff_base_ms;   /* first retry delay [1000] */
    uint32_t backoff_max_ms;    /* cap on the retry delay [60000] */
    uint32_t backoff_stable_ms; /* a session up this long resets the
                                   backoff [60000] */
    uint32_t handshake_timeout_ms; /* upgrade and HELLO each [30000] */
    uint32_t ready_timeout_ms;  /* READY/RESUMED after IDENTIFY/RESUME
                                   [15000] */
    uint32_t close_timeout_ms;  /* wait for the server's close [5000] */
    uint32_t identify_interval_ms; /* least time between two IDENTIFYs
                                   [5000, Discord's window] */
    uint32_t rate_limit_count;  /* commands per window [120] */
    uint32_t rate_limit_window_ms; /* [60000] */
    uint32_t rate_limit_reserved; /* slots only heartbeats may use [5] */
    uint32_t send_queue_max;    /* commands held while they cannot go [64] */

    /* The IDENTIFY gate, for callers that pace IDENTIFYs across shards
     * (max_concurrency buckets). When true, the connection never sends
     * IDENTIFY by itself: when one is due (first connect, after
     * INVALID_SESSION d=false, after 4003/4007/4009) it queues
     * DGW_EV_IDENTIFY_WANTED and waits, heartbeating, for
     * dgw_conn_identify_permit(). RESUME needs no permit. The caller then
     * paces alone: identify_interval_ms is not applied. */
    bool identify_gate;
} dgw_config;

/* ------------------------------------------------------------------------ */
/* Connection                                                                */

typedef struct dgw_conn dgw_conn;

typedef enum dgw_state {
    DGW_STATE_IDLE,         /* created, or between attempts: start() */
    DGW_STATE_UPGRADING,    /* HTTP upgrade request out, waiting for 101 */
    DGW_STATE_WAIT_HELLO,   /* WebSocket open, waiting for op 10 */
    DGW_STATE_IDENTIFYING,  /* IDENTIFY sent (or due), waiting for READY */
    DGW_STATE_RESUMING,     /* RESUME sent, waiting for RESUMED */
    DGW_STATE_CONNECTED,    /* READY or RESUMED received */
    DGW_STATE_CLOSING,      /* our close frame is out, waiting for the server's */
    DGW_STATE_CLOSED        /* transport is done: close the socket */
} dgw_state;

/* Checks a configuration as dgw_conn_new() does, without allocating:
 * DGW_OK, or the error dgw_conn_new() would give with *why (not NULL)
 * saying what is wrong (a missing token, payload compression together
 * with zstd-stream, an IDENTIFY over 4096 bytes...). */
DGW_API dgw_err dgw_config_check(const dgw_config *cfg, const char **why);

/* Creates a connection. Copies everything it keeps from cfg (URL, token,
 * identify strings). On failure returns NULL and, if err is not NULL,
 * stores the reason there (dgw_config_check() gives it in words). */
DGW_API dgw_conn *dgw_conn_new(const dgw_config *cfg, dgw_err *err);

/* Frees the connection and everything it owns. NULL is ignored. */
DGW_API void dgw_conn_free(dgw_conn *c);

/* Starts a (re)connection: resets the transport, picks the URL (the
 * resume_gateway_url when a session can be resumed and that URL has not
 * failed) and queues the HTTP upgrade request as output. Valid in
 * DGW_STATE_IDLE (new, or after dgw_conn_reconnect()). Errors:
 * DGW_ERR_STATE, DGW_ERR_NOMEM. */
DGW_API dgw_err dgw_conn_start(dgw_conn *c, uint64_t now_ms);

/* Where the socket must go for the current attempt, or, in
 * DGW_STATE_IDLE, the next one. host points into c: valid until the next
 * dgw_conn_reconnect() or dgw_conn_free(). */
typedef struct dgw_endpoint {
    const char *host;       /* NUL-terminated, for DNS and TLS SNI */
    uint16_t port;
    bool tls;               /* wss:// */
} dgw_endpoint;
DGW_API void dgw_conn_endpoint(const dgw_conn *c, dgw_endpoint *ep);

/* Feeds bytes read from the transport and returns how many were consumed
 * (>= 0), or a dgw_err (< 0). Every byte reported consumed has been
 * decoded: nothing is held back undecoded, so when the transport ends the
 * caller gives every byte it read to dgw_conn_recv() and then calls
 * dgw_conn_recv_eof(). It stops right after the first payload (or close
 * frame) that queues an event, so that the event's slices stay valid; the
 * caller drains the events with dgw_conn_poll_event() and calls again with
 * the rest:
 *
 *     while (len > 0) {
 *         long r = dgw_conn_recv(c, p, len, now);
 *         if (r < 0) break;          // the error also arrives as DGW_EV_CLOSED
 *         p += r; len -= (size_t)r;
 *         while (dgw_conn_poll_event(c, &ev)) handle(&ev);
 *     }
 *     // then write dgw_conn_peek_output()
 *
 * It returns 0 for len > 0 only when events are pending (so the loop above
 * never spins). On a protocol error the connection queues a close frame,
 * moves to DGW_STATE_CLOSED, queues DGW_EV_CLOSED carrying the error, and
 * returns the error; dgw_conn_last_error() has the details. Bytes given
 * after DGW_STATE_CLOSED are ignored (and reported as consumed). */
DGW_API long dgw_conn_recv(dgw_conn *c, const uint8_t *data, size_t len,
                           uint64_t now_ms);

/* Tells the connection that the transport ended (read returned 0, or an
 * I/O error, or the connect failed). Give every byte read before to
 * dgw_conn_recv() first: a close frame that came with the end of the
 * connection decides whether to reconnect. Queues DGW_EV_CLOSED unless the
 * connection was already closed: close_code 1006 once the WebSocket was
 * open, 0 before; the session is kept either way. */
DGW_API void dgw_conn_recv_eof(dgw_conn *c, uint64_t now_ms);

/* Bytes waiting to be written to the transport. Stores a pointer to them in
 * *out and returns their count (0: nothing to write). The pointer is valid
 * until the next call on c other than dgw_conn_peek_output(). Output
 * appears only from dgw_conn_start(), dgw_conn_recv(),
 * dgw_conn_handle_timeout(), dgw_conn_close() and the command calls:
 * write it after each of those. */
DGW_API size_t dgw_conn_peek_output(dgw_conn *c, const uint8_t **out);

/* Marks n bytes of the output as written. */
DGW_API void dgw_conn_consume_output(dgw_conn *c, size_t n);

/* The earliest time at which dgw_conn_handle_timeout() has work (heartbeat,
 * zombie check, a waiting IDENTIFY, the send queue, the handshake, READY or
 * close timeout), or DGW_NO_TIMEOUT. */
DGW_API uint64_t dgw_conn_next_timeout(const dgw_conn *c);

/* Does the work that is due at now_ms. Calling it early is harmless.
 * Returns the error that closed the connection in this call (a zombie, a
 * timeout), else DGW_OK. */
DGW_API dgw_err dgw_conn_handle_timeout(dgw_conn *c, uint64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */

typedef enum dgw_event_type {
    DGW_EV_NONE = 0,
    DGW_EV_UPGRADED,        /* 101 accepted; the WebSocket is open */
    DGW_EV_REJECTED,        /* upgrade refused: http_status, headers, body */
    DGW_EV_HELLO,           /* op 10: heartbeat_interval_ms */
    DGW_EV_DISPATCH,        /* op 0: name, seq, data (READY/RESUMED too) */
    DGW_EV_HEARTBEAT_ACK,   /* op 11: latency_ms */
    DGW_EV_RECONNECT,       /* op 7: the library is closing to resume */
    DGW_EV_INVALID_SESSION, /* op 9: resumable says which way */
    DGW_EV_PAYLOAD,         /* any other op the library does not act on */
    DGW_EV_CLOSED,          /* transport done: close the socket now */
    DGW_EV_COMMANDS_DROPPED, /* queued commands were dropped: `dropped` */
    DGW_EV_IDENTIFY_WANTED  /* (identify_gate) IDENTIFY waits for
                               dgw_conn_identify_permit() */
} dgw_event_type;

/* Slices point into the connection's buffers: valid until the next
 * dgw_conn_poll_event(), dgw_conn_recv() or dgw_conn_free(). They are not
 * NUL-terminated except where stated. */
typedef struct dgw_event {
    dgw_event_type type;

    /* Payload events (HELLO, DISPATCH, ACK, RECONNECT, INVALID_SESSION,
     * PAYLOAD). */
    int op;
    int64_t seq;            /* "s", or -1 when null/absent */
    const char *name;       /* "t" unescaped, NUL-terminated, or NULL; any
                               length up to the payload's */
    size_t name_len;        /* its length */
    const char *data;       /* raw JSON bytes of "d" ("null" if absent) */
    size_t data_len;
    const char *payload;    /* the whole payload as received (inflated) */
    size_t payload_len;

    uint32_t heartbeat_interval_ms; /* HELLO */
    uint32_t latency_ms;    /* HEARTBEAT_ACK: ACK time minus beat time */
    bool resumable;         /* INVALID_SESSION: d; CLOSED: session kept */

    /* REJECTED */
    int http_status;
    const char *http_headers; /* raw header block after the status line */
    size_t http_headers_len;
    const char *http_body;  /* up to max_http_body_size bytes */
    size_t http_body_len;

    /* CLOSED */
    uint16_t close_code;    /* the server's code; 1006 if none; ours when
                               we closed first */
    const char *close_reason;
    size_t close_reason_len;
    bool closed_by_server;  /* the server sent the first close frame */
    bool fatal;             /* do not reconnect (dgw_close_code_is_fatal) */
    dgw_err error;          /* why, when it was an error; else DGW_OK */

    /* COMMANDS_DROPPED */
    uint32_t dropped;       /* commands accepted with DGW_OK, never sent */

    /* CLOSED: what ended the attempt (also counted in dgw_stats). */
    int end_cause;          /* a dgw_end_cause */
} dgw_event;

/* Takes the next event. Returns false when there is none. It only hands
 * over what dgw_conn_recv(), dgw_conn_handle_timeout() and the other calls
 * decided: it decodes nothing and produces no output.
 *
 * Every attempt ends with exactly one DGW_EV_CLOSED (after DGW_EV_REJECTED
 * for a refused upgrade); it is the signal to close the socket. */
DGW_API bool dgw_conn_poll_event(dgw_conn *c, dgw_event *ev);

/* True when an event is queued (dgw_conn_poll_event() would return one).
 * For a timer thread that wants to know whether dgw_conn_handle_timeout()
 * produced work for the I/O thread; pending output is seen with
 * dgw_conn_peek_output(). */
DGW_API bool dgw_conn_has_events(const dgw_conn *c);

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */

/* Commands have a life cycle. A command call validates and builds the
 * payload (errors: DGW_ERR_INVALID_ARGUMENT, DGW_ERR_SEND_TOO_LARGE when
 * over 4096 bytes, DGW_ERR_STATE outside IDENTIFYING, RESUMING and
 * CONNECTED). Accepted (DGW_OK), it is sent at once when the connection's
 * IDENTIFY or RESUME is out and the 120-per-60-s window has room for
 * commands; otherwise it is queued (at most send_queue_max; beyond that
 * DGW_ERR_RATE_LIMITED and nothing is kept) and sent in order by later
 * calls, after IDENTIFY/RESUME, which never wait behind the queue. The
 * queue survives a lost connection whose session is resumed; when the
 * session ends (INVALID_SESSION d=false, close codes 4003/4007/4009, the
 * fatal codes, a close with 1000/1001) the queued commands are dropped and
 * reported by one DGW_EV_COMMANDS_DROPPED. DGW_ERR_NOMEM means the
 * output is full (over 1 MiB unwritten) or memory ran out: nothing was
 * sent or kept, and the connection goes on. */

/* Sends {"op":op,"d":<d_json>}. d_json must be one JSON value (checked);
 * d_len 0 means null. Ops 1, 2 and 6 (heartbeat, IDENTIFY, RESUME) are
 * refused with DGW_ERR_INVALID_ARGUMENT: the library sends them itself and
 * keeps their bookkeeping. */
DGW_API dgw_err dgw_conn_send(dgw_conn *c, int op, const char *d_json,
                              size_t d_len, uint64_t now_ms);

/* Op 3. status: "online", "dnd", "idle", "invisible", "offline".
 * activities_json: a JSON array or NULL ([]). since_ms < 0: null. */
typedef struct dgw_presence {
    int64_t since_ms;
    const char *activities_json;
    const char *status;
    bool afk;
} dgw_presence;
DGW_API dgw_err dgw_conn_update_presence(dgw_conn *c, const dgw_presence *p,
                                         uint64_t now_ms);

/* Op 4. channel_id NULL: leave voice. IDs are snowflakes as decimal text. */
typedef struct dgw_voice_state {
    const char *guild_id;
    const char *channel_id;
    bool self_mute;
    bool self_deaf;
} dgw_voice_state;
DGW_API dgw_err dgw_conn_update_voice_state(dgw_conn *c,
                                            const dgw_voice_state *v,
                                            uint64_t now_ms);

/* Op 8. Give either query (with limit) or user_ids_json (a JSON array). */
typedef struct dgw_request_members {
    const char *guild_id;
    const char *query;          /* NULL: omitted */
    uint32_t limit;
    bool presences;
    const char *user_ids_json;  /* NULL: omitted */
    const char *nonce;          /* NULL: omitted; at most 32 bytes */
} dgw_request_members;
DGW_API dgw_err dgw_conn_request_guild_members(dgw_conn *c,
                                               const dgw_request_members *r,
                                               uint64_t now_ms);

/* Op 31. guild_ids: n snowflakes as decimal text. */
DGW_API dgw_err dgw_conn_request_soundboard_sounds(dgw_conn *c,
                                                   const char *const *guild_ids,
                                                   size_t n, uint64_t now_ms);

/* Op 43, Request Channel Info: ephemeral data of a guild's channels. fields
 * is a bit set of DGW_CHANNEL_INFO_* (at least one). The gateway answers
 * with a CHANNEL_INFO dispatch whose d is {"guild_id", "channels": [{"id",
 * "status"?, "voice_start_time"?}]} (voice_start_time in Unix seconds). */
#define DGW_CHANNEL_INFO_STATUS 1u
#define DGW_CHANNEL_INFO_VOICE_START_TIME 2u
DGW_API dgw_err dgw_conn_request_channel_info(dgw_conn *c, const char *guild_id,
                                              unsigned fields, uint64_t now_ms);

/* Closes the connection with a close frame. code 1000 or 1001 ends the
 * session on Discord's side (no resume); any other valid code keeps it.
 * reason: NULL or at most 123 bytes of UTF-8. The connection moves to
 * DGW_STATE_CLOSING and DGW_EV_CLOSED follows when the server answers or
 * close_timeout_ms passes. Before the WebSocket is open
 * (DGW_STATE_UPGRADING) there is nothing to tell the server: the
 * connection moves straight to DGW_STATE_CLOSED with DGW_EV_CLOSED
 * (close_code 0). Errors: DGW_ERR_INVALID_ARGUMENT, DGW_ERR_STATE (idle,
 * closing or closed). */
DGW_API dgw_err dgw_conn_close(dgw_conn *c, uint16_t code, const char *reason,
                               uint64_t now_ms);

/* After DGW_EV_CLOSED (after a failed connect, call dgw_conn_recv_eof()
 * first): prepares the next attempt and stores in *wait_ms how long to
 * wait before dgw_conn_start(). The wait is 0 when the attempt that ended
 * had a session up for at least backoff_stable_ms; otherwise each attempt
 * in a row backs off exponentially from backoff_base_ms, with jitter (half
 * fixed, half random), capped at backoff_max_ms. It is never less than a
 * rejected upgrade's Retry-After (up to an hour), nor, when the next
 * attempt will IDENTIFY, the time IDENTIFY must still wait. A resume URL
 * that failed before its WebSocket opened is not used again for this
 * session: the next attempt RESUMEs at the configured URL. Errors:
 * DGW_ERR_STATE unless DGW_STATE_CLOSED; DGW_ERR_FATAL_CLOSE when the last
 * close code forbids reconnecting. */
DGW_API dgw_err dgw_conn_reconnect(dgw_conn *c, uint64_t now_ms,
                                   uint32_t *wait_ms);

/* (identify_gate) Lets the IDENTIFY that DGW_EV_IDENTIFY_WANTED announced
 * go now: it is sent at once, ahead of any queued command, and the caller
 * counts it against its bucket. Errors: DGW_ERR_STATE when no IDENTIFY is
 * waiting (it was never wanted, already sent, or the connection closed:
 * then the next connection asks again). */
DGW_API dgw_err dgw_conn_identify_permit(dgw_conn *c, uint64_t now_ms);

/* Gives a new connection (or one in DGW_STATE_IDLE) a session saved from an
 * earlier process, so that its next start() RESUMEs instead of spending a
 * session start: session_id and seq from dgw_conn_session_id() and
 * dgw_conn_last_seq() (seq < 0: none), resume_url from
 * dgw_conn_resume_url() (NULL: the gateway URL; one whose scheme differs
 * from the gateway URL's is ignored, as from READY). If the gateway no
 * longer knows the session it answers INVALID_SESSION and the connection
 * IDENTIFYs (through the gate when it is on). Errors:
 * DGW_ERR_INVALID_ARGUMENT (session_id empty, over 127 bytes or not UTF-8),
 * DGW_ERR_STATE (not IDLE), DGW_ERR_NOMEM. */
DGW_API dgw_err dgw_conn_restore_session(dgw_conn *c, const char *session_id,
                                         int64_t seq, const char *resume_url);

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

/* What ended an attempt (dgw_event.end_cause, dgw_stats.ended_by). */
typedef enum dgw_end_cause {
    DGW_END_SERVER_CLOSE,   /* the server's close frame (its code decides) */
    DGW_END_RECONNECT,      /* op 7 RECONNECT */
    DGW_END_INVALID_SESSION, /* op 9 d=true (d=false stays connected) */
    DGW_END_ZOMBIE,         /* no heartbeat ACK */
    DGW_END_TIMEOUT,        /* upgrade, HELLO, READY/RESUMED or close timed out */
    DGW_END_EOF,            /* the transport ended without a close frame */
    DGW_END_REJECTED,       /* the upgrade was answered with another status */
    DGW_END_ERROR,          /* a protocol error, or no memory */
    DGW_END_CALLER,         /* dgw_conn_close() */
    DGW_END__COUNT
} dgw_end_cause;

/* Counters of one connection object over its whole life (all attempts).
 * Reading them costs a copy; nothing is counted that the connection does
 * not do anyway. */
typedef struct dgw_stats {
    uint64_t attempts;          /* start() calls */
    uint64_t identifies;        /* IDENTIFYs sent (session starts spent) */
    uint64_t resumes;           /* RESUMEs sent */
    uint64_t ended_by[DGW_END__COUNT]; /* attempts ended, by cause */
    uint64_t bytes_in;          /* bytes taken by dgw_conn_recv() */
    uint64_t bytes_out;         /* bytes consumed from the output */
    uint64_t payload_bytes_in;  /* received payloads, inflated */
    uint64_t events;            /* payload events delivered (HELLO,
                                   DISPATCH, ACK, RECONNECT, ...) */
    uint64_t dispatches;
    uint64_t commands_sent;     /* caller commands that went out */
    uint64_t commands_queued;   /* ... that waited in the queue first */
    uint64_t commands_dropped;  /* ... accepted, then dropped with their
                                   session */
    uint64_t heartbeats_sent;
    uint64_t heartbeats_acked;
    int64_t latency_ms;         /* last heartbeat round trip, -1 none */
    int64_t latency_avg_ms;     /* smoothed (1/8 weight per sample), -1 */
} dgw_stats;

/* Copies the connection's counters into *out. */
DGW_API void dgw_conn_stats(const dgw_conn *c, dgw_stats *out);

/* ------------------------------------------------------------------------ */
/* Sharding                                                                  */

/* The shard a guild's events go to: (guild_id >> 22) % num_shards.
 * num_shards 0 gives 0. */
DGW_API uint32_t dgw_shard_for_guild(uint64_t guild_id, uint32_t num_shards);

/* The IDENTIFY bucket of a shard: shard_id % max_concurrency. Shards of a
 * bucket IDENTIFY at most once per 5 s together; buckets are independent.
 * max_concurrency 0 counts as 1. */
DGW_API uint32_t dgw_shard_bucket(uint32_t shard_id, uint32_t max_concurrency);

/* The body of GET /gateway/bot. */
typedef struct dgw_gateway_bot {
    char url[256];              /* "wss://gateway.discord.gg" */
    uint32_t shards;            /* recommended shard count (>= 1) */
    uint32_t total;             /* session_start_limit.total */
    uint32_t remaining;         /* ... .remaining: IDENTIFYs left */
    uint64_t reset_after_ms;    /* ... .reset_after */
    uint32_t max_concurrency;   /* ... .max_concurrency (>= 1) */
} dgw_gateway_bot;

/* Parses a /gateway/bot body. DGW_OK, or DGW_ERR_INVALID_ARGUMENT with
 * *why (not NULL) naming the field that is missing, of the wrong type or out
 * of range (a URL over 255 bytes, shards or max_concurrency 0). Unknown
 * fields are ignored. */
DGW_API dgw_err dgw_parse_gateway_bot(const char *json, size_t len,
                                      dgw_gateway_bot *out, const char **why);

/* ------------------------------------------------------------------------ */
/* State and helpers                                                         */

/* Getters accept NULL and then return the "none" value. */
DGW_API dgw_state dgw_conn_state(const dgw_conn *c);
DGW_API const char *dgw_state_name(dgw_state s);

/* A description of the last error on c, naming what was wrong (never the
 * token), or of the last thing refused (a resume_gateway_url with another
 * scheme). "" when there was none. Valid until the next call on c. */
DGW_API const char *dgw_conn_last_error(const dgw_conn *c);

/* Session data: NULL / -1 when there is none. */
DGW_API const char *dgw_conn_session_id(const dgw_conn *c);
DGW_API const char *dgw_conn_resume_url(const dgw_conn *c);
DGW_API int64_t dgw_conn_last_seq(const dgw_conn *c);
DGW_API bool dgw_conn_can_resume(const dgw_conn *c);

/* Heartbeat: the interval from HELLO (0 before) and the last measured
 * round trip (-1 before the first ACK). */
DGW_API uint32_t dgw_conn_heartbeat_interval(const dgw_conn *c);
DGW_API int64_t dgw_conn_latency(const dgw_conn *c);

/* Bytes the connection holds right now through the allocator (buffers,
 * inflate state, queues, the struct itself). */
DGW_API size_t dgw_conn_memory(const dgw_conn *c);

/* True for the close codes after which a client must not reconnect:
 * 4004, 4010, 4011, 4012, 4013, 4014. */
DGW_API bool dgw_close_code_is_fatal(uint16_t code);

/* True when a close with this code, received from the server, still lets
 * the client resume (4003, 4007 and 4009 mean a new session). */
DGW_API bool dgw_close_code_keeps_session(uint16_t code);

/* A short name for a gateway close code ("authentication failed"), or
 * NULL for codes the table does not know. */
DGW_API const char *dgw_close_code_name(uint16_t code);

/* Parses the event's "d" with cJSON. Returns a cJSON* (declared as void*
 * so this header does not need cJSON's) to free with cJSON_Delete(), or
 * NULL when d is absent or not JSON. */
DGW_API void *dgw_event_parse_data(const dgw_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* DGW_H */
