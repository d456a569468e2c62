/* conn.h - the connection object and the internals of its owner.
 *
 * Module map (each module but the connection itself is a leaf: it decides
 * or builds and returns; it never changes the connection's state):
 *   conn.c       the transition table and the one function that applies
 *                it, with the actions of every input
 *   drive.c      what drives it: the caller's calls, received bytes and
 *                timers, each turned into an input
 *   conn_setup.c creation, configuration, getters
 *   send.c       the send path: frames out, rate limit, command queue, the
 *                public command calls
 *   ws.c         WebSocket messages from frames; frame.c the frames
 *   gateway.c    what a received payload says
 *   heartbeat.c  the heartbeat schedule and ACK accounting
 *   commands.c   the payloads we send
 *   handshake.c  HTTP upgrade; decompress.c zlib/zstd; json.c scanner and
 *   writer; ratelimit.c the send window; errors.c codes and names
 */
#ifndef DGW_CONN_H
#define DGW_CONN_H

#include "buf.h"
#include "decompress.h"
#include "dgw.h"
#include "etf.h"
#include "payload_inflate.h"
#include "gateway.h"
#include "handshake.h"
#include "heartbeat.h"
#include "json.h"
#include "mem.h"
#include "ratelimit.h"
#include "url.h"
#include "ws.h"

#define DGW_EVQ_LEN 8         /* events one input can queue, with room */
#define DGW_NAME_INLINE 64    /* event names shorter than this live inline */
#define DGW_ERRMSG_MAX 200
#define DGW_KEEP_CAP 4096     /* buffers larger than this are freed when idle */
#define DGW_OUT_MAX (1u << 20) /* unwritten output the caller may leave */


/* What moves the state machine: every transition has one of these. */
typedef enum dgw_input {
    IN_START,            /* caller: start() */
    IN_UPGRADED,         /* a valid 101 */
    IN_REJECTED,         /* another status, body complete */
    IN_HELLO_IDENTIFY,   /* first HELLO, no session */
    IN_HELLO_RESUME,     /* first HELLO, a session to resume */
    IN_HELLO_AGAIN,      /* a later HELLO */
    IN_IDENTIFY_DUE,     /* timer: the IDENTIFY waited out its delay, or
                            (gate) the caller's permit */
    IN_READY,            /* dispatch READY */
    IN_RESUMED,          /* dispatch RESUMED */
    IN_DISPATCH,         /* any other dispatch */
    IN_ACK,              /* op 11 */
    IN_BEAT_REQUESTED,   /* op 1 */
    IN_RECONNECT_OP,     /* op 7 */
    IN_INVALID_RESUME,   /* op 9 d=true with a session */
    IN_INVALID_NEW,      /* op 9 d=false (or true without a session) */
    IN_OTHER,            /* a payload reported but not acted on */
    IN_PING,             /* a WebSocket ping */
    IN_SERVER_CLOSE,     /* the server's close frame */
    IN_EOF,              /* caller: recv_eof() */
    IN_FAILURE,          /* a protocol error, or no memory */
    IN_HANDSHAKE_TIMEOUT,/* timer: no 101 or HELLO in time */
    IN_READY_TIMEOUT,    /* timer: no READY or RESUMED in time */
    IN_BEAT_DUE,         /* timer: a heartbeat (regular or deferred) */
    IN_ZOMBIE,           /* timer: an ACK a whole interval late */
    IN_FLUSH_DUE,        /* timer: queued commands may go */
    IN_CLOSE_TIMEOUT,    /* timer: the server did not answer our close */
    IN_CALLER_CLOSE,     /* caller: close() */
    IN_RECONNECT,        /* caller: reconnect() */
    IN__COUNT
} dgw_input;

/* One row of the transition table: from any state in `from` (a bit set of
 * dgw_state), input `in` leads to `to` (DGW_SAME: no change). */
#define DGW_SAME 0xff
typedef struct dgw_edge {
    dgw_input in;
    uint16_t from;
    uint8_t to;
} dgw_edge;

/* The table, for the test that checks docs/state-machine.dot against it
 * and the tool that draws it. */
const dgw_edge *dgw_transitions(size_t *n);
const char *dgw_input_name(dgw_input in);
/* The timers that can run in a state, for the diagram (NULL: none). */
const char *dgw_state_timers(dgw_state s);

/* The details an input carries. */
typedef struct dgw_in {
    dgw_input kind;
    const dgw_gw_msg *msg;      /* payload inputs */
    const char *payload;        /* the whole payload, for events */
    size_t payload_len;
    const uint8_t *ctrl;        /* ping payload, close reason */
    size_t ctrl_len;
    uint16_t code;              /* server or caller close code; failure
                                   close code */
    bool regular;               /* IN_BEAT_DUE: the scheduled beat */
    dgw_err err;                /* IN_FAILURE */
    const char *why, *why2;     /* IN_FAILURE message parts */
} dgw_in;

struct dgw_conn {
    dgw_mem mem;
    dgw_config cfg;          /* limits resolved; strings point at copies */
    char *url_copy, *token, *os, *browser, *device, *presence;
    dgw_url gateway_url;
    dgw_url current_url;     /* this attempt's endpoint */
    bool current_is_resume;  /* ... is the session's resume URL */
    char query[64];          /* v=10&encoding=...[&compress=...] */

    dgw_state state;
    uint64_t now;

    /* transport */
    dgw_buf out;
    dgw_buf http;            /* upgrade response while UPGRADING */
    dgw_http_response resp;
    bool resp_head_done;     /* a non-101 head was read; body follows */
    char ws_key[DGW_WS_KEY_LEN + 1];
    dgw_ws ws;
    dgw_decoder dec;
    dgw_buf msg;             /* the payload being assembled/inflated */
    dgw_buf decoded;         /* ETF rendered as JSON, or a payload-
                                compressed message inflated */
    dgw_etf_decoder etf;
    dgw_payload_inflater pz;
    dgw_buf long_name;       /* an event name over DGW_NAME_INLINE */
    bool msg_busy;           /* events point into msg / long_name */
    bool failed_in_call;     /* the current recv() ended in an error */
    dgw_err call_err;

    /* events */
    dgw_event evq[DGW_EVQ_LEN];
    /* The name of the one dispatch event that can be pending (decoding
     * stops at it): here when short, in long_name otherwise. */
    char name[DGW_NAME_INLINE];
    unsigned ev_head, ev_count;

    /* session */
    char session_id[DGW_SESSION_ID_MAX];
    char *resume_url;
    bool resume_url_failed;  /* it failed before the WebSocket opened */
    int64_t seq;

    dgw_heartbeat hb;

    /* IDENTIFY and RESUME */
    bool session_sent;       /* IDENTIFY or RESUME is out on this connection */
    bool identify_pending;   /* IDENTIFY is due on this connection, waiting */
    bool identify_wanted;    /* (gate) DGW_EV_IDENTIFY_WANTED was queued */
    bool identify_permitted; /* (gate) the caller said go */
    uint64_t identify_not_before; /* INVALID_SESSION's wait, the 5 s window */
    uint64_t last_identify;  /* 0: never */

    /* deadlines (0: none) */
    uint64_t handshake_deadline;
    uint64_t ready_deadline;
    uint64_t close_deadline;

    /* close */
    bool close_sent;
    uint16_t close_code;
    bool closed_by_server;
    bool fatal;
    dgw_err close_err;
    dgw_end_cause closing_cause; /* why we sent our close frame */
    char close_reason[123];
    size_t close_reason_len;

    /* reconnect */
    uint32_t failures;       /* attempts since the last stable session */
    bool reached_open;       /* this attempt's WebSocket opened */
    uint64_t connected_at;   /* this attempt reached CONNECTED (0: no) */
    uint32_t retry_after_ms; /* a rejection's Retry-After */
    uint32_t next_wait;      /* what reconnect() returns */

    dgw_ratelimit rl;
    dgw_stats stats;
    char errmsg[DGW_ERRMSG_MAX];
};

/* conn.c */
/* Applies an input: the one place where the state changes. */
void dgw_step(dgw_conn *c, const dgw_in *in);
/* Records the error message (parts are concatenated) and returns err. */
dgw_err dgw_set_error(dgw_conn *c, dgw_err err, const char *a, const char *b);
uint32_t dgw_random_u32(dgw_conn *c);
bool dgw_has_session(const dgw_conn *c);
/* Points current_url at the next attempt's endpoint. */
void dgw_conn_pick_url(dgw_conn *c);
dgw_event *dgw_push_event(dgw_conn *c, dgw_event_type type);

/* send.c */
typedef enum dgw_send_kind {
    DGW_SEND_COMMAND,   /* caller commands: queued behind the session */
    DGW_SEND_SESSION,   /* IDENTIFY, RESUME: never behind the queue */
    DGW_SEND_HEARTBEAT  /* may use the slots kept for heartbeats */
} dgw_send_kind;
/* Appends one masked frame to the output, all or nothing. */
dgw_err dgw_send_frame(dgw_conn *c, uint8_t opcode, const void *p, size_t n);
/* May a payload of this kind take a rate-limit slot now? */
bool dgw_send_slot(dgw_conn *c, dgw_send_kind kind);
/* The wire form of a payload built as JSON text: the text itself (JSON)
 * or its ETF encoding in buf. DGW_ERR_SEND_TOO_LARGE over 4096 bytes on
 * the wire; DGW_ERR_INVALID_ARGUMENT when ETF cannot carry it; *why says
 * which. */
dgw_err dgw_send_prepare(dgw_encoding enc, const char *json, size_t n,
                         uint8_t buf[DGW_MAX_SEND_PAYLOAD],
                         const uint8_t **wire, size_t *wire_n,
                         const char **why);
/* Sends a payload in its wire form, which has its slot (it is counted
 * against the window). */
dgw_err dgw_send_wire(dgw_conn *c, const uint8_t *p, size_t n,
                      dgw_send_kind kind);
/* dgw_send_prepare() then dgw_send_wire(), for what the library sends. */
dgw_err dgw_send_payload(dgw_conn *c, const char *json, size_t n,
                         dgw_send_kind kind);
/* Sends queued commands while the session is out and slots are free. */
dgw_err dgw_send_flush(dgw_conn *c);
/* Drops every queued command (a new session); they are reported with
 * DGW_EV_COMMANDS_DROPPED. */
void dgw_send_drop_queue(dgw_conn *c);
/* When a queued command or a deferred beat can next go
 * (DGW_NO_TIMEOUT: nothing waits). */
uint64_t dgw_send_next_due(const dgw_conn *c);
/* When a waiting IDENTIFY may go: its delays are over and a slot is free. */
uint64_t dgw_send_session_due(const dgw_conn *c);
/* True when queued commands can go now. */
bool dgw_send_can_flush(const dgw_conn *c);

#endif
