/* recv_bench - benchmark 1: the receive path against its floor.
 *
 * Builds the exact bytes a client receives (framed as the server sends
 * them) for none / zlib-stream / zstd-stream, then times, in the same
 * process and alternating (floor, libdgw, floor, libdgw, ...):
 *   floor   the least any client must do with those bytes:
 *           zlib-stream: raw inflate (inflateInit2 with -15 after the
 *             2-byte zlib header, no Adler-32: what libdgw does) of each
 *             message with Z_SYNC_FLUSH into one reused buffer;
 *           zstd-stream: ZSTD_decompressStream of each message into one
 *             reused buffer, until the message's input is used up;
 *           none: a walk over the frame headers that copies each payload
 *             out;
 *   libdgw  dgw_conn_recv() on the framed bytes in 64 KiB reads, up to
 *           events with op, t, s and d in hand (the payload validated as
 *           JSON, text frames as UTF-8).
 * Each run gives a ratio floor_time / dgw_time (1.0: as fast as the
 * floor); printed are medians over the runs, of CPU time (this thread's
 * CLOCK_THREAD_CPUTIME_ID: what the work costs, robust to other jobs on
 * the machine) and of wall time.
 *
 *   recv_bench [--dispatches N] [--runs R] [--chunk BYTES] [--mode M]
 *              the recorded-style stream: a ~1 MiB READY, N dispatches;
 *   recv_bench --sweep size|compress [--sweep-mb MB] [--mode M] [--runs R]
 *              cost per byte against message size (64 B - 1 MiB) or against
 *              how compressible the messages are (16 KiB each), MB of JSON
 *              per point (8);
 *   recv_bench --side floor|dgw ...
 *              one side only, once (for valgrind --tool=callgrind
 *              --toggle-collect=run_floor / run_dgw: instruction counts). */
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

typedef struct times {
    double wall, cpu;
} times;

static times now(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
    return (times){(double)w.tv_sec + (double)w.tv_nsec / 1e9,
                   (double)c.tv_sec + (double)c.tv_nsec / 1e9};
}

static times since(times t0)
{
    times t = now();
    return (times){t.wall - t0.wall, t.cpu - t0.cpu};
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

/* ------------------------------------------------------------------------ */
/* Traffic                                                                  */

/* A payload source: writes payload i into p (cap bytes), returns its size;
 * 0 ends the stream. */
typedef size_t source_fn(void *ctx, size_t i, char *p, size_t cap);

typedef struct stream_src {
    gen g;
    size_t ndispatch;
} stream_src;

/* HELLO, a ~1 MiB READY, then the generated dispatch mix. */
static size_t stream_payload(void *ctx, size_t i, char *p, size_t cap)
{
    stream_src *s = ctx;
    if (i == 0)
        return gen_hello(&s->g, p, cap);
    if (i == 1)
        return gen_ready(&s->g, p, cap, 1u << 20);
    return i < s->ndispatch + 2 ? gen_dispatch(&s->g, p, cap) : 0;
}

typedef struct sized_src {
    uint64_t rng;
    size_t size;          /* each payload's length */
    unsigned random_pct;  /* share of the content that is random letters */
    size_t count;
} sized_src;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A MESSAGE_CREATE of exactly `size` bytes: its content is words (as chat
 * is: compresses well) mixed with random letters (does not), in the
 * proportion asked. */
static size_t sized_payload(void *ctx, size_t i, char *p, size_t cap)
{
    static const char *const words[] = {"the", "gateway", "sends", "a",
                                        "message", "to", "every", "guild",
                                        "channel", "with", "presence", "and"};
    sized_src *s = ctx;
    if (i >= s->count || s->size + 1 > cap)
        return 0;
    int head = snprintf(p, cap,
                        "{\"t\":\"MESSAGE_CREATE\",\"s\":%zu,\"op\":0,\"d\":{"
                        "\"id\":\"%llu\",\"channel_id\":\"1234567890123456\","
                        "\"content\":\"",
                        i + 1, (unsigned long long)(next_rand(&s->rng) >> 8));
    const char *tail = "\"}}";
    size_t n = (size_t)head, want = s->size > n + 3 ? s->size - 3 : n;
    while (n < want) {
        if (next_rand(&s->rng) % 100 < s->random_pct) {
            p[n++] = (char)('a' + next_rand(&s->rng) % 26);
        } else {
            const char *w = words[next_rand(&s->rng) % 12];
            for (size_t k = 0; w[k] && n < want; k++)
                p[n++] = w[k];
            if (n < want)
                p[n++] = ' ';
        }
    }
    memcpy(p + n, tail, 4);
    return n + 3;
}

static void build(msgset *m, dgw_compress comp, source_fn *src, void *ctx)
{
    size_t pcap = 2u << 20;
    char *p = malloc(pcap);
    size_t cap_w = 0, cap_b = 0, cap_l = 0, body_off = 0;
    memset(m, 0, sizeof *m);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit(&z, 6);
#ifdef DGW_HAVE_ZSTD
    ZSTD_CStream *zs = ZSTD_createCStream();
    ZSTD_initCStream(zs, 3);
#endif
    for (size_t i = 0;; i++) {
        size_t n = src(ctx, i, p, pcap);
        if (n == 0)
            break;
        m->inflated += n;
        size_t bound = n + n / 2 + 1024;
        if (m->wire_len + bound + 14 > cap_w)
            m->wire = xrealloc(m->wire, cap_w = (cap_w + bound + 14) * 2);
        if (body_off + bound > cap_b)
            m->body = xrealloc(m->body, cap_b = (cap_b + bound) * 2);
        if (m->n + 1 > cap_l)
            m->body_len = xrealloc(m->body_len,
                                   (cap_l = cap_l * 2 + 64) * sizeof(size_t));
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
        m->body_len[m->n++] = blen;
        body_off += blen;
        m->wire_len += tk_frame(m->wire + m->wire_len, true,
                                comp == DGW_COMPRESS_NONE ? 1 : 2, dst, blen,
                                NULL);
    }
    deflateEnd(&z);
#ifdef DGW_HAVE_ZSTD
    ZSTD_freeCStream(zs);
#endif
    free(p);
}

static void msgset_free(msgset *m)
{
    free(m->wire);
    free(m->body);
    free(m->body_len);
}

/* ------------------------------------------------------------------------ */
/* The two sides                                                            */

/* The floor (noinline: callgrind's --toggle-collect names it). */
__attribute__((noinline)) static times run_floor(const msgset *m,
                                                 dgw_compress comp,
                                                 uint8_t *out, size_t out_cap)
{
    times t0 = now();
    size_t off = 0, total = 0;
    if (comp == DGW_COMPRESS_ZLIB_STREAM) {
        z_stream z;
        memset(&z, 0, sizeof z);
        inflateInit2(&z, -15);
        for (size_t i = 0; i < m->n; i++) {
            size_t skip = i == 0 ? 2 : 0; /* the zlib header, as libdgw */
            z.next_in = m->body + off + skip;
            z.avail_in = (uInt)(m->body_len[i] - skip);
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
    times dt = since(t0);
    if (total != m->inflated) {
        fprintf(stderr, "floor inflated %zu, expected %zu\n", total, m->inflated);
        exit(1);
    }
    return dt;
}

static void rng(void *u, uint8_t *b, size_t n)
{
    uint64_t *s = u;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)next_rand(s);
}

static volatile size_t sink;

/* libdgw: from framed bytes to events with op/t/s/d in hand. */
__attribute__((noinline)) static times run_dgw(const msgset *m,
                                               dgw_compress comp, size_t chunk,
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
    times t0 = now();
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
    times dt = since(t0);
    sink += acc;
    dgw_conn_free(c);
    *events = nev;
    return dt;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                     */

typedef struct result {
    double floor_cpu, dgw_cpu;     /* medians, seconds */
    double ratio_cpu, ratio_wall;  /* medians of floor/dgw per run */
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint8_t *floor_out;
static size_t floor_cap = 4u << 20;

static result measure(const msgset *m, dgw_compress comp, size_t chunk,
                      int runs, const char *name)
{
    double fc[64], dc[64], rc[64], rw[64];
    if (runs > 64)
        runs = 64;
    for (int r = 0; r < runs; r++) {
        size_t events = 0;
        times a = run_floor(m, comp, floor_out, floor_cap);
        times b = run_dgw(m, comp, chunk, &events);
        if (events != m->n) {
            fprintf(stderr, "%s: %zu events for %zu messages\n", name, events,
                    m->n);
            exit(1);
        }
        fc[r] = a.cpu;
        dc[r] = b.cpu;
        rc[r] = a.cpu / b.cpu;
        rw[r] = a.wall / b.wall;
    }
    return (result){median(fc, runs), median(dc, runs), median(rc, runs),
                    median(rw, runs)};
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
#define NMODES (sizeof modes / sizeof *modes)

/* Message size 64 B .. 1 MiB (x4), ~mb MB of JSON per point; or 16 KiB
 * messages from all words to all random letters. Cost in ns per byte of
 * JSON, floor and libdgw, CPU time. */
static void sweep(const char *what, const char *only, int runs, size_t chunk,
                  double mb)
{
    bool by_size = strcmp(what, "size") == 0;
    printf("# recv_bench --sweep %s: median of %d interleaved runs, CPU time; "
           "ns per byte of JSON\n", what, runs);
    printf("%-12s %10s %8s %10s %10s %10s %8s\n", "mode", "msg_B", "random%",
           "wire/json", "floor_ns/B", "dgw_ns/B", "ratio");
    for (size_t k = 0; k < NMODES; k++) {
        if (only && strcmp(only, modes[k].name))
            continue;
        for (int step = 0; step < (by_size ? 8 : 5); step++) {
            sized_src s = {.rng = 99};
            s.size = by_size ? (size_t)64 << (2 * step) : 16384;
            s.random_pct = by_size ? 0 : (unsigned)(25 * step);
            s.count = (size_t)(mb * 1e6) / s.size + 1;
            if (s.count > 50000)
                s.count = 50000;
            msgset m;
            build(&m, modes[k].comp, sized_payload, &s);
            result r = measure(&m, modes[k].comp, chunk, runs, modes[k].name);
            double b = (double)m.inflated;
            printf("%-12s %10zu %8u %10.3f %10.3f %10.3f %8.3f\n",
                   modes[k].name, s.size, s.random_pct,
                   (double)m.wire_len / b, r.floor_cpu * 1e9 / b,
                   r.dgw_cpu * 1e9 / b, r.ratio_cpu);
            fflush(stdout);
            msgset_free(&m);
        }
    }
}

int main(int argc, char **argv)
{
    size_t ndispatch = 100000, chunk = 65536;
    int runs = 5;
    const char *only = NULL, *side = NULL, *sweep_what = NULL;
    double sweep_mb = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dispatches") && i + 1 < argc)
            ndispatch = strtoul(argv[++i], NULL, 10);
        else if ((!strcmp(argv[i], "--runs") || !strcmp(argv[i], "--repeat")) &&
                 i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
            chunk = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--side") && i + 1 < argc)
            side = argv[++i];
        else if (!strcmp(argv[i], "--sweep") && i + 1 < argc)
            sweep_what = argv[++i];
        else if (!strcmp(argv[i], "--sweep-mb") && i + 1 < argc)
            sweep_mb = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: recv_bench [--dispatches N] [--runs R] "
                    "[--chunk BYTES] [--mode none|zlib-stream|zstd-stream]\n"
                    "                  [--side floor|dgw] [--sweep size|compress] "
                    "[--sweep-mb MB]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    floor_out = malloc(floor_cap);
    if (sweep_what) {
        if (strcmp(sweep_what, "size") && strcmp(sweep_what, "compress")) {
            fprintf(stderr, "--sweep size or compress\n");
            return 2;
        }
        sweep(sweep_what, only, runs, chunk, sweep_mb);
        free(floor_out);
        return 0;
    }
    if (!side) {
        printf("# recv_bench: READY ~1 MiB + %zu dispatches, %zu-byte reads, "
               "median of %d interleaved runs (floor, libdgw, floor, ...)\n",
               ndispatch, chunk, runs);
        printf("# MB/s: JSON bytes per CPU-second of this thread; ratio: "
               "floor time / libdgw time, per run, median (cpu and wall)\n");
        printf("%-12s %10s %10s %12s %12s %12s %10s %10s\n", "mode", "wire_MB",
               "json_MB", "floor_MB/s", "dgw_MB/s", "dgw_ev/s", "ratio_cpu",
               "ratio_wall");
    }
    for (size_t k = 0; k < NMODES; k++) {
        if (only && strcmp(only, modes[k].name))
            continue;
        stream_src s = {.ndispatch = ndispatch};
        gen_init(&s.g, 42);
        msgset m;
        build(&m, modes[k].comp, stream_payload, &s);
        if (side) {
            size_t events = 0;
            if (!strcmp(side, "floor"))
                run_floor(&m, modes[k].comp, floor_out, floor_cap);
            else
                run_dgw(&m, modes[k].comp, chunk, &events);
            msgset_free(&m);
            continue;
        }
        result r = measure(&m, modes[k].comp, chunk, runs, modes[k].name);
        double mb = (double)m.inflated / 1e6;
        printf("%-12s %10.1f %10.1f %12.1f %12.1f %12.0f %10.3f %10.3f\n",
               modes[k].name, (double)m.wire_len / 1e6, mb, mb / r.floor_cpu,
               mb / r.dgw_cpu, (double)m.n / r.dgw_cpu, r.ratio_cpu,
               r.ratio_wall);
        fflush(stdout);
        msgset_free(&m);
    }
    free(floor_out);
    return 0;
}
