/* Connection internals shared by loop.c and the conn*.c files (not for
 * apps): conn.c holds the life cycle, the HTTP phase, the pump and the
 * app-facing calls; conn_ws.c the wslay glue behind the frame gate;
 * conn_io.c the output queue and the byte movers (plain and TLS). */
#ifndef MG_CONN_H
#define MG_CONN_H

#include "server.h"

/* ---- conn.c ---- */
/* A connection on fd (io NULL: the socket) in the HTTP phase. */
mg_conn *mg_conn_new(mg_server *s, int fd, const mg_conn_io *io, const char *peer);
/* Handles epoll readiness. */
void mg_conn_on_event(mg_conn *c, uint32_t events);
/* Resumes paused writes and acts on c's deadlines (upgrade timeout,
 * linger, a client that reads nothing); returns 1 when it answered or
 * closed c, 0 otherwise. */
int mg_conn_sweep(mg_conn *c, uint64_t now);
/* Makes progress within this turn's budget (read, hand to the app, write);
 * puts the connection on the ready list when the budget ran out. */
void mg_conn_pump(mg_conn *c);
/* Pumps c on the loop's next pass (now, if c is being pumped). */
void mg_conn_schedule(mg_conn *c);
/* Frees a dead connection; calls the app's on_closed. */
void mg_conn_destroy(mg_conn *c, const char *why);
/* Bytes from the peer (plaintext). */
void mg_conn_input(mg_conn *c, const uint8_t *data, size_t n);
/* Whether c takes more input now (buffers below their high-water marks). */
int mg_conn_input_wanted(const mg_conn *c);
/* Whether the socket may be read now: readable, input wanted, and this
 * turn's read budget not spent (else c->yielded). */
int mg_conn_may_read(mg_conn *c);
void mg_conn_on_eof(mg_conn *c);
/* Ends writing after the queue drains, then waits for the peer's EOF. */
void mg_conn_start_flush(mg_conn *c);

/* ---- conn_io.c ---- */
/* Queues n bytes of output with a pause after them. Returns 0, or -1 when
 * a cap cut the connection (or memory ran out). */
int mg_conn_out_append(mg_conn *c, const void *p, size_t n, uint32_t pause_ms);
/* The same in two halves, for bytes written in place: room for n bytes at
 * the end of the queue (NULL when a cap cut the connection), then the
 * first n bytes written there queued. */
uint8_t *mg_conn_out_reserve(mg_conn *c, size_t n);
int mg_conn_out_commit(mg_conn *c, size_t n, uint32_t pause_ms);
/* Drops queued output (the socket is gone) and its share of the total. */
void mg_conn_out_release(mg_conn *c);
/* Nothing left to write (queue and TLS records). */
int mg_conn_out_drained(mg_conn *c);
/* One round of the byte movers (plain or TLS). Returns whether bytes moved. */
int mg_conn_io_step(mg_conn *c);

/* ---- conn_ws.c ---- */
/* Creates the wslay server context. Returns 0 or -1. */
int mg_conn_ws_open(mg_conn *c);
/* Hands buffered input to wslay through the frame gate, applies decisions
 * made meanwhile, sends what wslay queued. Returns whether anything moved. */
int mg_conn_ws_progress(mg_conn *c);
/* Records a close to send once wslay is not running (first one wins).
 * fails: the stream is broken, so no close handshake: FIN after the frame. */
void mg_conn_ws_decide_close(mg_conn *c, int code, const char *reason, int fails);

#endif
