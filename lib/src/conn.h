/* conn.h - the connection object shared by the lib's modules.
 *
 * Module map:
 *   conn.c       public entry points, states, events, timers, reconnect
 *   ws.c         WebSocket frames in and out (wslay's frame API)
 *   gateway.c    payloads: op dispatch, HELLO, READY, heartbeat bookkeeping
 *   commands.c   payloads we send (IDENTIFY, RESUME, op 3/4/8/31, raw)
 *   handshake.c  HTTP upgrade; decompress.c zlib/zstd; json.c scanner;
 *   ratelimit.c  send window; errors.c codes, names, messages
 */
#ifndef DGW_CONN_H
#define DGW_CONN_H

#include <wslay/wslay.h>

#include "buf.h"
#include "decompress.h"
#include "dgw.h"
#include "handshake.h"
#include "json.h"
#include "mem.h"
#include "ratelimit.h"
#include "url.h"
#include "utf8.h"

#define DGW_EVQ_LEN 4          /* events one message can cause, with room */
#define DGW_NAME_MAX 64        /* longest event name kept */
#define DGW_SESSION_ID_MAX 128
#define DGW_ERRMSG_MAX 200
#define DGW_KEEP_CAP 4096      /* buffers larger than this are freed when idle */

/* What the WebSocket reader is in the middle of. */
typedef struct dgw_ws_rx {
    uint64_t frame_left;   /* payload bytes of the current frame still due */
    bool in_frame;
    uint8_t frame_op;      /* opcode of the current frame */
    bool frame_fin;
    bool in_message;       /* a fragmented data message is open */
    uint8_t msg_op;        /* TEXT or BINARY of the open message */
    uint64_t msg_size;     /* wire bytes of the open message */
    dgw_utf8 utf8;
    uint8_t ctrl[125];
    uint8_t ctrl_len;
} dgw_ws_rx;

typedef struct dgw_evslot {
    dgw_event ev;
    char name[DGW_NAME_MAX];
} dgw_evslot;

struct dgw_conn {
    dgw_mem mem;
    dgw_config cfg;          /* limits resolved; strings point at copies */
    char *url_copy, *token, *os, *browser, *device, *presence;
    dgw_url gateway_url;
    dgw_url current_url;     /* this attempt's endpoint */
    const char *query;

    dgw_state state;
    uint64_t now;

    /* transport */
    dgw_buf out;
    dgw_buf http;            /* upgrade response while UPGRADING */
    dgw_http_response resp;
    bool resp_head_done;     /* a non-101 head was read; body follows */
    char ws_key[DGW_WS_KEY_LEN + 1];
    wslay_frame_context_ptr wsf;
    const uint8_t *in;       /* bytes of the current dgw_conn_recv() */
    size_t in_len;
    dgw_ws_rx rx;
    dgw_decoder dec;
    dgw_buf msg;             /* the payload being assembled/inflated */
    bool msg_busy;           /* events point into msg */

    /* events */
    dgw_evslot evq[DGW_EVQ_LEN];
    unsigned ev_head, ev_count;

    /* session */
    char session_id[DGW_SESSION_ID_MAX];
    char *resume_url;
    int64_t seq;

    /* heartbeat */
    uint32_t hb_interval;
    uint64_t hb_next;        /* next regular beat, 0: none scheduled */
    uint64_t hb_sent_at;
    bool hb_acked;
    bool hb_deferred;        /* a beat waits for a rate-limit slot */
    int64_t latency;

    /* deadlines (0: none) */
    uint64_t identify_at;    /* INVALID_SESSION d=false: IDENTIFY after this */
    bool identify_pending;   /* IDENTIFY waits for identify_at */
    uint64_t handshake_deadline;
    uint64_t close_deadline;

    /* close */
    bool close_sent, close_received;
    uint16_t close_code;
    bool closed_by_server;
    bool fatal;
    dgw_err close_err;
    char close_reason[124];
    size_t close_reason_len;

    /* reconnect */
    uint32_t attempts;       /* attempts since the last READY/RESUMED */

    dgw_ratelimit rl;
    char errmsg[DGW_ERRMSG_MAX];
};

/* conn.c */
dgw_evslot *dgw_push_event(dgw_conn *c, dgw_event_type type);
/* Records the error message (parts are concatenated) and returns err. */
dgw_err dgw_set_error(dgw_conn *c, dgw_err err, const char *a, const char *b);
/* Fails the connection: sends a close frame with ws_code when the
 * WebSocket is open, moves to CLOSED, queues DGW_EV_CLOSED. Returns err. */
dgw_err dgw_fail(dgw_conn *c, dgw_err err, uint16_t ws_code, const char *a,
                 const char *b);
/* Queues our close frame and moves to CLOSING (reason may be NULL). */
dgw_err dgw_begin_close(dgw_conn *c, uint16_t code, const char *reason);
/* The transport is finished: queue DGW_EV_CLOSED with what we know. */
void dgw_finish_close(dgw_conn *c, dgw_err err);
void dgw_clear_session(dgw_conn *c);
bool dgw_has_session(const dgw_conn *c);
uint32_t dgw_random_u32(dgw_conn *c);

/* ws.c */
int dgw_ws_open(dgw_conn *c);
void dgw_ws_close_ctx(dgw_conn *c);
/* Decodes frames from c->in (and wslay's buffer) until an event is queued,
 * input runs out, or the connection fails. */
dgw_err dgw_ws_pump(dgw_conn *c);
dgw_err dgw_ws_send(dgw_conn *c, uint8_t opcode, const void *data, size_t n);
dgw_err dgw_ws_send_close(dgw_conn *c, uint16_t code, const char *reason,
                          size_t reason_len);

/* gateway.c */
dgw_err dgw_gw_payload(dgw_conn *c, const char *p, size_t n);
dgw_err dgw_gw_heartbeat(dgw_conn *c);
dgw_err dgw_gw_timeouts(dgw_conn *c);
uint64_t dgw_gw_next_timeout(const dgw_conn *c);

/* commands.c */
void dgw_cmd_build_identify(const dgw_conn *c, dgw_jw *w);
dgw_err dgw_cmd_identify(dgw_conn *c);
dgw_err dgw_cmd_resume(dgw_conn *c);
/* Sends a whole payload now or queues it behind the rate limit. */
dgw_err dgw_cmd_submit(dgw_conn *c, const char *p, size_t n, bool heartbeat);
dgw_err dgw_cmd_flush_queue(dgw_conn *c);

#endif
