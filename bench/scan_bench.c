/* scan_bench - the JSON scanner alone, per kernel, against memcpy.
 *
 * Generates the recv_bench traffic (a ~1 MiB READY and N dispatches, the
 * same seed), keeps the payloads in memory, and times, interleaved, R
 * rounds of:
 *   memcpy         copying every payload (the floor: bytes touched once);
 *   utf8           dgw_utf8_valid on every payload (the pass ws.c makes);
 *   value/K        dgw_json_value_isa(K) on every payload (JSON only);
 *   payload/K      dgw_json_scan_payload_isa(K) with op/d/s/t fields
 *                  (JSON and UTF-8 in one pass, what the receive path
 *                  needs), for K = scalar, sse2, avx2 (those the CPU has).
 * Prints the median GB/s of each (CPU time of this thread) and its ratio
 * to memcpy in the same round. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "json_scan.h"
#include "utf8.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct corpus {
    char *buf;
    size_t *off, *len, n, total;
} corpus;

static void build(corpus *c, size_t ndispatch)
{
    gen g;
    gen_init(&g, 42);
    size_t cap = (ndispatch + 16) * 2048 + (2u << 20);
    c->buf = malloc(cap);
    c->off = malloc((ndispatch + 2) * sizeof *c->off);
    c->len = malloc((ndispatch + 2) * sizeof *c->len);
    c->n = c->total = 0;
    for (size_t i = 0; i < ndispatch + 2; i++) {
        char *p = c->buf + c->total;
        size_t room = cap - c->total;
        size_t n = i == 0   ? gen_hello(&g, p, room)
                   : i == 1 ? gen_ready(&g, p, room, 1u << 20)
                            : gen_dispatch(&g, p, room);
        c->off[c->n] = c->total;
        c->len[c->n++] = n;
        c->total += n;
    }
}

static volatile size_t sink;

enum { MEMCPY, UTF8, VALUE, PAYLOAD };

/* One pass over the corpus; returns CPU seconds. */
static double run(const corpus *c, int what, dgw_json_isa isa, char *scratch)
{
    size_t acc = 0;
    double t0 = cpu_s();
    for (size_t i = 0; i < c->n; i++) {
        const char *p = c->buf + c->off[i];
        size_t n = c->len[i];
        switch (what) {
        case MEMCPY:
            memcpy(scratch, p, n);
            acc += (unsigned char)scratch[n / 2];
            break;
        case UTF8:
            acc += dgw_utf8_valid(p, n);
            break;
        case VALUE: {
            const char *q = p;
            dgw_span v;
            acc += dgw_json_value_isa(isa, &q, p + n, &v);
            break;
        }
        default: {
            dgw_json_field f[4] = {{.name = "op"}, {.name = "d"},
                                   {.name = "s"}, {.name = "t"}};
            acc += dgw_json_scan_payload_isa(isa, p, n, f, 4) == DGW_JSON_OK;
            acc += f[1].val.n;
            break;
        }
        }
    }
    double dt = cpu_s() - t0;
    sink += acc;
    return dt;
}

typedef struct row {
    const char *name;
    int what;
    dgw_json_isa isa;
} row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t ndispatch = 100000;
    int rounds = 7;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dispatches") && i + 1 < argc)
            ndispatch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: scan_bench [--dispatches N] [--rounds R] "
                            "[--only ROW] (ROW: memcpy, utf8, value/avx2...)\n");
            return 2;
        }
    }
    if (rounds < 1)
        rounds = 1;
    corpus c;
    build(&c, ndispatch);
    char *scratch = malloc(2u << 20);

    row rows[2 + 2 * DGW_JSON_ISA_COUNT];
    int nrows = 0;
    rows[nrows++] = (row){"memcpy", MEMCPY, DGW_JSON_ISA_SCALAR};
    rows[nrows++] = (row){"utf8", UTF8, DGW_JSON_ISA_SCALAR};
    static char names[2 * DGW_JSON_ISA_COUNT][32];
    for (int k = 0; k < DGW_JSON_ISA_COUNT; k++) {
        if (!dgw_json_isa_available((dgw_json_isa)k))
            continue;
        for (int w = VALUE; w <= PAYLOAD; w++) {
            char *nm = names[2 * k + (w - VALUE)];
            snprintf(nm, 32, "%s/%s", w == VALUE ? "value" : "payload",
                     dgw_json_isa_name((dgw_json_isa)k));
            rows[nrows++] = (row){nm, w, (dgw_json_isa)k};
        }
    }
    double *t = calloc((size_t)(nrows * rounds), sizeof *t);
    double *ratio = calloc((size_t)(nrows * rounds), sizeof *ratio);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < nrows; i++)
            if (!only || i == 0 || !strcmp(only, rows[i].name))
                t[i * rounds + r] = run(&c, rows[i].what, rows[i].isa, scratch);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < nrows; i++)
            ratio[i * rounds + r] = t[r] / t[i * rounds + r];
    printf("# scan_bench: READY ~1 MiB + %zu dispatches (%.1f MB of JSON), "
           "median of %d interleaved rounds, CPU time of this thread\n",
           ndispatch, (double)c.total / 1e6, rounds);
    printf("%-16s %10s %14s\n", "what", "GB/s", "vs_memcpy");
    for (int i = 0; i < nrows; i++) {
        if (only && i != 0 && strcmp(only, rows[i].name))
            continue;
        qsort(t + i * rounds, (size_t)rounds, sizeof *t, cmp_double);
        qsort(ratio + i * rounds, (size_t)rounds, sizeof *ratio, cmp_double);
        printf("%-16s %10.2f %14.3f\n", rows[i].name,
               (double)c.total / 1e9 / t[i * rounds + rounds / 2],
               ratio[i * rounds + rounds / 2]);
    }
    free(t);
    free(ratio);
    free(scratch);
    free(c.buf);
    free(c.off);
    free(c.len);
    return 0;
}
