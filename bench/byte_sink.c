/* byte_sink - the floor of benchmark 2: a client that only reads bytes.
 *
 *   byte_sink URL [--compress none|zlib-stream|zstd-stream] [--events N]
 *             [--pause-ms MS]
 *
 * Plain TCP (ws:// only). Upgrades, answers HELLO (the first message) with
 * an IDENTIFY, then walks the WebSocket frame headers of what arrives and
 * skips their payloads: no decompression, no UTF-8 or JSON check, nothing
 * a real client must do. The second message is READY; after N more
 * messages it closes with 1000 and prints one line like dgw_sink's:
 *
 *   byte_sink compress=none events=N wall_s=... events_per_s=... cpu_s=...
 *             events_per_cpu_s=... wire_bytes=...
 *
 * So what it measures is the server: how fast the mock gateway produces a
 * stream (benchmark 2a in bench/RESULTS.md). --pause-ms stops reading for
 * that long after READY (the server queues meanwhile). Exit 0 when N
 * messages arrived, 1 otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sink_util.h"
#include "testkit.h"

static int dial(const char *url)
{
    char host[256];
    const char *h = strncmp(url, "ws://", 5) == 0 ? url + 5 : NULL;
    const char *colon = h ? strchr(h, ':') : NULL;
    if (!colon || (size_t)(colon - h) >= sizeof host)
        return -1;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    char port[8];
    snprintf(port, sizeof port, "%.*s", (int)strcspn(colon + 1, "/?"), colon + 1);
    return sink_tcp_connect(host, (uint16_t)atoi(port));
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_frame(int fd, uint8_t opcode, const void *p, size_t n)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t f[256];
    if (n + 14 > sizeof f)
        return -1;
    return send_all(fd, f, tk_frame(f, true, opcode, p, n, mask));
}

/* Walks frame headers across reads: where the next header starts, and
 * the bytes of a header cut by a read. */
typedef struct walker {
    uint64_t skip; /* payload bytes of the current frame still to come */
    uint8_t head[14];
    size_t hn;
    long messages;
} walker;

static void walk(walker *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (w->skip > 0) {
            size_t k = n < w->skip ? n : (size_t)w->skip;
            w->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        w->head[w->hn++] = *p++;
        n--;
        if (w->hn < 2)
            continue;
        size_t ext = (w->head[1] & 0x7f) == 126 ? 2 : (w->head[1] & 0x7f) == 127 ? 8 : 0;
        if (w->hn < 2 + ext)
            continue;
        uint64_t len = w->head[1] & 0x7f;
        if (ext) {
            len = 0;
            for (size_t i = 0; i < ext; i++)
                len = len << 8 | w->head[2 + i];
        }
        int fin = w->head[0] >> 7, opcode = w->head[0] & 0x0f;
        if (fin && opcode < 8)
            w->messages++;
        w->skip = len;
        w->hn = 0;
    }
}

int main(int argc, char **argv)
{
    const char *url = NULL, *comp = "none";
    long want = 100000, pause_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--compress") && i + 1 < argc)
            comp = argv[++i];
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            want = atol(argv[++i]);
        else if (!strcmp(argv[i], "--pause-ms") && i + 1 < argc)
            pause_ms = atol(argv[++i]);
        else if (argv[i][0] != '-' && !url)
            url = argv[i];
        else
            url = NULL, want = 0, i = argc;
    }
    if (!url || want < 1 || (strcmp(comp, "none") && strcmp(comp, "zlib-stream") && strcmp(comp, "zstd-stream"))) {
        fprintf(stderr, "usage: byte_sink ws://HOST:PORT [--compress none|zlib-stream|zstd-stream] [--events N] "
                        "[--pause-ms MS]\n");
        return 2;
    }
    int fd = dial(url);
    if (fd < 0) {
        fprintf(stderr, "byte_sink: cannot connect to %s: %s\n", url, strerror(errno));
        return 1;
    }
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET /?v=10&encoding=json%s%s HTTP/1.1\r\nHost: mock\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                      strcmp(comp, "none") ? "&compress=" : "", strcmp(comp, "none") ? comp : "");
    if (send_all(fd, req, (size_t)rl) != 0)
        return 1;
    size_t cap = 256 * 1024, have = 0;
    uint8_t *buf = malloc(cap);
    char *end = NULL;
    while (!end) { /* the 101 head; frames may follow it in the same read */
        ssize_t n = buf ? recv(fd, buf + have, cap - have - 1, 0) : -1;
        if (n <= 0) {
            fprintf(stderr, "byte_sink: no answer to the upgrade\n");
            return 1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr((char *)buf, "\r\n\r\n");
    }
    if (strncmp((char *)buf, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "byte_sink: upgrade refused: %.*s\n", (int)strcspn((char *)buf, "\r"), (char *)buf);
        return 1;
    }
    walker w = {0};
    size_t head = (size_t)(end + 4 - (char *)buf);
    walk(&w, buf + head, have - head);
    int identified = 0;
    long ready_at = 0;
    uint64_t t0 = 0, t1 = 0;
    double c0 = 0, c1 = 0;
    unsigned long long wire = 0;
    for (;;) {
        if (!identified && w.messages >= 1) {
            static const char identify[] = "{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":513,"
                                           "\"properties\":{\"os\":\"linux\",\"browser\":\"byte_sink\","
                                           "\"device\":\"byte_sink\"}}}";
            if (send_frame(fd, 0x1, identify, sizeof identify - 1) != 0)
                break;
            identified = 1;
        }
        if (!ready_at && w.messages >= 2) {
            ready_at = 2;
            if (pause_ms > 0)
                usleep((useconds_t)pause_ms * 1000);
            t0 = sink_now_ns();
            c0 = sink_cpu_s();
        }
        if (ready_at && w.messages >= ready_at + want) {
            t1 = sink_now_ns();
            c1 = sink_cpu_s();
            static const uint8_t bye[] = {0x03, 0xe8, 'd', 'o', 'n', 'e'};
            send_frame(fd, 0x8, bye, sizeof bye);
            break;
        }
        ssize_t n = recv(fd, buf, cap, 0);
        if (n <= 0)
            break;
        if (ready_at)
            wire += (size_t)n;
        walk(&w, buf, (size_t)n);
    }
    long got = ready_at ? w.messages - ready_at : 0;
    if (!t1) {
        fprintf(stderr, "byte_sink: only %ld of %ld messages after READY\n", got < 0 ? 0 : got, want);
        return 1;
    }
    /* Wait for the server's close (or its end of TCP) so that it ends the
     * scenario cleanly. */
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (recv(fd, buf, cap, 0) > 0) {
    }
    close(fd);
    free(buf);
    double wall = (double)(t1 - t0) / 1e9, cpu = c1 - c0;
    printf("byte_sink compress=%s events=%ld wall_s=%.4f events_per_s=%.0f cpu_s=%.4f events_per_cpu_s=%.0f "
           "wire_bytes=%llu\n",
           comp, want, wall, (double)want / wall, cpu, cpu > 0 ? (double)want / cpu : 0.0, wire);
    return 0;
}
