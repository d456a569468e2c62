#define _GNU_SOURCE /* memmem */
#include "wsclient.h"

#include <arpa/inet.h>
#include <bearssl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct tws_tls {
    br_ssl_client_context cc;
    br_x509_minimal_context unused_minimal; /* br_ssl_client_init_full wants one */
    br_x509_knownkey_context known;
    br_x509_decoder_context cert; /* owns the decoded server key */
    uint8_t der[8192];
    size_t der_len;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    int timeout_ms; /* for the current call */
};

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {fd, events, 0};
    return poll(&pfd, 1, timeout_ms) > 0 ? 0 : -1;
}

/* The socket under TLS, with the current call's timeout. */
static int tls_low_read(tws *c, unsigned char *buf, size_t len)
{
    if (wait_fd(c->fd, POLLIN, c->tls->timeout_ms) != 0)
        return -1;
    ssize_t r = recv(c->fd, buf, len, 0);
    if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
        c->ended = 1;
    return r > 0 ? (int)r : -1;
}

static int tls_low_write(tws *c, const unsigned char *buf, size_t len)
{
    if (wait_fd(c->fd, POLLOUT, c->tls->timeout_ms) != 0)
        return -1;
    ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
    return w > 0 ? (int)w : -1;
}

/* Moves records until the engine is in one of the `target` states. A
 * timeout returns -1 without breaking the engine (nothing was acked). */
static int tls_run_until(tws *c, unsigned target)
{
    br_ssl_engine_context *eng = &c->tls->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        size_t len;
        if (st & BR_SSL_CLOSED)
            return -1;
        if (st & BR_SSL_SENDREC) {
            unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
            int w = tls_low_write(c, buf, len);
            if (w < 0)
                return -1;
            br_ssl_engine_sendrec_ack(eng, (size_t)w);
            continue;
        }
        if (st & target)
            return 0;
        if (!(st & BR_SSL_RECVREC))
            return -1;
        unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
        int r = tls_low_read(c, buf, len);
        if (r < 0)
            return -1;
        br_ssl_engine_recvrec_ack(eng, (size_t)r);
    }
}

static void der_push(void *ctx, const void *p, size_t n)
{
    tws_tls *t = ctx;
    if (t->der_len + n <= sizeof t->der)
        memcpy(t->der + t->der_len, p, n);
    t->der_len += n;
}

/* The DER of the first CERTIFICATE block of a PEM file, into t->der. */
static int load_first_cert(tws_tls *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    int in_cert = 0, done = 0;
    unsigned char chunk[1024];
    size_t n;
    while (!done && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        const unsigned char *p = chunk;
        while (n > 0 && !done) {
            size_t k = br_pem_decoder_push(&pc, p, n);
            p += k;
            n -= k;
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                in_cert = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0;
                br_pem_decoder_setdest(&pc, in_cert ? der_push : NULL, t);
                break;
            case BR_PEM_END_OBJ:
                done = in_cert;
                break;
            case BR_PEM_ERROR:
                fclose(f);
                return -1;
            default:
                break;
            }
        }
    }
    fclose(f);
    return done && t->der_len <= sizeof t->der ? 0 : -1;
}

static int tls_start(tws *c, const char *server_cert_pem)
{
    tws_tls *t = calloc(1, sizeof *t);
    if (!t || load_first_cert(t, server_cert_pem) != 0) {
        free(t);
        return -1;
    }
    br_x509_decoder_init(&t->cert, NULL, NULL);
    br_x509_decoder_push(&t->cert, t->der, t->der_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&t->cert);
    if (!pk) {
        free(t);
        return -1;
    }
    unsigned usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    if (pk->key_type == BR_KEYTYPE_EC)
        br_x509_knownkey_init_ec(&t->known, &pk->key.ec, usages);
    else
        br_x509_knownkey_init_rsa(&t->known, &pk->key.rsa, usages);
    br_ssl_client_init_full(&t->cc, &t->unused_minimal, NULL, 0);
    br_ssl_engine_set_x509(&t->cc.eng, &t->known.vtable);
    br_ssl_engine_set_buffer(&t->cc.eng, t->iobuf, sizeof t->iobuf, 1);
    br_ssl_client_reset(&t->cc, "localhost", 0);
    c->tls = t;
    t->timeout_ms = 5000;
    /* The handshake completes here, so that a failed one fails connect. */
    return tls_run_until(c, BR_SSL_SENDAPP);
}

/* One read of at most len bytes (plain or TLS): >0 bytes, -1 on timeout,
 * EOF or error. */
static ssize_t io_read(tws *c, void *buf, size_t len, int timeout_ms)
{
    if (c->tls) {
        c->tls->timeout_ms = timeout_ms;
        if (tls_run_until(c, BR_SSL_RECVAPP) != 0) {
            if (br_ssl_engine_current_state(&c->tls->cc.eng) & BR_SSL_CLOSED)
                c->ended = 1;
            return -1;
        }
        size_t avail;
        unsigned char *p = br_ssl_engine_recvapp_buf(&c->tls->cc.eng, &avail);
        size_t n = avail < len ? avail : len;
        memcpy(buf, p, n);
        br_ssl_engine_recvapp_ack(&c->tls->cc.eng, n);
        return (ssize_t)n;
    }
    if (wait_fd(c->fd, POLLIN, timeout_ms) != 0)
        return -1;
    ssize_t r = recv(c->fd, buf, len, 0);
    if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
        c->ended = 1;
    return r > 0 ? r : -1;
}

/* Writes all of p (plain or TLS, blocking up to 5 s per step). */
static int io_write_all(tws *c, const uint8_t *p, size_t n)
{
    if (!c->tls) {
        while (n > 0) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w <= 0)
                return -1;
            p += w;
            n -= (size_t)w;
        }
        return 0;
    }
    br_ssl_engine_context *eng = &c->tls->cc.eng;
    c->tls->timeout_ms = 5000;
    while (n > 0) {
        if (tls_run_until(c, BR_SSL_SENDAPP) != 0)
            return -1;
        size_t room;
        unsigned char *buf = br_ssl_engine_sendapp_buf(eng, &room);
        size_t k = room < n ? room : n;
        memcpy(buf, p, k);
        br_ssl_engine_sendapp_ack(eng, k);
        p += k;
        n -= k;
    }
    br_ssl_engine_flush(eng, 0);
    return tls_run_until(c, BR_SSL_SENDAPP);
}

int tws_connect_tls(tws *c, int port, const char *server_cert_pem)
{
    if (tws_connect(c, port) != 0)
        return -1;
    return tls_start(c, server_cert_pem);
}

int tws_connect(tws *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

int tws_send_raw(tws *c, const void *p, size_t n) { return io_write_all(c, p, n); }

/* Reads more bytes into c->buf; returns bytes read, 0 on EOF, -1 timeout. */
static int fill(tws *c, int timeout_ms)
{
    if (c->len == sizeof c->buf)
        return -1;
    ssize_t r = io_read(c, c->buf + c->len, sizeof c->buf - c->len, timeout_ms);
    if (r < 0)
        return -1;
    c->len += (size_t)r;
    return (int)r;
}

static void drop(tws *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

int tws_upgrade(tws *c, const char *query, char *head, size_t headlen)
{
    char req[512];
    snprintf(req, sizeof req,
             "GET /?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             query);
    if (tws_send_raw(c, req, strlen(req)) != 0)
        return -1;
    for (;;) {
        void *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end) {
            size_t hl = (size_t)((uint8_t *)end - c->buf) + 4;
            size_t cp = hl < headlen - 1 ? hl : headlen - 1;
            memcpy(head, c->buf, cp);
            head[cp] = '\0';
            drop(c, hl);
            int status = -1;
            sscanf(head, "HTTP/1.1 %d", &status);
            return status;
        }
        if (fill(c, 3000) <= 0)
            return -1;
    }
}

int tws_read_http(tws *c, char *out, size_t outlen)
{
    while (fill(c, 3000) > 0) {
    }
    size_t cp = c->len < outlen - 1 ? c->len : outlen - 1;
    memcpy(out, c->buf, cp);
    out[cp] = '\0';
    int status = -1;
    sscanf(out, "HTTP/1.1 %d", &status);
    return status;
}

size_t tws_frame(uint8_t *out, int first_byte, const void *p, size_t n, int mask)
{
    size_t h = 0;
    out[h++] = (uint8_t)first_byte;
    uint8_t m = mask ? 0x80 : 0;
    if (n < 126) {
        out[h++] = (uint8_t)(m | n);
    } else if (n <= 0xffff) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) {
        memcpy(out + h, key, 4);
        h += 4;
    }
    const uint8_t *src = p;
    for (size_t i = 0; i < n; i++)
        out[h + i] = mask ? (uint8_t)(src[i] ^ key[i % 4]) : src[i];
    return h + n;
}

int tws_send_frame(tws *c, int opcode, const void *p, size_t n, int mask)
{
    uint8_t *f = malloc(n + 14);
    if (!f)
        return -1;
    int rc = tws_send_raw(c, f, tws_frame(f, 0x80 | opcode, p, n, mask));
    free(f);
    return rc;
}

int tws_read_frame(tws *c, uint8_t **payload, size_t *len, int timeout_ms)
{
    for (;;) {
        if (c->len >= 2) {
            size_t h = 2;
            uint64_t n = c->buf[1] & 0x7f;
            if (n == 126 && c->len >= 4) {
                n = (uint64_t)c->buf[2] << 8 | c->buf[3];
                h = 4;
            } else if (n == 127 && c->len >= 10) {
                n = 0;
                for (int i = 0; i < 8; i++)
                    n = n << 8 | c->buf[2 + i];
                h = 10;
            } else if (n >= 126) {
                h = 0;
            }
            if (h && n > sizeof c->buf - 16) {
                /* Big frames (the 1 MiB READY test): read them whole. */
                uint8_t *big = malloc(n + 1);
                size_t have = c->len - h;
                memcpy(big, c->buf + h, have);
                int op = c->buf[0] & 0x0f;
                c->len = 0;
                while (have < n) {
                    ssize_t r = io_read(c, big + have, n - have, timeout_ms);
                    if (r <= 0) {
                        free(big);
                        return -1;
                    }
                    have += (size_t)r;
                }
                *payload = big;
                *len = n;
                return op;
            }
            if (h && c->len >= h + n) {
                int op = c->buf[0] & 0x0f;
                *payload = malloc(n + 1);
                memcpy(*payload, c->buf + h, n);
                (*payload)[n] = 0;
                *len = n;
                drop(c, h + n);
                return op;
            }
        }
        if (fill(c, timeout_ms) <= 0)
            return -1;
    }
}

int tws_read_message(tws *c, uint8_t **payload, size_t *len, int *close_code, int timeout_ms)
{
    *close_code = 0;
    for (;;) {
        uint8_t *p = NULL;
        size_t n = 0;
        int op = tws_read_frame(c, &p, &n, timeout_ms);
        if (op < 0)
            return -1;
        if (op == 8) {
            *close_code = n >= 2 ? p[0] << 8 | p[1] : 1005;
            *payload = p;
            *len = n;
            return op;
        }
        if (op == 9) { /* answer pings */
            tws_send_frame(c, 10, p, n, 1);
            free(p);
            continue;
        }
        if (op == 1 || op == 2) {
            *payload = p;
            *len = n;
            return op;
        }
        free(p);
    }
}

int tws_wait_eof(tws *c, int timeout_ms)
{
    if (c->len > 0 || wait_fd(c->fd, POLLIN, timeout_ms) != 0)
        return -1;
    uint8_t b;
    ssize_t r = recv(c->fd, &b, 1, 0);
    if (r == 0)
        return 0;
    return r < 0 && errno == ECONNRESET ? -2 : -1;
}

void tws_close(tws *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->tls);
    c->tls = NULL;
}

int tws_spawn_server(const char *exe, const char *const *args, int *port)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[32];
        int n = 0;
        argv[n++] = exe;
        for (int i = 0; args && args[i] && n < 30; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        dup2(pfd[1], 1);
        close(pfd[0]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[256];
    size_t n = 0;
    struct pollfd p = {pfd[0], POLLIN, 0};
    while (n < sizeof line - 1 && poll(&p, 1, 5000) > 0) {
        ssize_t r = read(pfd[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(pfd[0]);
    const char *colon = strrchr(line, ':');
    *port = colon ? atoi(colon + 1) : 0;
    if (*port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

int tws_stop_server(int pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}
