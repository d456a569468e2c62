/* The network side of the mock gateway: one epoll loop, non-blocking
 * sockets, HTTP upgrade and REST, WebSocket (wslay), optional TLS.
 *
 * What the server says over a WebSocket is decided by an "app": the
 * Discord-like default mode (default_mode.c) or a scenario (scenario_run.c).
 * The app gets callbacks and answers through the mg_conn_* functions. */
#ifndef MG_SERVER_H
#define MG_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "compress.h"
#include "http.h"
#include "log.h"
#include "rest.h"
#include "tls.h"
#include "ws.h"

#define MG_UPGRADE_TIMEOUT_MS 10000u /* a client that sends no request */
#define MG_CLOSE_TIMEOUT_MS 3000u    /* waiting for the client's close frame */
#define MG_LINGER_TIMEOUT_MS 2000u   /* waiting for EOF after our FIN */

/* What one client may cost the server (README.md, "Hostile clients"). */
/* Work per connection per loop turn; then the others get theirs, and the
 * connection resumes on the next turn (epoll is edge-triggered, so it is
 * put on the ready list rather than waiting for a new event). */
#define MG_TURN_READ_BYTES (16u << 10) /* bytes read from its socket */
#define MG_TURN_FRAMES 16u             /* client frames handed to wslay */
/* Work of the loop per turn: an honest client waits about one turn, and a
 * turn costs about (connections served) x (their budgets). */
#define MG_TURN_EVENTS 128  /* epoll events handled */
#define MG_TURN_SWEEPS 64   /* connections answered or closed on a deadline */
#define MG_TURN_ACCEPTS 32u /* new connections (the listening socket is level-triggered) */
#define MG_TURN_READY 128u  /* connections resumed from the ready list */
/* Every client frame (data, continuation, ping, pong, close) takes a
 * credit; credits refill at MG_FRAME_RATE per second up to MG_FRAME_BURST.
 * Without one: close 1008. A 4096-byte payload in 1-byte fragments fits. */
#define MG_FRAME_BURST 5000u
#define MG_FRAME_RATE 100u
#define MG_MAX_MESSAGE (64u << 10) /* client message cap, else close 1009 (payloads: 4096) */
#define MG_INPUT_HIGH_WATER (64u << 10) /* unparsed input held before reading stops */
/* Output: a client is not read while this much waits for it (what it
 * sends cannot add more), and is cut past MG_MAX_PENDING_OUTPUT (what the
 * app queues on its own, a scenario's stream) or when its socket accepted
 * nothing for MG_WRITE_STALL_MS. Across all connections, output over the
 * server's max_total_output cuts the connection with the largest backlog. */
#define MG_OUTPUT_HIGH_WATER (1u << 20)
#define MG_MAX_PENDING_OUTPUT (32u << 20)
#define MG_MAX_TOTAL_OUTPUT (256u << 20) /* default of max_total_output */
#define MG_WRITE_STALL_MS 10000u

typedef struct mg_server mg_server;
typedef struct mg_conn mg_conn;

/* How a connection's bytes reach its peer: mg_socket_io in the server; the
 * fuzz target drives connections from memory with its own. recv and send
 * return the bytes moved (> 0), MG_IO_EOF (recv: the peer ended), or
 * MG_IO_AGAIN / MG_IO_ERROR. */
enum { MG_IO_EOF = 0, MG_IO_AGAIN = -1, MG_IO_ERROR = -2 };
typedef struct mg_conn_io {
    long (*recv)(mg_conn *c, void *buf, size_t len);
    long (*send)(mg_conn *c, const void *buf, size_t len);
    void (*shutdown_write)(mg_conn *c); /* FIN after the last byte */
    void (*close)(mg_conn *c);          /* called once */
} mg_conn_io;
extern const mg_conn_io mg_socket_io; /* recv/send/shutdown/close on c->fd */

typedef enum mg_conn_state {
    MG_CONN_HTTP,    /* reading the request head */
    MG_CONN_HELD,    /* upgrade request read, app has not answered yet */
    MG_CONN_WS,      /* WebSocket open */
    MG_CONN_CLOSING, /* close frame queued, waiting for the client's */
    MG_CONN_FLUSH,   /* sending what is queued, then FIN */
    MG_CONN_LINGER   /* FIN sent, draining until EOF */
} mg_conn_state;

/* How a connection ended, for the app's on_closed. */
typedef struct mg_close_info {
    int code_received; /* close code from the client, 0 none, 1005 no code */
    int code_sent;     /* close code we sent, 0 none */
    int peer_dropped;  /* TCP ended without a close frame from the client */
    const char *server_fault; /* the server cut it itself (backlog, memory):
                                 why; NULL when the peer ended it */
    const char *why;   /* short text for logs */
} mg_close_info;

typedef struct mg_app_ops {
    /* A valid upgrade request arrived. Return 0 to accept now (101 sent),
     * 1 to hold the connection until the app calls mg_conn_accept/reject. */
    int (*on_upgrade)(void *app, mg_conn *c, const mg_http_request *req, const mg_upgrade_info *up);
    /* 101 sent: the WebSocket is open. */
    void (*on_open)(void *app, mg_conn *c);
    void (*on_message)(void *app, mg_conn *c, int opcode, const uint8_t *data, size_t len);
    void (*on_pong)(void *app, mg_conn *c, const uint8_t *data, size_t len);
    void (*on_peer_close)(void *app, mg_conn *c, int code, const uint8_t *reason, size_t len);
    /* The connection is gone; the app must forget c. */
    void (*on_closed)(void *app, mg_conn *c, const mg_close_info *info);
    /* Called every loop iteration (at least every 100 ms). */
    void (*on_tick)(void *app, uint64_t now_ms);
    /* What GET /gateway/bot reports (shards, buckets, budget); NULL: one
     * shard and a budget that never runs out. */
    void (*gateway_bot)(void *app, uint64_t now_ms, mg_gateway_bot *out);
} mg_app_ops;

typedef struct mg_server_config {
    const char *listen;     /* "host:port" */
    const mg_tls_config *tls; /* NULL: plain ws:// */
    mg_logger log;
    const char *const *secrets; /* redacted in logs */
    uint32_t upgrade_timeout_ms; /* 0: MG_UPGRADE_TIMEOUT_MS */
    size_t max_total_output;     /* bytes queued for all clients together; 0: MG_MAX_TOTAL_OUTPUT */
} mg_server_config;

/* Options shaping how one payload goes on the wire. */
typedef struct mg_send_opts {
    mg_splits message_splits; /* cut the (compressed) bytes into several messages */
    mg_splits frame_splits;   /* cut each message into fragments */
    mg_splits write_splits;   /* cut the encoded bytes into separate TCP writes */
    uint32_t write_delay_ms;  /* pause after each cut write (default 2 when cut) */
    long ping_len;            /* >= 0: ping after the first fragment */
    const uint8_t *ping;
    int zpayload;             /* an mg_zpayload: send as one whole zlib stream */
} mg_send_opts;

struct mg_conn {
    mg_server *srv;
    uint64_t id;
    int fd; /* -1 when io is not the socket one */
    const mg_conn_io *io;
    void *io_arg; /* for io (the fuzz target's memory transport) */
    size_t slot; /* index in srv->conns */
    mg_conn_state state;
    mg_tls_conn *tls;
    char peer[64];
    mg_buf in;   /* request head (HTTP phase) */
    mg_buf wsin; /* bytes for wslay */
    mg_buf out;  /* plaintext waiting to be written */
    /* Write segments: lengths of the pending output with a pause after each. */
    struct mg_seg {
        size_t len;
        uint32_t pause_ms;
    } *segs;
    size_t nsegs, capsegs;
    uint64_t write_resume_ms; /* 0: not paused */
    wslay_event_context_ptr ws;
    mg_compressor *comp;
    int etf;      /* encoding=etf: payloads are ETF in binary frames */
    mg_upgrade_info up;
    char query[256];
    uint64_t created_ms;
    uint64_t deadline_ms; /* core timeout for HTTP/CLOSING/LINGER; 0 none */
    uint64_t output_progress_ms; /* output last moved (or started waiting) */
    int readable; /* the socket may have bytes (edge-triggered: until EAGAIN) */
    int in_pump, pump_again;
    /* This loop turn's budget (MG_TURN_*): counters belong to srv->turn. */
    uint64_t turn;
    size_t turn_read;
    unsigned turn_frames;
    int yielded;   /* a budget stopped work this turn: resume next turn */
    int scheduled; /* on srv->ready */
    /* The frame gate in front of wslay (conn_ws.c). */
    uint64_t gate_left; /* bytes of the current frame not yet given to wslay */
    mg_ws_credit frames; /* MG_FRAME_BURST / MG_FRAME_RATE */
    /* A close decided while wslay runs (by the app from a callback, or by
     * the gate) waits here until wslay_event_recv has returned: nothing
     * calls back into wslay from inside its callbacks. */
    int in_wslay;
    int close_code;       /* 0: none pending */
    int close_fails;      /* the stream is broken: no close handshake, FIN after the frame */
    char close_reason[124];
    int dead;
    const char *server_fault; /* set by mg_conn_fail() */
    int peer_eof;
    int code_received;
    void *app_data; /* owned by the app */
};

struct mg_server {
    mg_server_config cfg;
    int epfd, lfd, sigfd;
    char host[64];
    int port;
    char ws_url[128];  /* ws(s)://host:port */
    char api_url[160]; /* http(s)://host:port/api/v10 */
    mg_conn **conns;
    size_t nconns, capconns;
    uint64_t next_id;
    const mg_app_ops *ops;
    void *app;
    int stop;
    uint64_t wake_at;
    uint64_t last_sweep;
    size_t sweep_from; /* where a sweep cut short by MG_TURN_SWEEPS goes on */
    uint64_t accept_paused_until;
    uint64_t turn; /* loop turns so far */
    /* Connections with work left after their budget (pumped next turn). */
    mg_conn **ready;
    size_t nready, capready;
    size_t out_total; /* output bytes queued across connections */
    /* Extra fds watched by the loop (client process pipes). */
    struct mg_watch {
        int fd;
        void (*cb)(void *arg, int fd);
        void *arg;
    } watches[4];
    size_t nwatches;
};

/* Binds and listens (port 0 picks one); fills ws_url/api_url. Returns 0 or
 * -1 with a message in err. Raises RLIMIT_NOFILE to the hard limit. */
int mg_server_init(mg_server *s, const mg_server_config *cfg, char *err, size_t errlen);
/* A server with no listening socket, epoll or signals: its connections come
 * from mg_server_add_conn() with their own transport, and mg_server_step()
 * runs their turns (the fuzz target drives connections from memory so).
 * Free with mg_server_free(). */
void mg_server_init_detached(mg_server *s, const mg_server_config *cfg);
/* Adds a connection on fd (watched by epoll if the server has one) whose
 * bytes go through io (NULL: the socket). Returns it, or NULL when out of
 * memory (fd is then the caller's). */
mg_conn *mg_server_add_conn(mg_server *s, int fd, const mg_conn_io *io, void *io_arg, const char *peer);
void mg_server_set_app(mg_server *s, const mg_app_ops *ops, void *app);
/* Runs until SIGINT/SIGTERM or mg_server_stop(). Returns 0. */
int mg_server_run(mg_server *s);
/* Runs one loop iteration waiting at most max_wait_ms. */
void mg_server_step(mg_server *s, int max_wait_ms);
void mg_server_stop(mg_server *s);
/* Closes every connection now (calling on_closed); the server keeps listening. */
void mg_server_close_all(mg_server *s);
/* Closes every connection (calling on_closed) and frees everything. */
void mg_server_free(mg_server *s);
/* Asks the loop to wake up no later than t (monotonic ms). */
void mg_server_wake_at(mg_server *s, uint64_t t);
int mg_server_watch_fd(mg_server *s, int fd, void (*cb)(void *arg, int fd), void *arg);
void mg_server_unwatch_fd(mg_server *s, int fd);

/* The calls below are safe from any app callback, for any connection:
 * they queue bytes, record decisions and put the connection on the ready
 * list; the loop moves the bytes and runs wslay afterwards. Nothing here
 * reads a socket, calls into wslay or calls the app back, except that
 * mg_conn_accept() calls on_open before it returns. */

/* Answers a held upgrade with 101 (and calls on_open). */
int mg_conn_accept(mg_conn *c);
/* Answers a held upgrade with a status, extra header lines ("A: b\r\n"...,
 * may be NULL) and a body, then closes. */
void mg_conn_reject(mg_conn *c, int status, const char *headers, const char *body);
/* Sends one payload as a text message (binary and compressed when the
 * connection uses transport compression). opts may be NULL. */
int mg_conn_send_payload(mg_conn *c, const char *json, size_t len, const mg_send_opts *opts);
/* Buffers a caller keeps between mg_conn_send_batch() calls, so that a
 * stream of payloads allocates nothing per payload. Start zeroed; free
 * with mg_send_scratch_free(). */
typedef struct mg_send_scratch {
    mg_buf form;  /* one payload as ETF */
    mg_buf wire;  /* the batch's messages as they go on the wire (ETF, compressed) */
    size_t *lens; /* their lengths */
    size_t cap;
} mg_send_scratch;
void mg_send_scratch_free(mg_send_scratch *s);
/* Sends n payloads lying back to back in json (lengths lens[0..n)) as n
 * messages: what n calls of mg_conn_send_payload(c, ..., NULL) send, framed
 * in place in the output queue. Returns 0 or -1. */
int mg_conn_send_batch(mg_conn *c, const char *json, const size_t *lens, size_t n, mg_send_scratch *s);
/* One zlib-stream message assembled from parts (compress.h): plain sent
 * as a stored block, then part, compressed beforehand by mg_part_deflate(). */
typedef struct mg_splice {
    const void *plain;
    size_t plain_len;
    const void *part;
    size_t part_len;
} mg_splice;
/* Whether c takes spliced messages (zlib-stream, JSON, its zlib header
 * sent). */
int mg_conn_can_splice(const mg_conn *c);
/* Sends n spliced messages, one binary frame each. Returns 0 or -1. */
int mg_conn_send_spliced_batch(mg_conn *c, const mg_splice *m, size_t n, mg_send_scratch *s);
/* Bytes queued for c and not yet written to its socket. */
size_t mg_conn_backlog(const mg_conn *c);
/* Writes c's queued output now, as far as its socket takes it, and reads
 * what arrived meanwhile: a turn of the loop for c, so the app's callbacks
 * may run. Does nothing when c is in its turn already. */
void mg_conn_flush(mg_conn *c);
int mg_conn_send_ping(mg_conn *c, const uint8_t *data, size_t len);
/* Sends a close frame (after what is queued) and waits for the client's. */
void mg_conn_close(mg_conn *c, int code, const char *reason);
/* Flushes pending output, then ends TCP without a close frame. */
void mg_conn_drop(mg_conn *c);
/* Closes the socket now. */
void mg_conn_abort(mg_conn *c, const char *why);
/* Like mg_conn_abort(), for a failure of the server's own (output backlog,
 * memory): reported to the app as server_fault, so that a verdict never
 * counts it as the client's drop. */
void mg_conn_fail(mg_conn *c, const char *why);
/* Whether the WebSocket is open for sending. */
int mg_conn_is_open(const mg_conn *c);

#endif
