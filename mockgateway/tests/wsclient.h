/* A tiny blocking WebSocket client for the tests: raw sockets, masked
 * frames, optional TLS (BearSSL, trusting one known server key). Every call
 * has a timeout so a broken server fails a test instead of hanging it. */
#ifndef MG_TEST_WSCLIENT_H
#define MG_TEST_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tws_tls tws_tls;

typedef struct tws {
    int fd;
    int ended; /* the server ended the stream (EOF or error, not a timeout) */
    tws_tls *tls; /* NULL: plain TCP */
    uint8_t buf[1 << 16];
    size_t len;
} tws;

/* TCP connect to 127.0.0.1:port; returns 0 or -1. */
int tws_connect(tws *c, int port);
/* TCP connect, then a TLS handshake (SNI "localhost") that trusts exactly
 * the public key of the first certificate in server_cert_pem. Every other
 * call then goes through TLS. Returns 0 or -1. */
int tws_connect_tls(tws *c, int port, const char *server_cert_pem);
int tws_send_raw(tws *c, const void *p, size_t n);
/* Sends an upgrade for `query` ("v=10&encoding=json"); reads the response
 * head into head (NUL-terminated). Returns the HTTP status or -1. */
int tws_upgrade(tws *c, const char *query, char *head, size_t headlen);
/* Reads an HTTP response (head and body until EOF) into out. Returns status. */
int tws_read_http(tws *c, char *out, size_t outlen);
/* Encodes one frame into out (room for n + 14 bytes): first_byte is FIN,
 * RSV and opcode as sent (0x81: a final text frame), mask 0 leaves it
 * unmasked (a protocol error from a client). Returns its length. */
size_t tws_frame(uint8_t *out, int first_byte, const void *p, size_t n, int mask);
/* Sends one final frame; mask 0 sends it unmasked (a protocol error). */
int tws_send_frame(tws *c, int opcode, const void *p, size_t n, int mask);
/* Reads one frame (opcode, payload in a malloc'ed buffer). Returns the
 * opcode, or -1 on timeout/EOF. */
int tws_read_frame(tws *c, uint8_t **payload, size_t *len, int timeout_ms);
/* Reads frames until a text/binary message or close; close code in *code. */
int tws_read_message(tws *c, uint8_t **payload, size_t *len, int *close_code, int timeout_ms);
/* After the server's close frame: waits for the end of the stream.
 * Returns 0 for a clean FIN, -2 for a reset (ECONNRESET: the server closed
 * with unread input, which can destroy the close frame in flight), -1 on
 * timeout or when more data came. Plain TCP only. */
int tws_wait_eof(tws *c, int timeout_ms);
/* Closes the socket (no close frame, no close_notify) and frees TLS state. */
void tws_close(tws *c);
/* Starts `mockgateway` with args; returns its pid and the port from the
 * first stdout line. */
int tws_spawn_server(const char *exe, const char *const *args, int *port);
int tws_stop_server(int pid);

#endif
