/* recv_bench - benchmark 1: the receive path against its floor.
 *
 * Builds the exact bytes a client receives in a recorded-style session (a
 * ~1 MiB READY, then N mixed dispatches), framed as the server sends them,
 * for none / zlib-stream / zstd-stream. Then times, in the same process and
 * alternating runs:
 *   (a) the floor: a bare loop that only decompresses the same messages
 *       (for "none": a bare frame walk copying each payload);
 *   (b) libdgw: dgw_conn_recv() on the framed bytes in 64 KiB reads, up to
 *       events with op, t, s and d available.
 * and prints MB/s (inflated payload bytes), events/s and the ratio b/a of
 * throughputs (1.0 = as fast as the floor). Best of --repeat runs each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#ifdef DGW_HAVE_ZSTD
#include <zstd.h>
#endif

#include "dgw.h"
#include "gen.h"
#include "testkit.h"

typedef struct msgset {
    uint8_t *wire;          /* framed server bytes after the 101 */
    size_t wire_len;
    uint8_t *body;          /* concatenated message bodies (compressed) */
    size_t *body_len;       /* per message */
    size_t n;
    size_t inflated;        /* total payload bytes */
} msgset;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        perror("realloc");
        exit(1);
    }
    return p;
}

static void build(msgset *m, dgw_compress comp, size_t ndispatch)
{
    gen g;
    gen_init(&g, 42);
    char *p = malloc(2u << 20);
    size_t cap_w = 0, cap_b = 0, body_off = 0;
    memset(m, 0, sizeof *m);
    m->body_len = calloc(ndispatch + 2, sizeof(size_t));
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit(&z, 6);
#ifdef DGW_HAVE_ZSTD
    ZSTD_CStream *zs = ZSTD_createCStream();
    ZSTD_initCStream(zs, 3);
#endif
    for (size_t i = 0; i < ndispatch + 2; i++) {
        size_t n = i == 0   ? gen_hello(&g, p, 2u << 20)
                   : i == 1 ? gen_ready(&g, p, 2u << 20, 1u << 20)
                            : gen_dispatch(&g, p, 2u << 20);
        m->inflated += n;
        size_t bound = n + n / 2 + 1024;
        if (m->wire_len + bound + 14 > cap_w)
            m->wire = xrealloc(m->wire, cap_w = (cap_w + bound + 14) * 2);
        if (body_off + bound > cap_b)
            m->body = xrealloc(m->body, cap_b = (cap_b + bound) * 2);
        uint8_t *dst = m->body + body_off;
        size_t blen = 0;
        if (comp == DGW_COMPRESS_ZLIB_STREAM) {
            z.next_in = (Bytef *)p;
            z.avail_in = (uInt)n;
            z.next_out = dst;
            z.avail_out = (uInt)bound;
            deflate(&z, Z_SYNC_FLUSH);
            blen = bound - z.avail_out;
        }
#ifdef DGW_HAVE_ZSTD
        else if (comp == DGW_COMPRESS_ZSTD_STREAM) {
            ZSTD_inBuffer in = {p, n, 0};
            ZSTD_outBuffer ob = {dst, bound, 0};
            while (ZSTD_compressStream2(zs, &ob, &in, ZSTD_e_flush) != 0)
                ;
            blen = ob.pos;
        }
#endif
        else {
            memcpy(dst, p, n);
            blen = n;
        }
        m->body_len[i] = blen;
        body_off += blen;
        m->wire_len += tk_frame(m->wire + m->wire_len, true,
                                comp == DGW_COMPRESS_NONE ? 1 : 2, dst, blen,
                                NULL);
        m->n++;
    }
    deflateEnd(&z);
#ifdef DGW_HAVE_ZSTD
    ZSTD_freeCStream(zs);
#endif
    free(p);
}

/* The floor: decompress each message into a reused buffer, nothing else. */
static double run_floor(const msgset *m, dgw_compress comp, uint8_t *out,
                        size_t out_cap)
{
    double t0 = now_s();
    size_t off = 0, total = 0;
    if (comp == DGW_COMPRESS_ZLIB_STREAM) {
        z_stream z;
        memset(&z, 0, sizeof z);
        inflateInit(&z);
        for (size_t i = 0; i < m->n; i++) {
            z.next_in = m->body + off;
            z.avail_in = (uInt)m->body_len[i];
            z.next_out = out;
            z.avail_out = (uInt)out_cap;
            inflate(&z, Z_SYNC_FLUSH);
            total += out_cap - z.avail_out;
            off += m->body_len[i];
        }
        inflateEnd(&z);
    }
#ifdef DGW_HAVE_ZSTD
    else if (comp == DGW_COMPRESS_ZSTD_STREAM) {
        ZSTD_DStream *zd = ZSTD_createDStream();
        ZSTD_initDStream(zd);
        for (size_t i = 0; i < m->n; i++) {
            ZSTD_inBuffer in = {m->body + off, m->body_len[i], 0};
            ZSTD_outBuffer ob = {out, out_cap, 0};
            while (in.pos < in.size)
                ZSTD_decompressStream(zd, &ob, &in);
            total += ob.pos;
            off += m->body_len[i];
        }
        ZSTD_freeDStream(zd);
    }
#endif
    else {
        /* Walk the frames and copy each payload out. */
        const uint8_t *w = m->wire, *end = m->wire + m->wire_len;
        while (w < end) {
            uint64_t len = w[1] & 0x7f;
            size_t h = 2;
            if (len == 126) {
                len = (uint64_t)w[2] << 8 | w[3];
                h = 4;
            } else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | w[2 + i];
                h = 10;
            }
            memcpy(out, w + h, len);
            total += len;
            w += h + len;
        }
    }
    double dt = now_s() - t0;
    if (total != m->inflated) {
        fprintf(stderr, "floor inflated %zu, expected %zu\n", total, m->inflated);
        exit(1);
    }
    return dt;
}

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

static volatile size_t sink;

/* libdgw: from framed bytes to events with op/t/s/d in hand. */
static double run_dgw(const msgset *m, dgw_compress comp, size_t chunk,
                      size_t *events)
{
    uint64_t seed = 7;
    dgw_config cfg = {
        .url = "ws://bench.test/",
        .compress = comp,
        .identify = {.token = "bench-token", .intents = 513},
        .random = rng,
        .random_user = &seed,
        .max_message_size = 8u << 20,
    };
    dgw_err err;
    dgw_conn *c = dgw_conn_new(&cfg, &err);
    if (!c || dgw_conn_start(c, 0) != DGW_OK) {
        fprintf(stderr, "setup: %s\n", dgw_strerror(err));
        exit(1);
    }
    const uint8_t *o;
    size_t on = dgw_conn_peek_output(c, &o);
    char req[2048], resp[512];
    memcpy(req, o, on);
    req[on] = 0;
    dgw_conn_consume_output(c, on);
    tk_101_response(req, resp, sizeof resp);
    dgw_event ev;
    dgw_conn_recv(c, (const uint8_t *)resp, strlen(resp), 0);
    while (dgw_conn_poll_event(c, &ev))
        ;
    size_t nev = 0, acc = 0;
    double t0 = now_s();
    for (size_t off = 0; off < m->wire_len;) {
        size_t len = m->wire_len - off < chunk ? m->wire_len - off : chunk;
        const uint8_t *p = m->wire + off;
        while (len > 0) {
            long r = dgw_conn_recv(c, p, len, 1);
            if (r < 0) {
                fprintf(stderr, "recv: %s: %s\n", dgw_strerror((int)r),
                        dgw_conn_last_error(c));
                exit(1);
            }
            p += r;
            len -= (size_t)r;
            off += (size_t)r;
            while (dgw_conn_poll_event(c, &ev)) {
                nev++;
                acc += (size_t)ev.op + (size_t)ev.seq + ev.data_len +
                       (ev.name ? (size_t)ev.name[0] : 0);
            }
        }
        /* What a driver does: write out what the library queued. */
        on = dgw_conn_peek_output(c, &o);
        dgw_conn_consume_output(c, on);
    }
    double dt = now_s() - t0;
    sink += acc;
    dgw_conn_free(c);
    *events = nev;
    return dt;
}

int main(int argc, char **argv)
{
    size_t ndispatch = 100000, chunk = 65536;
    int repeat = 5;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dispatches") && i + 1 < argc)
            ndispatch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
            chunk = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr,
                    "usage: recv_bench [--dispatches N] [--repeat R] "
                    "[--chunk BYTES] [--mode none|zlib-stream|zstd-stream]\n");
            return 2;
        }
    }
    static const struct {
        const char *name;
        dgw_compress comp;
    } modes[] = {{"none", DGW_COMPRESS_NONE},
                 {"zlib-stream", DGW_COMPRESS_ZLIB_STREAM},
#ifdef DGW_HAVE_ZSTD
                 {"zstd-stream", DGW_COMPRESS_ZSTD_STREAM},
#endif
    };
    size_t out_cap = 4u << 20;
    uint8_t *out = malloc(out_cap);
    printf("# recv_bench: READY ~1 MiB + %zu dispatches, %zu-byte reads, "
           "best of %d\n", ndispatch, chunk, repeat);
    printf("%-12s %10s %10s %12s %12s %12s %8s\n", "mode", "wire_MB",
           "json_MB", "floor_MB/s", "dgw_MB/s", "dgw_ev/s", "ratio");
    for (size_t k = 0; k < sizeof modes / sizeof *modes; k++) {
        if (only && strcmp(only, modes[k].name))
            continue;
        msgset m;
        build(&m, modes[k].comp, ndispatch);
        double best_a = 1e9, best_b = 1e9;
        size_t events = 0;
        for (int r = 0; r < repeat; r++) {
            double a = run_floor(&m, modes[k].comp, out, out_cap);
            double b = run_dgw(&m, modes[k].comp, chunk, &events);
            if (a < best_a)
                best_a = a;
            if (b < best_b)
                best_b = b;
        }
        if (events != m.n) {
            fprintf(stderr, "%s: %zu events for %zu messages\n", modes[k].name,
                    events, m.n);
            return 1;
        }
        double mb = (double)m.inflated / 1e6;
        printf("%-12s %10.1f %10.1f %12.1f %12.1f %12.0f %8.3f\n",
               modes[k].name, (double)m.wire_len / 1e6, mb, mb / best_a,
               mb / best_b, (double)events / best_b, best_a / best_b);
        free(m.wire);
        free(m.body);
        free(m.body_len);
    }
    free(out);
    return 0;
}
