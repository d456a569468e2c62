/* The attacks of the battery (battery.h), each one phase or two: a poll
 * loop for attacks of many connections, then the attacks in the order the
 * battery runs them (bt_attacks[] at the end). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attacks.h"
#include "battery.h"

/* ---- many connections at once: a poll loop --------------------------------- */

/* One attacking connection watched until its response. */
struct watch {
    int fd;
    const uint8_t *out;  /* bytes still to send (may be NULL) */
    size_t outlen, outoff;
    uint8_t in[512];     /* the first bytes of the answer */
    size_t inlen;
    double start, done;  /* done: 0 until it has a result */
    int result;          /* > 0: HTTP status or close code; -1: ended without one */
};

/* The HTTP status at the start of in, 0 if not there yet. */
static int http_status(const uint8_t *in, size_t len)
{
    if (len < 12 || memcmp(in, "HTTP/1.1 ", 9) != 0)
        return 0;
    return atoi((const char *)in + 9);
}

/* The code of the first close frame among unmasked server frames, 0 if
 * none yet (1005 for a close without one). */
static int close_frame_code(const uint8_t *in, size_t len)
{
    size_t i = 0;
    while (i + 2 <= len) {
        size_t n = in[i + 1] & 0x7f, h = 2;
        if (n == 126) {
            if (i + 4 > len)
                return 0;
            n = (size_t)in[i + 2] << 8 | in[i + 3];
            h = 4;
        }
        if (i + h + n > len)
            return 0;
        if ((in[i] & 0x0f) == 8)
            return n >= 2 ? in[i + h] << 8 | in[i + h + 1] : 1005;
        i += h + n;
    }
    return 0;
}

/* After a 101 response head: the code of the first close frame. */
static int close_code_after_101(const uint8_t *in, size_t len)
{
    const uint8_t *end = memmem(in, len, "\r\n\r\n", 4);
    if (http_status(in, len) != 101 || !end)
        return 0;
    return close_frame_code(end + 4, len - (size_t)(end + 4 - in));
}

typedef int (*classify_fn)(const uint8_t *in, size_t len);

static void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* Polls until every watch has a result or timeout_ms after its start;
 * tick (may be NULL) runs every tick_ms. */
static void watch_all(struct watch *w, size_t n, classify_fn classify, int timeout_ms, void (*tick)(struct watch *, size_t),
                      int tick_ms)
{
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    size_t *idx = calloc(n, sizeof *idx);
    double next_tick = bt_now_ms() + tick_ms;
    for (;;) {
        size_t k = 0;
        double now = bt_now_ms();
        for (size_t i = 0; i < n; i++) {
            if (w[i].done || w[i].fd < 0)
                continue;
            if (now > w[i].start + timeout_ms)
                continue; /* timed out: result stays 0 */
            pfd[k].fd = w[i].fd;
            pfd[k].events = POLLIN | (w[i].outoff < w[i].outlen ? POLLOUT : 0);
            idx[k++] = i;
        }
        if (k == 0)
            break;
        if (poll(pfd, k, tick ? tick_ms : 50) < 0 && errno != EINTR)
            break;
        now = bt_now_ms();
        for (size_t j = 0; j < k; j++) {
            struct watch *x = &w[idx[j]];
            if (pfd[j].revents & POLLOUT) {
                ssize_t m = send(x->fd, x->out + x->outoff, x->outlen - x->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (m > 0)
                    x->outoff += (size_t)m;
                else if (m < 0 && errno != EAGAIN)
                    x->outlen = x->outoff; /* the server stopped reading for good */
            }
            if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            uint8_t tmp[16384];
            ssize_t m = recv(x->fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (m > 0) {
                size_t room = sizeof x->in - x->inlen, take = (size_t)m < room ? (size_t)m : room;
                memcpy(x->in + x->inlen, tmp, take);
                x->inlen += take;
                if ((x->result = classify(x->in, x->inlen)) > 0)
                    x->done = now;
            } else if (m == 0 || (m < 0 && errno != EAGAIN)) {
                x->result = classify(x->in, x->inlen);
                if (x->result <= 0)
                    x->result = -1;
                x->done = now;
            }
        }
        if (tick && now >= next_tick) {
            tick(w, n);
            next_tick = now + tick_ms;
        }
    }
    free(pfd);
    free(idx);
}

/* Tallies results against want; fills p (seen, response time). */
static void judge(struct bt_phase *p, struct watch *w, size_t n, int want, const char *want_text)
{
    size_t right = 0, none = 0;
    int other = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i].result == want) {
            right++;
            if (w[i].done - w[i].start > p->response_ms)
                p->response_ms = w[i].done - w[i].start;
        } else if (w[i].result == 0) {
            none++;
        } else {
            other = w[i].result;
        }
    }
    if (right == n)
        snprintf(p->seen, sizeof p->seen, "%zu/%zu %s", right, n, want_text);
    else
        bt_fail(p, "%zu/%zu %s, %zu no answer in time, another result: %d", right, n, want_text, none, other);
}

static void close_watches(struct watch *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i].fd >= 0)
            close(w[i].fd);
        w[i].fd = -1;
    }
}

/* A TCP connection to the server (rcvbuf: 0, or a small receive buffer,
 * so that unread output stays in the server rather than in the kernel).
 * Returns the fd or -1. */
static int raw_connect(int which, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)bt_srv[which].port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* n watches on new connections to a server, each to send out[0..len). */
static void watch_connect(struct watch *w, size_t n, int which, const void *out, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].fd = raw_connect(which, 0);
        w[i].start = bt_now_ms();
        w[i].out = out;
        w[i].outlen = len;
    }
}

/* ---- the attacks ----------------------------------------------------------- */

static void slowloris_tick(struct watch *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!w[i].done && w[i].fd >= 0 && w[i].outoff == w[i].outlen)
            send(w[i].fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void attack_slowloris(void)
{
    enum { N = 50 };
    struct bt_phase *p = bt_begin("slowloris (50 connections, 1 header byte / 100 ms)", PLAIN, "408", UPGRADE_TIMEOUT_MS + 2000);
    static struct watch w[N];
    static const char head[] = "GET /?v=10&encoding=json HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    watch_connect(w, N, PLAIN, head, sizeof head - 1);
    watch_all(w, N, http_status, UPGRADE_TIMEOUT_MS + 4000, slowloris_tick, 100);
    judge(p, w, N, 408, "got 408");
    close_watches(w, N);
    bt_end(p);
}

/* One connection that sends data (while reading) and must get status. */
static void http_attack(const char *name, const uint8_t *data, size_t len, int status, const char *expect)
{
    struct bt_phase *p = bt_begin(name, PLAIN, expect, 2000);
    static struct watch w;
    int rounds = 0;
    do {
        watch_connect(&w, 1, PLAIN, data, len);
        watch_all(&w, 1, http_status, 5000, NULL, 0);
        judge(p, &w, 1, status, "");
        close_watches(&w, 1);
        rounds++;
    } while (bt_again(p));
    if (p->ok)
        snprintf(p->seen, sizeof p->seen, "%d (%d times)", status, rounds);
    bt_end(p);
}

static void attack_headers(void)
{
    size_t big = (1u << 20) + 64;
    uint8_t *b = malloc(big);
    memset(b, 'a', big);
    memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
    http_attack("huge header (1 MiB)", b, big, 431, "431");
    size_t lines = 10000, n = 0;
    uint8_t *l = malloc(16 + lines * 8 + 2);
    n += (size_t)sprintf((char *)l, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < lines; i++) {
        memcpy(l + n, "X-N: v\r\n", 8);
        n += 8;
    }
    memcpy(l + n, "\r\n", 2);
    n += 2;
    http_attack("10,000 header lines", l, n, 431, "431");
    free(b);
    free(l);
}

static void attack_malformed_frames(void)
{
    struct bt_phase *p = bt_begin("malformed frames (17 kinds, 4 KiB behind each)", PLAIN, "1002/1007/1009, then FIN", 1000);
    int rounds = 0;
    for (size_t i = 0; i < mg_nbad_frames || (i = 0, rounds++, bt_again(p)); i++) {
        const mg_bad_frame *bf = &mg_bad_frames[i];
        tws c;
        if (bt_open_ws(PLAIN, &c) != 0) {
            bt_fail(p, "%s: no HELLO", bf->what);
            break;
        }
        uint8_t buf[4096 + 64];
        size_t n = mg_bad_frame_with_tail(bf, buf, sizeof buf);
        double t = bt_now_ms();
        tws_send_raw(&c, buf, n);
        int code = bt_close_code_of(&c, 3000);
        int eof = code ? tws_wait_eof(&c, 3000) : -1;
        bt_took(p, t);
        if (code != bf->code || eof != 0)
            bt_fail(p, "%s: close %d (want %d), then %s", bf->what, code, bf->code, eof == 0 ? "FIN" : "no clean FIN");
        tws_close(&c);
    }
    if (p->ok)
        snprintf(p->seen, sizeof p->seen, "each its code, then a clean FIN (%d rounds of %zu)", rounds, mg_nbad_frames);
    bt_end(p);
}

static void attack_bad_payloads(void)
{
    struct bt_phase *p = bt_begin("bad payloads (9 kinds) and 121 commands", PLAIN, "4001-4004/4013, 4008", 1000);
    int rounds = 0;
    for (size_t i = 0; i <= mg_nbad_payloads || (i = 0, rounds++, bt_again(p)); i++) {
        tws c;
        if (bt_open_ws(PLAIN, &c) != 0) {
            bt_fail(p, "no HELLO");
            break;
        }
        double t = bt_now_ms();
        int want = 4008;
        if (i < mg_nbad_payloads) {
            want = mg_bad_payloads[i].code;
            tws_send_frame(&c, 1, mg_bad_payloads[i].json, strlen(mg_bad_payloads[i].json), 1);
        } else {
            for (int k = 0; k < 121; k++) /* one write each: the rate limit */
                tws_send_frame(&c, 1, HEARTBEAT, strlen(HEARTBEAT), 1);
        }
        int code = bt_close_code_of(&c, 3000);
        bt_took(p, t);
        if (code != want)
            bt_fail(p, "%s: close %d, want %d", i < mg_nbad_payloads ? mg_bad_payloads[i].what : "121 heartbeats", code,
                 want);
        tws_close(&c);
    }
    if (p->ok)
        snprintf(p->seen, sizeof p->seen, "each its close code (%d rounds of %zu)", rounds, mg_nbad_payloads + 1);
    bt_end(p);
}

/* The crash of issue 12: a message answered by a close, then more than
 * 4096 bytes in the same read; and 500 presence updates back to back,
 * which TCP coalesces on its own. */
static void attack_crash_trigger(int which)
{
    struct bt_phase *p = bt_begin(which == TLS ? "crash trigger over TLS (close + 8 KiB in one read)"
                                         : "crash trigger (close + 8 KiB in one read)",
                            which, "4004 and 4008, server alive", 2000);
    tws c;
    static uint8_t buf[16384];
    size_t n = tws_frame(buf, 0x81, IDENTIFY_WRONG, strlen(IDENTIFY_WRONG), 1);
    for (int i = 0; i < 300; i++)
        n += tws_frame(buf + n, 0x81, HEARTBEAT, strlen(HEARTBEAT), 1);
    int c1 = 4004, c2 = 4008, rounds = 0;
    do {
        int r1 = -1, r2 = -1;
        double t;
        if (bt_open_ws(which, &c) == 0) {
            t = bt_now_ms();
            tws_send_raw(&c, buf, n);
            r1 = bt_close_code_of(&c, 3000);
            bt_took(p, t);
            tws_close(&c);
        }
        if (bt_open_identified(which, &c) == 0) {
            static const char presence[] =
                "{\"op\":3,\"d\":{\"since\":null,\"activities\":[],\"status\":\"online\",\"afk\":false}}";
            t = bt_now_ms();
            for (int i = 0; i < 500; i++)
                if (tws_send_frame(&c, 1, presence, sizeof presence - 1, 1) != 0)
                    break;
            r2 = bt_close_code_of(&c, 3000);
            bt_took(p, t);
            tws_close(&c);
        }
        if (r1 != 4004)
            c1 = r1;
        if (r2 != 4008)
            c2 = r2;
        rounds++;
    } while (c1 == 4004 && c2 == 4008 && bt_now_ms() < p->t0 + SUSTAIN_MS);
    int alive = bt_open_ws(which, &c) == 0;
    if (alive)
        tws_close(&c);
    if (c1 == 4004 && c2 == 4008 && alive)
        snprintf(p->seen, sizeof p->seen, "4004, 4008 (%d times each); serving on", rounds);
    else
        bt_fail(p, "close %d (want 4004), close %d (want 4008), %s", c1, c2, alive ? "serving" : "NOT SERVING");
    bt_end(p);
}

/* Floods one connection with unit (after prefix) as fast as it takes them
 * while reading; returns the close code and sets *ms to when it came. */
static int flood(tws *c, const uint8_t *prefix, size_t plen, const uint8_t *unit, size_t ulen, int max_ms, double *ms)
{
    double t0 = bt_now_ms();
    tws_send_raw(c, prefix, plen);
    set_nonblocking(c->fd);
    size_t off = 0;
    while (bt_now_ms() < t0 + max_ms) {
        struct pollfd pfd = {c->fd, POLLIN | POLLOUT, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        if (pfd.revents & POLLIN) {
            uint8_t *msg;
            size_t n;
            int code = 0;
            int op = tws_read_message(c, &msg, &n, &code, 0);
            if (op == 8) {
                free(msg);
                *ms = bt_now_ms() - t0;
                return code;
            }
            if (op > 0)
                free(msg);
        }
        if (pfd.revents & POLLOUT) {
            ssize_t m = send(c->fd, unit + off, ulen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (m > 0)
                off = (off + (size_t)m) % ulen;
            else if (m < 0 && errno != EAGAIN)
                break;
        }
        if (pfd.revents & (POLLHUP | POLLERR))
            break;
    }
    *ms = bt_now_ms() - t0;
    return 0;
}

static void attack_flood(const char *name, int first_byte, const uint8_t *prefix, size_t plen)
{
    struct bt_phase *p = bt_begin(name, PLAIN, "1008", 2000);
    enum { COPIES = 4096 };
    uint8_t one[16];
    size_t fl = tws_frame(one, first_byte, NULL, 0, 1);
    uint8_t *unit = malloc(fl * COPIES);
    for (int i = 0; i < COPIES; i++)
        memcpy(unit + (size_t)i * fl, one, fl);
    int rounds = 0;
    do {
        tws c;
        if (bt_open_ws(PLAIN, &c) != 0) {
            bt_fail(p, "no HELLO");
            break;
        }
        double ms = 0;
        int code = flood(&c, prefix, plen, unit, fl * COPIES, 5000, &ms);
        if (ms > p->response_ms)
            p->response_ms = ms;
        if (code != 1008)
            bt_fail(p, "close %d, want 1008", code);
        tws_close(&c);
        rounds++;
    } while (bt_again(p));
    if (p->ok)
        snprintf(p->seen, sizeof p->seen, "1008 (%d floods, each closed after its frame credit)", rounds);
    free(unit);
    bt_end(p);
}

/* 40 clients send pings and read nothing: their pongs pile up in the
 * server (issue 12: 32 MiB each, 1.1 GB for 40). */
static void attack_unread_pongs(void)
{
    enum { N = 40, PINGS = 64 };
    struct bt_phase *p = bt_begin("ping flood, output unread (40 connections)", PLAIN, "1008 or cut; all ended", 10000);
    static tws cs[N];
    static double ended[N];
    uint8_t payload[125];
    memset(payload, 'p', sizeof payload);
    uint8_t unit[PINGS * (125 + 14)];
    size_t ul = 0;
    for (int i = 0; i < PINGS; i++)
        ul += tws_frame(unit + ul, 0x89, payload, sizeof payload, 1);
    char head[512];
    int opened = 0;
    for (int i = 0; i < N; i++) {
        ended[i] = 0;
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].fd = raw_connect(PLAIN, 4096);
        if (cs[i].fd >= 0 && tws_upgrade(&cs[i], "v=10&encoding=json", head, sizeof head) == 101 &&
            bt_read_until_text(&cs[i], "\"op\":10", 5000) == 0) {
            set_nonblocking(cs[i].fd);
            opened++;
        } else {
            ended[i] = -1;
        }
    }
    double t0 = bt_now_ms();
    size_t off[N] = {0};
    int left = opened;
    while (left > 0 && bt_now_ms() < t0 + 20000) {
        for (int i = 0; i < N; i++) {
            if (ended[i])
                continue;
            ssize_t m = send(cs[i].fd, unit + off[i], ul - off[i], MSG_NOSIGNAL | MSG_DONTWAIT);
            if (m > 0) {
                off[i] = (off[i] + (size_t)m) % ul;
            } else if (m < 0 && errno != EAGAIN) {
                ended[i] = bt_now_ms() - t0; /* the server closed it */
                left--;
            }
        }
        bt_sleep_ms(5);
    }
    for (int i = 0; i < N; i++) {
        if (ended[i] > p->response_ms)
            p->response_ms = ended[i];
        tws_close(&cs[i]);
    }
    /* Which limit ended each: the server's log says. */
    int credit = bt_log_count(PLAIN, p->log_from, "frames at once");
    int cut = bt_log_count(PLAIN, p->log_from, "cutting the largest backlog");
    if (opened == N && left == 0)
        snprintf(p->seen, sizeof p->seen,
                 "all %d ended: %d cut by the %s MiB total output cap, %d closed 1008 by the frame credit", N, cut,
                 MAX_OUTPUT_MIB, credit);
    else
        bt_fail(p, "%d opened, %d still open after 20 s", opened, left);
    bt_end(p);
}

static void attack_idle(void)
{
    enum { N = 2000, W = 500 };
    static struct watch w[N];
    struct bt_phase *p = bt_begin("2,000 idle TCP connections", PLAIN, "408", UPGRADE_TIMEOUT_MS + 2000);
    watch_connect(w, N, PLAIN, NULL, 0);
    watch_all(w, N, http_status, UPGRADE_TIMEOUT_MS + 5000, NULL, 0);
    judge(p, w, N, 408, "got 408");
    close_watches(w, N);
    bt_end(p);

    static const char upgrade[] = "GET /?v=10&encoding=json HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
    p = bt_begin("500 idle WebSockets (no IDENTIFY)", PLAIN, "4009", 2 * HEARTBEAT_INTERVAL_MS + 2000);
    watch_connect(w, W, PLAIN, upgrade, sizeof upgrade - 1);
    watch_all(w, W, close_code_after_101, 2 * HEARTBEAT_INTERVAL_MS + 5000, NULL, 0);
    judge(p, w, W, 4009, "closed 4009");
    close_watches(w, W);
    bt_end(p);
}

static void attack_churn(void)
{
    enum { CYCLES = 5000 };
    struct bt_phase *p = bt_begin("connection churn (5,000 open/close)", PLAIN, "HELLO each time, no growth", 0);
    long before = bt_proc_kib(bt_srv[PLAIN].pid, "VmRSS");
    int ok = 0;
    double worst = 0;
    for (int i = 0; i < CYCLES; i++) {
        tws c;
        double t = bt_now_ms();
        if (bt_open_ws(PLAIN, &c) == 0) {
            ok++;
            if (i % 2) /* half say goodbye, half just go */
                tws_send_frame(&c, 8, "\x03\xe8", 2, 1);
            tws_close(&c);
        }
        if (bt_now_ms() - t > worst)
            worst = bt_now_ms() - t;
    }
    p->response_ms = worst;
    bt_sleep_ms(LINGER_WAIT_MS);
    long after = bt_proc_kib(bt_srv[PLAIN].pid, "VmRSS");
    double grew = (double)(after - before) / 1024.0;
    if (ok == CYCLES && grew < CHURN_GROWTH_CAP_MIB)
        snprintf(p->seen, sizeof p->seen, "%d/%d HELLO; RSS %+.1f MiB after", ok, CYCLES, grew);
    else
        bt_fail(p, "%d/%d HELLO; RSS %+.1f MiB after (cap %.0f)", ok, CYCLES, grew, CHURN_GROWTH_CAP_MIB);
    bt_end(p);
}

static void attack_crash_plain(void) { attack_crash_trigger(PLAIN); }
static void attack_crash_tls(void) { attack_crash_trigger(TLS); }
static void attack_pong_flood(void) { attack_flood("pong flood", 0x8a, NULL, 0); }
static void attack_continuation_flood(void)
{
    static const uint8_t start_text[] = {0x01, 0x80, 1, 2, 3, 4}; /* text, FIN=0, empty */
    attack_flood("empty-continuation flood", 0x00, start_text, sizeof start_text);
}

static void attack_tls_half(void)
{
    enum { N = 200, FULL = 50 };
    static struct watch w[N];
    /* A ClientHello record header announcing 512 bytes, and 40 of them. */
    static uint8_t partial[45] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    struct bt_phase *p = bt_begin("TLS: 200 half handshakes", TLS, "closed", UPGRADE_TIMEOUT_MS + 4000);
    watch_connect(w, N, TLS, partial, sizeof partial);
    watch_all(w, N, http_status, UPGRADE_TIMEOUT_MS + 8000, NULL, 0);
    judge(p, w, N, -1, "closed by the server");
    close_watches(w, N);
    bt_end(p);

    p = bt_begin("TLS: 50 handshakes, then silence", TLS, "408", UPGRADE_TIMEOUT_MS + 2000);
    static tws t[FULL];
    double start[FULL];
    int got = 0;
    for (int i = 0; i < FULL; i++) {
        start[i] = bt_now_ms();
        if (tws_connect_tls(&t[i], bt_srv[TLS].port, bt_cert_pem) != 0)
            t[i].fd = -1;
    }
    /* tws_read_http waits 3 s at most: start reading once the first is due. */
    double due = start[0] + UPGRADE_TIMEOUT_MS - bt_now_ms();
    if (due > 0)
        bt_sleep_ms(due);
    for (int i = 0; i < FULL; i++) {
        char resp[256];
        if (t[i].fd >= 0 && tws_read_http(&t[i], resp, sizeof resp) == 408) {
            got++;
            double d = bt_now_ms() - start[i];
            if (d > p->response_ms)
                p->response_ms = d;
        }
        tws_close(&t[i]);
    }
    if (got == FULL)
        snprintf(p->seen, sizeof p->seen, "%d/%d got 408 over TLS", got, FULL);
    else
        bt_fail(p, "%d/%d got 408", got, FULL);
    bt_end(p);
}


void (*const bt_attacks[])(void) = {
    attack_slowloris,   attack_headers,    attack_malformed_frames,   attack_bad_payloads,
    attack_crash_plain, attack_pong_flood, attack_continuation_flood, attack_unread_pongs,
    attack_idle,        attack_churn,      attack_crash_tls,          attack_tls_half,
};
const size_t bt_nattacks = sizeof bt_attacks / sizeof *bt_attacks;
