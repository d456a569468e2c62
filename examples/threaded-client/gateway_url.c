/*
 * gateway_url.c - GET /gateway/bot, a one-shot blocking HTTP/1.1 exchange
 * on the same transport as the gateway. See gateway_url.h.
 */
#include "gateway_url.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "transport.h"

#define HTTP_TIMEOUT_MS 15000
#define HTTP_MAX_RESPONSE (256 * 1024)

bool url_parse(const char *url, url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "wss://", 6) == 0) {
        u->tls = true;
        u->port = 443;
    } else if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "ws://", 5) == 0) {
        u->port = 80;
    } else {
        return false;
    }
    p = strstr(url, "://") + 3;
    const char *host_end;
    if (*p == '[') { /* [IPv6]:port */
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return false;
        p++;
    } else {
        host_end = p + strcspn(p, ":/?#");
    }
    size_t hl = (size_t)(host_end - p);
    if (hl == 0 || hl >= sizeof u->host)
        return false;
    memcpy(u->host, p, hl);
    p = host_end + (*host_end == ']');
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return false;
        u->port = (uint16_t)port;
        p = end;
    }
    size_t pl = strcspn(p, "?#");
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    if (pl > 0 && *p != '/')
        return false;
    if (pl + 1 >= sizeof u->path)
        return false;
    memcpy(u->path, p, pl);
    return true;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in >= len)
            return -1;
        unsigned long n = strtoul(body + in, &end, 16);
        char *crlf = memchr(body + in, '\n', len - in);
        if (crlf == NULL || end == body + in)
            return -1;
        in = (size_t)(crlf - body) + 1;
        if (n == 0)
            return (long)out;
        if (n > len - in)
            return -1;
        memmove(body + out, body + in, n);
        out += n;
        in += n;
        if (in < len && body[in] == '\r')
            in++;
        if (in < len && body[in] == '\n')
            in++;
    }
}

/* Sends req and reads the whole response (until the server closes, or
 * Content-Length is reached). Returns a malloc'd, NUL-terminated buffer. */
static char *exchange(const url_parts *u, const trust_store *ts, const char *req,
                      volatile sig_atomic_t *stop, int wake_fd, int *tls_err,
                      size_t *resp_len, char *err, size_t errlen)
{
    transport *t = transport_connect(u->host, u->port, u->tls, ts, HTTP_TIMEOUT_MS,
                                     wake_fd, stop, err, errlen);
    if (t == NULL)
        return NULL;
    size_t req_len = strlen(req), sent = 0, len = 0, cap = 4096;
    char *resp = malloc(cap + 1);
    int64_t deadline = mono_ms() + HTTP_TIMEOUT_MS;
    bool done = false;

    while (resp != NULL && !done && !*stop) {
        bool progress = false;
        size_t room;
        uint8_t *out = transport_send_buf(t, &room);
        if (out != NULL && sent < req_len) {
            size_t n = req_len - sent < room ? req_len - sent : room;
            memcpy(out, req + sent, n);
            transport_send_ack(t, n);
            sent += n;
        }
        transport_status st = transport_io(t, &progress);
        size_t avail;
        const uint8_t *in;
        while ((in = transport_recv_buf(t, &avail)) != NULL) {
            if (len + avail > HTTP_MAX_RESPONSE) {
                snprintf(err, errlen, "response from %s is too large", u->host);
                free(resp);
                resp = NULL;
                break;
            }
            if (len + avail > cap) {
                while (cap < len + avail)
                    cap *= 2;
                char *r = realloc(resp, cap + 1);
                if (r == NULL) {
                    free(resp);
                    resp = NULL;
                    break;
                }
                resp = r;
            }
            memcpy(resp + len, in, avail);
            len += avail;
            transport_recv_ack(t, avail);
            progress = true;
        }
        if (resp == NULL)
            break;
        resp[len] = '\0';
        /* Done at EOF, or when Content-Length says so. */
        char *hdr_end = strstr(resp, "\r\n\r\n");
        if (hdr_end != NULL) {
            const char *cl = NULL;
            for (char *h = strstr(resp, "\r\n"); h != NULL && h < hdr_end;
                 h = strstr(h + 2, "\r\n"))
                if (strncasecmp(h + 2, "content-length:", 15) == 0)
                    cl = h + 17;
            if (cl != NULL && len - (size_t)(hdr_end + 4 - resp) >= strtoul(cl, NULL, 10))
                done = true;
        }
        if (st == TRANSPORT_EOF) {
            done = true;
        } else if (st == TRANSPORT_TLS_ERROR) {
            *tls_err = transport_tls_error(t);
            snprintf(err, errlen, "TLS failure with %s: %s (%s)", u->host,
                     br_error_name(*tls_err), br_error_text(*tls_err));
            free(resp);
            resp = NULL;
        } else if (st == TRANSPORT_ERROR) {
            snprintf(err, errlen, "reading from %s: %s", u->host,
                     strerror(transport_error(t)));
            free(resp);
            resp = NULL;
        } else if (!done && !progress) {
            int64_t left = deadline - mono_ms();
            if (left <= 0) {
                snprintf(err, errlen, "%s did not answer in time", u->host);
                free(resp);
                resp = NULL;
                break;
            }
            struct pollfd p = {transport_fd(t),
                               (short)(POLLIN | (transport_wants_write(t) ? POLLOUT : 0)), 0};
            if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
                snprintf(err, errlen, "poll: %s", strerror(errno));
                free(resp);
                resp = NULL;
            }
        }
    }
    if (resp != NULL && *stop) {
        snprintf(err, errlen, "interrupted");
        free(resp);
        resp = NULL;
    }
    transport_free(t);
    *resp_len = len;
    return resp;
}

char *fetch_gateway_bot(const char *api_base, const char *token,
                        const trust_store *ts, volatile sig_atomic_t *stop,
                        int wake_fd, int *tls_err, int *http_status,
                        size_t *body_len_out, char *err, size_t errlen)
{
    url_parts u;
    *tls_err = 0;
    *http_status = 0;
    if (!url_parse(api_base, &u) || strchr(u.host, '\r') || strchr(u.host, '\n')) {
        snprintf(err, errlen, "bad API URL: %s", api_base);
        return NULL;
    }
    bool v6 = strchr(u.host, ':') != NULL;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s/gateway/bot HTTP/1.1\r\n"
                     "Host: %s%s%s:%u\r\n"
                     "Authorization: Bot %s\r\n"
                     "User-Agent: DiscordBot (https://example.invalid/libdgw, 0.1)\r\n"
                     "Accept: application/json\r\n"
                     "Connection: close\r\n\r\n",
                     u.path, v6 ? "[" : "", u.host, v6 ? "]" : "", (unsigned)u.port,
                     token);
    if (n < 0 || (size_t)n >= sizeof req) {
        snprintf(err, errlen, "request too long");
        return NULL;
    }
    size_t len = 0;
    char *resp = exchange(&u, ts, req, stop, wake_fd, tls_err, &len, err, errlen);
    /* The request held the token: wipe it. */
    memset(req, 0, sizeof req);
    if (resp == NULL)
        return NULL;

    int status = 0;
    char *body = strstr(resp, "\r\n\r\n");
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
        snprintf(err, errlen, "malformed HTTP response from %s", u.host);
        goto out;
    }
    *body = '\0';
    body += 4;
    size_t body_len = len - (size_t)(body - resp);
    if (strcasestr(resp, "\r\ntransfer-encoding: chunked") != NULL) {
        long dl = dechunk(body, body_len);
        if (dl < 0) {
            snprintf(err, errlen, "malformed chunked body from %s", u.host);
            goto out;
        }
        body_len = (size_t)dl;
    }
    body[body_len] = '\0';
    *http_status = status;
    if (status != 200) {
        snprintf(err, errlen, "GET %s/gateway/bot: HTTP %d: %.200s", u.path,
                 status, body);
        goto out;
    }
    /* The body moves to the front: resp becomes the caller's string. */
    memmove(resp, body, body_len + 1);
    *body_len_out = body_len;
    return resp;
out:
    free(resp);
    return NULL;
}

char *fetch_gateway_url(const char *api_base, const char *token,
                        const trust_store *ts, volatile sig_atomic_t *stop,
                        int wake_fd, int *tls_err, char *err, size_t errlen)
{
    size_t len;
    int status;
    char *body = fetch_gateway_bot(api_base, token, ts, stop, wake_fd, tls_err,
                                   &status, &len, err, errlen);
    if (body == NULL)
        return NULL;
    char *url = NULL;
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(j, "url");
    if (cJSON_IsString(ju) && ju->valuestring[0] != '\0')
        url = strdup(ju->valuestring);
    else
        snprintf(err, errlen, "GET %s/gateway/bot: no \"url\" in the answer",
                 api_base);
    cJSON_Delete(j);
    free(body);
    return url;
}
