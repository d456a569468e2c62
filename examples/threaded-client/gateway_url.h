/*
 * gateway_url.h - asks the REST API where the gateway is:
 * GET {api}/gateway/bot with "Authorization: Bot <token>", over plain HTTP
 * or HTTPS (with the same certificate checks as the gateway).
 */
#ifndef EXAMPLE_GATEWAY_URL_H
#define EXAMPLE_GATEWAY_URL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trust.h"

typedef struct url_parts {
    bool tls;        /* https:// or wss:// */
    char host[256];  /* without IPv6 brackets */
    uint16_t port;
    char path[1024]; /* starts with '/', without a trailing '/' */
} url_parts;

/* Splits scheme://host[:port][/path]; accepts http, https, ws, wss. */
bool url_parse(const char *url, url_parts *u);

/* GET {api}/gateway/bot: returns its body (HTTP 200 only) as a malloc'd,
 * NUL-terminated string of *body_len bytes, for dgw_parse_gateway_bot();
 * NULL with a reason in err, *tls_err as below, and *http_status the
 * answer's status (0 when none came; 401: the token was refused). */
char *fetch_gateway_bot(const char *api_base, const char *token,
                        const trust_store *ts, volatile sig_atomic_t *stop,
                        int wake_fd, int *tls_err, int *http_status,
                        size_t *body_len, char *err, size_t errlen);

/* Fetches the gateway URL. Returns a malloc'd string, or NULL with a
 * reason in err; *tls_err is set to the BearSSL code when the failure was
 * TLS (certificate checks included), else 0. ts may be NULL for http://.
 * The token goes into the request and nowhere else. */
char *fetch_gateway_url(const char *api_base, const char *token,
                        const trust_store *ts, volatile sig_atomic_t *stop,
                        int wake_fd, int *tls_err, char *err, size_t errlen);

#endif
