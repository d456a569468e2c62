/* etf_bench - the cost of encoding=etf on the receive path.
 *
 * Takes the same generated dispatches as recv_bench (testkit/gen.c: MESSAGE_
 * CREATE, PRESENCE_UPDATE, ... with the sizes real bots see) and makes an
 * ETF copy of each the way Discord's gateway sends it (dgw_etf_encode with
 * DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS: map keys as atoms,
 * snowflakes as 64-bit integers, other strings as binaries; Discord also
 * sends the event name as an atom). Checks that each ETF copy decodes back
 * to exactly the JSON text it came from, then times, alternating, with the
 * median of --repeat rounds:
 *   json: the payload scan gateway.c runs on a JSON message (the top-level
 *         members op/d/s/t; every value is validated on the way);
 *   etf:  dgw_etf_decode of the ETF message into a reused buffer, then the
 *         same scan on its JSON;
 *   etf-decode: the decode alone.
 * and prints events/s, MB/s of JSON text and the etf/json time ratio.
 *
 *   etf_bench [--dispatches N] [--repeat R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etf.h"
#include "gen.h"
#include "json.h"

typedef struct set {
    char *text;   /* all payloads, back to back */
    size_t *off;  /* payload i is text[off[i], off[i+1]) */
    size_t n, len;
} set;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        perror("realloc");
        exit(1);
    }
    return p;
}

static void push(set *s, const void *p, size_t n)
{
    s->text = xrealloc(s->text, s->len + n);
    memcpy(s->text + s->len, p, n);
    s->len += n;
    s->off = xrealloc(s->off, (s->n + 2) * sizeof *s->off);
    s->off[s->n + 1] = s->len;
    s->n++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* gateway.c's scan: the top-level members, every value validated. */
static int scan(const char *p, size_t n, uint64_t *sink)
{
    dgw_json_iter it;
    dgw_span k, v;
    dgw_json_type t;
    if (!dgw_json_iter_init(&it, (dgw_span){p, n}))
        return -1;
    while (dgw_json_iter_next(&it, &k, &v, &t)) {
        if (dgw_json_key_is(k, "op")) {
            int64_t op;
            if (!dgw_json_int(v, &op))
                return -1;
            *sink += (uint64_t)op;
        } else if (dgw_json_key_is(k, "d") || dgw_json_key_is(k, "t") ||
                   dgw_json_key_is(k, "s")) {
            *sink += v.n;
        }
    }
    return it.failed ? -1 : 0;
}

/* The three timed loops, apart so that callgrind can count each alone
 * (valgrind --tool=callgrind --toggle-collect=run_etf ...). */
__attribute__((noinline)) static void run_json(const set *json, uint64_t *sink)
{
    for (size_t i = 0; i < json->n; i++)
        if (scan(json->text + json->off[i], json->off[i + 1] - json->off[i],
                 sink) != 0)
            exit(1);
}

__attribute__((noinline)) static void run_etf(const set *etf,
                                              dgw_etf_decoder *dec,
                                              dgw_buf *out, bool then_scan,
                                              uint64_t *sink)
{
    for (size_t i = 0; i < etf->n; i++) {
        const char *why;
        out->off = out->len = 0;
        if (dgw_etf_decode(dec, (const uint8_t *)etf->text + etf->off[i],
                           etf->off[i + 1] - etf->off[i], out, 16u << 20,
                           &why) != DGW_OK)
            exit(1);
        if (then_scan && scan((const char *)out->p, out->len, sink) != 0)
            exit(1);
        *sink += out->len;
    }
}

__attribute__((noinline)) static void run_decode(const set *etf,
                                                 dgw_etf_decoder *dec,
                                                 dgw_buf *out, uint64_t *sink)
{
    run_etf(etf, dec, out, false, sink);
}

__attribute__((noinline)) static void run_decode_scan(const set *etf,
                                                      dgw_etf_decoder *dec,
                                                      dgw_buf *out,
                                                      uint64_t *sink)
{
    run_etf(etf, dec, out, true, sink);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t ndispatch = 20000;
    int repeat = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dispatches") && i + 1 < argc)
            ndispatch = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: etf_bench [--dispatches N] [--repeat R]\n");
            return 2;
        }
    }
    if (repeat < 1)
        repeat = 1;

    set json = {0}, etf = {0};
    json.off = xrealloc(NULL, sizeof *json.off);
    etf.off = xrealloc(NULL, sizeof *etf.off);
    json.off[0] = etf.off[0] = 0;
    gen g;
    gen_init(&g, 42);
    size_t cap = 1 << 20;
    char *p = malloc(cap);
    uint8_t *e = malloc(cap);
    for (size_t i = 0; i < ndispatch; i++) {
        size_t n = gen_dispatch(&g, p, cap), en;
        push(&json, p, n);
        const char *why;
        if (dgw_etf_encode(p, n, DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS,
                           e, cap, &en, &why) != DGW_OK) {
            fprintf(stderr, "etf_bench: cannot encode dispatch %zu: %s\n", i,
                    why);
            return 1;
        }
        push(&etf, e, en);
    }
    free(p);
    free(e);

    dgw_mem mem;
    dgw_mem_init(&mem, NULL);
    dgw_etf_decoder dec;
    dgw_etf_decoder_init(&dec, &mem);
    dgw_buf out = {0};
    /* Each ETF copy must decode to exactly its JSON. */
    for (size_t i = 0; i < ndispatch; i++) {
        const char *why;
        dgw_buf_reset(&mem, &out, SIZE_MAX);
        size_t jn = json.off[i + 1] - json.off[i];
        if (dgw_etf_decode(&dec, (uint8_t *)etf.text + etf.off[i],
                           etf.off[i + 1] - etf.off[i], &out, 16u << 20,
                           &why) != DGW_OK ||
            dgw_buf_live(&out) != jn ||
            memcmp(out.p + out.off, json.text + json.off[i], jn) != 0) {
            fprintf(stderr, "etf_bench: dispatch %zu decodes to other JSON\n",
                    i);
            return 1;
        }
    }

    double *t_json = calloc((size_t)repeat, sizeof(double));
    double *t_etf = calloc((size_t)repeat, sizeof(double));
    double *t_dec = calloc((size_t)repeat, sizeof(double));
    uint64_t sink = 0;
    for (int r = 0; r < repeat; r++) {
        double t0 = now_s();
        run_json(&json, &sink);
        double t1 = now_s();
        run_decode_scan(&etf, &dec, &out, &sink);
        double t2 = now_s();
        run_decode(&etf, &dec, &out, &sink);
        double t3 = now_s();
        t_json[r] = t1 - t0;
        t_etf[r] = t2 - t1;
        t_dec[r] = t3 - t2;
    }
    qsort(t_json, (size_t)repeat, sizeof(double), cmp_double);
    qsort(t_etf, (size_t)repeat, sizeof(double), cmp_double);
    qsort(t_dec, (size_t)repeat, sizeof(double), cmp_double);
    double mj = t_json[repeat / 2], me = t_etf[repeat / 2];
    double md = t_dec[repeat / 2], mb = (double)json.len / 1e6;
    double ev = (double)ndispatch;
    printf("etf_bench: %zu dispatches, JSON %.2f MB, ETF %.2f MB on the wire "
           "(ETF/JSON %.3f); median of %d rounds\n",
           ndispatch, mb, (double)etf.len / 1e6,
           (double)etf.len / (double)json.len, repeat);
    printf("  json scan        %9.0f events/s %8.1f MB/s\n", ev / mj, mb / mj);
    printf("  etf decode+scan  %9.0f events/s %8.1f MB/s\n", ev / me, mb / me);
    printf("  etf decode       %9.0f events/s %8.1f MB/s\n", ev / md, mb / md);
    printf("  ratio (etf decode+scan time / json scan time): %.2f\n", me / mj);
    if (sink == 42)
        printf("\n");
    dgw_buf_free(&mem, &out);
    dgw_etf_decoder_free(&dec);
    free(t_json);
    free(t_etf);
    free(t_dec);
    free(json.text);
    free(json.off);
    free(etf.text);
    free(etf.off);
    return 0;
}
