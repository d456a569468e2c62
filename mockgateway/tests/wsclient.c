#define _GNU_SOURCE /* memmem */
#include "wsclient.h"

#include <arpa/inet.h>
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

int tws_send_raw(tws *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into c->buf; returns bytes read, 0 on EOF, -1 timeout. */
static int fill(tws *c, int timeout_ms)
{
    if (c->len == sizeof c->buf)
        return -1;
    struct pollfd pfd = {c->fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return -1;
    ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
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

int tws_send_frame(tws *c, int opcode, const void *p, size_t n, int mask)
{
    uint8_t *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (uint8_t)(0x80 | opcode);
    uint8_t m = mask ? 0x80 : 0;
    if (n < 126) {
        f[h++] = (uint8_t)(m | n);
    } else if (n <= 0xffff) {
        f[h++] = m | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    } else {
        f[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    const uint8_t *src = p;
    for (size_t i = 0; i < n; i++)
        f[h + i] = mask ? (uint8_t)(src[i] ^ key[i % 4]) : src[i];
    int rc = tws_send_raw(c, f, h + n);
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
                    struct pollfd pfd = {c->fd, POLLIN, 0};
                    if (poll(&pfd, 1, timeout_ms) <= 0) {
                        free(big);
                        return -1;
                    }
                    ssize_t r = recv(c->fd, big + have, n - have, 0);
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

void tws_close(tws *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
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
