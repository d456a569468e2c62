/*
 * transport.h - a TCP socket, optionally wrapped in BearSSL's TLS client
 * engine, seen through BearSSL's own model: the application reads from a
 * "received" buffer and writes into a "send" buffer; transport_io() moves
 * bytes between those buffers and the (non-blocking) socket. Plain TCP
 * implements the same four calls with two plain buffers, so the code that
 * drives libdgw is the same for ws:// and wss://.
 *
 * Nothing here locks: the client calls it from one thread only.
 */
#ifndef EXAMPLE_TRANSPORT_H
#define EXAMPLE_TRANSPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "trust.h"

typedef struct transport transport;

typedef enum transport_status {
    TRANSPORT_OK = 0,
    TRANSPORT_EOF = 1,      /* the peer closed (or sent TLS close_notify) */
    TRANSPORT_ERROR = -1,   /* socket error: see transport_error() */
    TRANSPORT_TLS_ERROR = -2 /* TLS failure: see transport_tls_error() */
} transport_status;

/* Resolves host, connects a non-blocking TCP socket (each address in turn,
 * timeout_ms each) and, for tls, prepares the TLS engine (the handshake
 * then runs inside transport_io()). The wait can be cut short: when
 * wake_fd becomes readable and *stop is set, it gives up. ts is needed
 * only for tls and must outlive the transport. Returns NULL and writes a
 * reason to err on failure. */
transport *transport_connect(const char *host, uint16_t port, bool tls,
                             const trust_store *ts, int timeout_ms,
                             int wake_fd, volatile sig_atomic_t *stop,
                             char *err, size_t errlen);

/* The non-blocking variant, for one event loop with many connections:
 * starts a TCP connect to addr (resolved by the caller) and returns at
 * once. host is for TLS (SNI and the certificate check) and messages.
 * Wait until the socket is writable (or reports an error), then ask
 * transport_connect_result(); only then use transport_io(). Returns NULL
 * and writes a reason to err when the connect fails at once. */
transport *transport_start_connect(const struct sockaddr *addr,
                                  socklen_t addrlen, const char *host,
                                  bool tls, const trust_store *ts, char *err,
                                  size_t errlen);

/* After transport_start_connect(): 0 when the TCP connection is up, else
 * the errno that ended it (also kept for transport_error()). */
int transport_connect_result(transport *t);

/* Closes the socket and frees everything. NULL is ignored. */
void transport_free(transport *t);

int transport_fd(const transport *t);

/* Application bytes received and not yet consumed (NULL/0 when none). */
const uint8_t *transport_recv_buf(transport *t, size_t *len);
void transport_recv_ack(transport *t, size_t n);

/* Room for application bytes to send (NULL/0 when none right now, e.g.
 * during the TLS handshake or while the socket is backed up). */
uint8_t *transport_send_buf(transport *t, size_t *len);
/* Marks n bytes of that room as filled; they go out at the next
 * transport_io(). */
void transport_send_ack(transport *t, size_t n);

/* Non-blocking socket work: writes what is pending, reads what the socket
 * has when there is room. Sets *progress when it moved any byte. */
transport_status transport_io(transport *t, bool *progress);

/* Whether poll() should wait for POLLOUT (bytes wait for the socket). */
bool transport_wants_write(const transport *t);

/* True once the TLS handshake is done (always true for plain TCP). */
bool transport_established(const transport *t);

/* Sends TLS close_notify (best effort, nothing for plain TCP). */
void transport_shutdown(transport *t);

/* Details of the last TRANSPORT_ERROR (errno) or TRANSPORT_TLS_ERROR
 * (BearSSL error code, see br_error_name()). */
int transport_error(const transport *t);
int transport_tls_error(const transport *t);

#endif
