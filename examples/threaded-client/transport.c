/*
 * transport.c - plain TCP or BearSSL TLS behind one small interface.
 * See transport.h.
 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PLAIN_BUF 16384

/* The TLS engine and its buffers (about 40 KiB), allocated only for
 * wss:// so that a plain connection costs its two buffers and no more: a
 * process with thousands of connections (examples/shards/) feels it. */
typedef struct tls_engine {
    br_ssl_client_context sc;
    host_checking_x509 xc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} tls_engine;

struct transport {
    int fd;
    bool tls;
    bool eof;
    bool handshake_done;
    int err;     /* errno of the last socket error */
    int tls_err; /* BearSSL error code */

    /* plain TCP: one buffer each way */
    uint8_t *in, *out;
    size_t in_off, in_len, out_len;

    /* TLS: the engine owns the buffers (iobuf); NULL for plain TCP */
    tls_engine *te;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Non-blocking connect with a deadline, abandoned when *stop is set. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int wake_fd,
                       volatile sig_atomic_t *stop, int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            *err = ETIMEDOUT;
            break;
        }
        struct pollfd p[2] = {{fd, POLLOUT, 0}, {wake_fd, POLLIN, 0}};
        int n = poll(p, wake_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR) {
            *err = errno;
            break;
        }
        if (*stop) {
            *err = ECANCELED;
            break;
        }
        if (n > 0 && p[0].revents) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr == 0)
                return fd;
            *err = soerr;
            break;
        }
        /* Woken for another reason (the timer thread has work queued):
         * drain the wake-up; the client's loop looks at libdgw anyway
         * as soon as the socket is up. */
        if (n > 0 && (p[1].revents & POLLIN)) {
            uint64_t v;
            if (read(wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                break;
        }
    }
    close(fd);
    return -1;
}

/* Builds the transport around a connected (or connecting) socket; closes
 * fd on failure. */
static transport *wrap_socket(int fd, const char *host, bool tls,
                              const trust_store *ts, char *err, size_t errlen)
{
    int one = 1; /* heartbeats are small and latency matters */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->fd = fd;
    t->tls = tls;
    if (tls) {
        t->te = malloc(sizeof *t->te);
        if (t->te != NULL)
            tls_client_setup(&t->te->sc, &t->te->xc, ts, host, t->te->iobuf,
                             sizeof t->te->iobuf);
    } else {
        t->in = malloc(PLAIN_BUF);
        t->out = malloc(PLAIN_BUF);
    }
    if (tls ? t->te == NULL : t->in == NULL || t->out == NULL) {
        t->tls = false; /* nothing to clean up in a TLS state never set up */
        transport_free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return t;
}

transport *transport_connect(const char *host, uint16_t port, bool tls,
                             const trust_store *ts, int timeout_ms,
                             int wake_fd, volatile sig_atomic_t *stop,
                             char *err, size_t errlen)
{
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* getaddrinfo blocks and cannot be interrupted; a real bot that must
     * stop promptly during DNS trouble would resolve in another thread. */
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    int fd = -1, e = 0;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0 && !*stop;
         ai = ai->ai_next)
        fd = connect_one(ai, timeout_ms, wake_fd, stop, &e);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%u: %s", host,
                 (unsigned)port, strerror(e ? e : ECANCELED));
        return NULL;
    }
    return wrap_socket(fd, host, tls, ts, err, errlen);
}

transport *transport_start_connect(const struct sockaddr *addr,
                                  socklen_t addrlen, const char *host,
                                  bool tls, const trust_store *ts, char *err,
                                  size_t errlen)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return NULL;
    }
    if (connect(fd, addr, addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "cannot connect to %s: %s", host, strerror(errno));
        close(fd);
        return NULL;
    }
    return wrap_socket(fd, host, tls, ts, err, errlen);
}

int transport_connect_result(transport *t)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (soerr != 0)
        t->err = soerr;
    return soerr;
}

void transport_free(transport *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd);
    if (t->tls)
        tls_client_cleanup(&t->te->xc);
    free(t->te);
    free(t->in);
    free(t->out);
    free(t);
}

int transport_fd(const transport *t) { return t->fd; }
int transport_error(const transport *t) { return t->err; }
int transport_tls_error(const transport *t) { return t->tls_err; }

const uint8_t *transport_recv_buf(transport *t, size_t *len)
{
    if (t->tls) {
        unsigned st = br_ssl_engine_current_state(&t->te->sc.eng);
        if (st & BR_SSL_RECVAPP)
            return br_ssl_engine_recvapp_buf(&t->te->sc.eng, len);
        *len = 0;
        return NULL;
    }
    *len = t->in_len;
    return t->in_len ? t->in + t->in_off : NULL;
}

void transport_recv_ack(transport *t, size_t n)
{
    if (n == 0)
        return;
    if (t->tls) {
        br_ssl_engine_recvapp_ack(&t->te->sc.eng, n);
        return;
    }
    t->in_off += n;
    t->in_len -= n;
    if (t->in_len == 0)
        t->in_off = 0;
}

uint8_t *transport_send_buf(transport *t, size_t *len)
{
    if (t->tls) {
        unsigned st = br_ssl_engine_current_state(&t->te->sc.eng);
        if (st & BR_SSL_SENDAPP)
            return br_ssl_engine_sendapp_buf(&t->te->sc.eng, len);
        *len = 0;
        return NULL;
    }
    *len = PLAIN_BUF - t->out_len;
    return *len ? t->out + t->out_len : NULL;
}

void transport_send_ack(transport *t, size_t n)
{
    if (n == 0)
        return;
    if (t->tls) {
        br_ssl_engine_sendapp_ack(&t->te->sc.eng, n);
        /* Without a flush, BearSSL waits for a full record. */
        br_ssl_engine_flush(&t->te->sc.eng, 0);
        return;
    }
    t->out_len += n;
}

static transport_status sock_error(transport *t)
{
    t->err = errno;
    return TRANSPORT_ERROR;
}

static transport_status plain_io(transport *t, bool *progress)
{
    while (t->out_len > 0) {
        ssize_t n = send(t->fd, t->out, t->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return sock_error(t);
        }
        memmove(t->out, t->out + n, t->out_len - (size_t)n);
        t->out_len -= (size_t)n;
        *progress = true;
    }
    /* Read only when the previous bytes were consumed: libdgw takes them
     * in pieces, between events. */
    if (t->in_len == 0 && !t->eof) {
        ssize_t n = recv(t->fd, t->in, PLAIN_BUF, 0);
        if (n > 0) {
            t->in_len = (size_t)n;
            *progress = true;
        } else if (n == 0) {
            t->eof = true;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return sock_error(t);
        }
    }
    return t->eof && t->in_len == 0 ? TRANSPORT_EOF : TRANSPORT_OK;
}

static transport_status tls_io(transport *t, bool *progress)
{
    br_ssl_engine_context *eng = &t->te->sc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        bool moved = false;
        if (st & BR_SSL_SENDAPP)
            t->handshake_done = true;
        if (st == BR_SSL_CLOSED) {
            t->tls_err = br_ssl_engine_last_error(eng);
            return t->tls_err == BR_ERR_OK ? TRANSPORT_EOF : TRANSPORT_TLS_ERROR;
        }
        if (st & BR_SSL_SENDREC) {
            size_t len;
            unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
            ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
            if (n > 0) {
                br_ssl_engine_sendrec_ack(eng, (size_t)n);
                moved = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
                       && errno != EINTR) {
                return sock_error(t);
            }
        }
        /* Same rule as plain TCP: a new record only when the application
         * took the previous one, so the engine's buffer paces the reads. */
        if ((st & BR_SSL_RECVREC) && !(st & BR_SSL_RECVAPP) && !t->eof) {
            size_t len;
            unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
            ssize_t n = recv(t->fd, buf, len, 0);
            if (n > 0) {
                br_ssl_engine_recvrec_ack(eng, (size_t)n);
                moved = true;
            } else if (n == 0) {
                /* A TCP end without close_notify: a truncation for TLS,
                 * an ordinary dropped connection for the gateway. */
                t->eof = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return sock_error(t);
            }
        }
        if (!moved)
            break;
        *progress = true;
    }
    unsigned st = br_ssl_engine_current_state(eng);
    if (st & BR_SSL_SENDAPP)
        t->handshake_done = true;
    return t->eof && !(st & BR_SSL_RECVAPP) ? TRANSPORT_EOF : TRANSPORT_OK;
}

transport_status transport_io(transport *t, bool *progress)
{
    return t->tls ? tls_io(t, progress) : plain_io(t, progress);
}

bool transport_wants_write(const transport *t)
{
    if (t->tls)
        return (br_ssl_engine_current_state(&t->te->sc.eng) & BR_SSL_SENDREC) != 0;
    return t->out_len > 0;
}

bool transport_established(const transport *t)
{
    return !t->tls || t->handshake_done;
}

void transport_shutdown(transport *t)
{
    if (!t->tls)
        return;
    br_ssl_engine_close(&t->te->sc.eng);
    bool progress = false;
    (void)tls_io(t, &progress); /* one non-blocking attempt is enough */
}
