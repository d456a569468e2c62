/* dgw_sink - benchmark 2, the dgw side: a minimal single-threaded client.
 *
 *   dgw_sink URL [--compress none|zlib-stream|zstd-stream] [--events N]
 *            [--pause-ms MS] [--token T] [--parse]
 *
 * Plain TCP (ws:// only), one poll() loop, one dgw_conn. Connects,
 * IDENTIFYs, and counts DGW_EV_DISPATCH events after READY (op, t, s and
 * the raw d are available: that is all @discordjs/ws gives its "dispatch"
 * listeners before they parse, and less than it does: it JSON.parses every
 * payload; --parse does that too: every d through dgw_event_parse_data(),
 * i.e. cJSON, then freed). After N dispatches it closes with 1000 and prints one line:
 *
 *   dgw_sink compress=zlib-stream events=N wall_s=... events_per_s=...
 *            cpu_s=... events_per_cpu_s=... wire_bytes=... payload_bytes=...
 *
 * The clock runs from READY to the Nth dispatch. --pause-ms stops reading
 * for that long after READY (the server queues the stream meanwhile), so
 * that what is timed is the client, not the server's production rate.
 * Exit 0 when N dispatches arrived, 1 otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dgw.h"
#include "sink_util.h"

static void rng(void *u, uint8_t *b, size_t n)
{
    uint64_t *s = u;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        b[i] = (uint8_t)*s;
    }
}

int main(int argc, char **argv)
{
    const char *url = NULL, *token = "test-token";
    dgw_compress comp = DGW_COMPRESS_ZLIB_STREAM;
    const char *comp_name = "zlib-stream";
    long want = 100000, pause_ms = 0;
    int parse = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--compress") && i + 1 < argc) {
            comp_name = argv[++i];
            if (!strcmp(comp_name, "none"))
                comp = DGW_COMPRESS_NONE;
            else if (!strcmp(comp_name, "zlib-stream"))
                comp = DGW_COMPRESS_ZLIB_STREAM;
            else if (!strcmp(comp_name, "zstd-stream"))
                comp = DGW_COMPRESS_ZSTD_STREAM;
            else {
                fprintf(stderr, "dgw_sink: unknown compression %s\n", comp_name);
                return 2;
            }
        } else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
            want = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--pause-ms") && i + 1 < argc) {
            pause_ms = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--parse")) {
            parse = 1;
        } else if (!strcmp(argv[i], "--token") && i + 1 < argc) {
            token = argv[++i];
        } else if (argv[i][0] != '-' && !url) {
            url = argv[i];
        } else {
            fprintf(stderr, "usage: dgw_sink URL [--compress MODE] [--events N] [--pause-ms MS]\n");
            return 2;
        }
    }
    if (!url || want < 1) {
        fprintf(stderr, "usage: dgw_sink URL [--compress MODE] [--events N] [--pause-ms MS]\n");
        return 2;
    }

    uint64_t seed = 0x9e3779b97f4a7c15ull;
    dgw_config cfg = {0};
    cfg.url = url;
    cfg.compress = comp;
    cfg.identify.token = token;
    cfg.identify.intents = 513;
    cfg.random = rng;
    cfg.random_user = &seed;
    dgw_err err;
    dgw_conn *c = dgw_conn_new(&cfg, &err);
    if (!c) {
        fprintf(stderr, "dgw_sink: dgw_conn_new: %s\n", dgw_strerror(err));
        return 1;
    }
    uint64_t t0 = sink_now_ns();
#define NOW_MS() ((sink_now_ns() - t0) / 1000000u)
    if (dgw_conn_start(c, NOW_MS()) != DGW_OK)
        return 1;
    dgw_endpoint ep;
    dgw_conn_endpoint(c, &ep);
    if (ep.tls) {
        fprintf(stderr, "dgw_sink: ws:// only\n");
        return 2;
    }
    int fd = sink_tcp_connect(ep.host, ep.port);
    if (fd < 0) {
        fprintf(stderr, "dgw_sink: connect %s:%u: %s\n", ep.host, ep.port, strerror(errno));
        return 1;
    }

    size_t cap = 256 * 1024;
    uint8_t *rbuf = malloc(cap);
    long got = 0;
    int ready = 0, closed = 0, closing = 0;
    uint64_t t_ready = 0, t_last = 0;
    double cpu_ready = 0, cpu_last = 0;
    unsigned long long wire = 0, wire_ready = 0, payload = 0;
    while (!closed) {
        const uint8_t *o;
        size_t on;
        while ((on = dgw_conn_peek_output(c, &o)) > 0) {
            ssize_t w = send(fd, o, on, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w <= 0)
                break;
            dgw_conn_consume_output(c, (size_t)w);
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (dgw_conn_peek_output(c, &o) > 0)
            pfd.events |= POLLOUT;
        uint64_t dl = dgw_conn_next_timeout(c), nm = NOW_MS();
        int to = dl == DGW_NO_TIMEOUT ? 1000 : dl <= nm ? 0 : (int)(dl - nm > 1000 ? 1000 : dl - nm);
        if (poll(&pfd, 1, to) < 0 && errno != EINTR) {
            perror("dgw_sink: poll");
            break;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, rbuf, cap, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                dgw_conn_recv_eof(c, NOW_MS());
            } else if (n > 0) {
                wire += (size_t)n;
                uint64_t now = NOW_MS();
                const uint8_t *p = rbuf;
                size_t len = (size_t)n;
                while (len > 0) {
                    long r = dgw_conn_recv(c, p, len, now);
                    if (r < 0)
                        break;
                    p += r;
                    len -= (size_t)r;
                    dgw_event ev;
                    while (dgw_conn_poll_event(c, &ev)) {
                        if (ev.type == DGW_EV_DISPATCH) {
                            if (!ready) {
                                if (ev.name && !strcmp(ev.name, "READY")) {
                                    ready = 1;
                                    if (pause_ms > 0)
                                        usleep((useconds_t)pause_ms * 1000);
                                    t_ready = sink_now_ns();
                                    cpu_ready = sink_cpu_s();
                                    wire_ready = wire;
                                }
                            } else if (got < want) {
                                payload += ev.payload_len;
                                if (parse) {
                                    void *j = dgw_event_parse_data(&ev);
                                    if (!j) {
                                        fprintf(stderr, "dgw_sink: d did not parse\n");
                                        return 1;
                                    }
                                    cJSON_Delete(j);
                                }
                                if (++got == want) {
                                    t_last = sink_now_ns();
                                    cpu_last = sink_cpu_s();
                                    wire_ready = wire - wire_ready;
                                    dgw_conn_close(c, 1000, "done", NOW_MS());
                                    closing = 1;
                                }
                            }
                        } else if (ev.type == DGW_EV_CLOSED) {
                            closed = 1;
                            if (!closing)
                                fprintf(stderr, "dgw_sink: closed early: code %u %s: %s\n", ev.close_code,
                                        dgw_strerror(ev.error), dgw_conn_last_error(c));
                        }
                    }
                }
            }
        }
        dgw_conn_handle_timeout(c, NOW_MS());
        dgw_event ev;
        while (dgw_conn_poll_event(c, &ev))
            if (ev.type == DGW_EV_CLOSED) {
                closed = 1;
                if (!closing)
                    fprintf(stderr, "dgw_sink: closed: code %u %s: %s\n", ev.close_code, dgw_strerror(ev.error),
                            dgw_conn_last_error(c));
            }
    }
    const uint8_t *o;
    size_t on;
    if ((on = dgw_conn_peek_output(c, &o)) > 0)
        (void)!send(fd, o, on, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    free(rbuf);
    dgw_conn_free(c);
    if (got < want) {
        fprintf(stderr, "dgw_sink: only %ld of %ld dispatches\n", got, want);
        return 1;
    }
    double wall = (double)(t_last - t_ready) / 1e9, cpu = cpu_last - cpu_ready;
    printf("dgw_sink%s compress=%s events=%ld wall_s=%.4f events_per_s=%.0f cpu_s=%.4f events_per_cpu_s=%.0f "
           "wire_bytes=%llu payload_bytes=%llu\n",
           parse ? "+cJSON" : "", comp_name, got, wall, (double)got / wall, cpu, cpu > 0 ? (double)got / cpu : 0.0, wire_ready, payload);
    return 0;
}
