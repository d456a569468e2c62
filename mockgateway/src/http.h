/* HTTP/1.1 request parsing for the upgrade and REST paths.
 *
 * Everything here works on a caller-owned byte buffer and never allocates:
 * the parsed request holds slices into that buffer. The fuzz targets call
 * mg_http_parse_request() and mg_http_check_upgrade() on arbitrary bytes. */
#ifndef MG_HTTP_H
#define MG_HTTP_H

#include <stddef.h>

#define MG_HTTP_MAX_HEADERS 32
#define MG_HTTP_MAX_REQUEST 8192 /* bytes up to and including the blank line */

typedef struct mg_slice {
    const char *p;
    size_t n;
} mg_slice;

typedef struct mg_http_header {
    mg_slice name, value;
} mg_http_header;

typedef struct mg_http_request {
    mg_slice method, target, path, query; /* path/query split target at '?' */
    int minor_version;                    /* HTTP/1.x */
    mg_http_header headers[MG_HTTP_MAX_HEADERS];
    size_t nheaders;
    size_t header_bytes; /* length of the request head including the blank line */
} mg_http_request;

typedef enum mg_http_status {
    MG_HTTP_OK = 0,          /* a complete request head was parsed */
    MG_HTTP_INCOMPLETE = 1,  /* need more bytes */
    MG_HTTP_BAD = -400,      /* malformed: answer 400 */
    MG_HTTP_TOO_LARGE = -431 /* head over MG_HTTP_MAX_REQUEST or too many headers */
} mg_http_status;

/* Parses the request head at the start of buf[0..len). On MG_HTTP_OK, req's
 * slices point into buf. A request body is not supported (GET only). */
mg_http_status mg_http_parse_request(const char *buf, size_t len, mg_http_request *req);

/* First header named name (case-insensitive), or NULL. */
const mg_slice *mg_http_header_get(const mg_http_request *req, const char *name);
/* Whether a comma-separated header value contains token (case-insensitive). */
int mg_http_header_has_token(const mg_http_request *req, const char *name, const char *token);

/* Looks up key in a query string "a=1&b=2"; copies the (not percent-decoded)
 * value into out (NUL-terminated, truncated to outlen-1). Returns 1 if found. */
int mg_query_get(mg_slice query, const char *key, char *out, size_t outlen);

typedef enum { MG_COMPRESS_NONE = 0, MG_COMPRESS_ZLIB, MG_COMPRESS_ZSTD } mg_compress_kind;

typedef struct mg_upgrade_info {
    char accept[32];   /* Sec-WebSocket-Accept value for the response */
    int version;       /* ?v= (0 when absent or not a number) */
    char encoding[16]; /* ?encoding= ("" when absent) */
    mg_compress_kind compress;
} mg_upgrade_info;

/* Whether the request asks for a WebSocket upgrade at all (Upgrade: websocket). */
int mg_http_is_upgrade(const mg_http_request *req);

/* Checks a WebSocket upgrade request strictly (GET, HTTP/1.1, Host,
 * Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13, a key
 * that base64-decodes to 16 bytes, a known compress= value). Returns 0 and
 * fills out, or an HTTP status (400/426) with a reason for people. The
 * gateway version and encoding are not judged here: they close after the
 * upgrade, as Discord does. */
int mg_http_check_upgrade(const mg_http_request *req, int zstd_available,
                          mg_upgrade_info *out, char *reason, size_t reasonlen);

/* base64(SHA-1(key + GUID)) into out (>= 29 bytes). */
void mg_ws_accept_key(const char *key, size_t keylen, char out[32]);

/* Standard base64 with padding; out must hold 4*((n+2)/3)+1 bytes. */
size_t mg_base64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes strict padded base64; returns decoded length or -1. */
long mg_base64_decode(const char *in, size_t n, unsigned char *out, size_t outlen);

#endif
