/* testkit.h - the server's half of the WebSocket handshake and framing, for
 * the tests, fuzz targets and benchmarks that play a gateway in memory.
 *
 * Written apart from lib/ on purpose (the accept key is computed here with
 * BearSSL directly, not with the library's code), so that a bug in the
 * library's handshake cannot hide behind the same bug in its test peer. */
#ifndef DGW_TESTKIT_H
#define DGW_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The "101 Switching Protocols" answer to an upgrade request (the text the
 * client sent), with the correct Sec-WebSocket-Accept. Returns its length,
 * or 0 when the request has no Sec-WebSocket-Key or out is too small. */
size_t tk_101_response(const char *request, char *out, size_t cap);

/* Writes one frame: header (mask key too when mask is not NULL) and payload
 * (masked with it). out needs n + 14 bytes. Returns the frame's length. */
size_t tk_frame(uint8_t *out, bool fin, uint8_t opcode, const void *payload,
                size_t n, const uint8_t *mask);

#endif
