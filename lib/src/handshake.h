/* handshake.h - the HTTP/1.1 WebSocket upgrade: the request we send and a
 * strict parser for the response (RFC 6455 section 4.1). */
#ifndef DGW_HANDSHAKE_H
#define DGW_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "url.h"

#define DGW_WS_KEY_LEN 24     /* base64 of 16 bytes */
#define DGW_WS_ACCEPT_LEN 28  /* base64 of a SHA-1 */

/* base64 (RFC 4648, with padding) of n bytes into out (4*ceil(n/3)+1). */
void dgw_base64(const uint8_t *in, size_t n, char *out);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)). */
void dgw_ws_accept(const char *key, char out[DGW_WS_ACCEPT_LEN + 1]);

/* Appends the GET request for url with `query` (no leading '?'). */
int dgw_http_build_request(dgw_mem *m, dgw_buf *out, const dgw_url *url,
                           const char *query, const char *key);

typedef struct dgw_http_response {
    int status;
    size_t head_len;        /* bytes up to and including the blank line */
    size_t fields_off;      /* header fields: after the status line... */
    size_t fields_len;      /* ...up to, not including, the blank line */
    long long content_length; /* -1 when absent */
    long long retry_after;  /* Retry-After in seconds; -1 absent or a date */
    bool chunked;
    bool upgrade_websocket; /* Upgrade: websocket */
    bool connection_upgrade; /* Connection: has the "upgrade" token */
    bool has_accept;
    bool has_extensions;    /* Sec-WebSocket-Extensions (we offered none) */
    bool has_protocol;      /* Sec-WebSocket-Protocol (we offered none) */
    char accept[DGW_WS_ACCEPT_LEN + 1];
} dgw_http_response;

/* Parses a response head from p[0..n). Returns 1 when the head is complete
 * (r filled), 0 when more bytes are needed, -1 when it is malformed (*err
 * says why). Only syntax is judged here; dgw_http_check_upgrade() judges
 * the upgrade. */
int dgw_http_parse_response(const uint8_t *p, size_t n, dgw_http_response *r,
                            const char **err);

/* Checks a parsed 101 against the key we sent. NULL when acceptable, else
 * the reason. */
const char *dgw_http_check_upgrade(const dgw_http_response *r,
                                   const char *key);

#endif
