/* field_bench - reading three fields of a MESSAGE_CREATE: by path, zero
 * copy (json.h), against a tree (dgw_event_parse_data, i.e. cJSON, then
 * cJSON lookups).
 *
 * The generated MESSAGE_CREATEs of recv_bench (gen.c, seed 42), each "d"
 * read for channel_id, author.id and content, each as a NUL-terminated,
 * unescaped string, both ways. Rounds alternate the two; printed are the
 * medians of CPU time per message and of the per-round ratio.
 *
 *   field_bench [--messages N] [--rounds R] [--min-ratio X]
 *   field_bench --side path|paths|cjson     one way once (callgrind)
 * Three ways: dgw_json_path_string three times (a walk each), one
 * dgw_json_paths call (one walk for the three) then dgw_json_unescape, and
 * the tree. --min-ratio: exit 1 when the one-walk way is less than X times
 * faster than the tree (the smoke test). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dgw.h"
#include "gen.h"
#include "json.h"

typedef struct msg {
    const char *d;
    size_t n;
} msg;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

/* What a bot keeps: three strings. */
typedef struct fields {
    char channel_id[32], author_id[32], content[2048];
} fields;

__attribute__((noinline)) static double run_path(const msg *m, size_t n,
                                                 fields *f)
{
    size_t acc = 0;
    double t0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        dgw_span d = {m[i].d, m[i].n};
        long a = dgw_json_path_string(d, "channel_id", f->channel_id,
                                      sizeof f->channel_id);
        long b = dgw_json_path_string(d, "author.id", f->author_id,
                                      sizeof f->author_id);
        long c = dgw_json_path_string(d, "content", f->content,
                                      sizeof f->content);
        acc += (size_t)(a + b + c) + (unsigned char)f->content[0];
    }
    double dt = cpu_s() - t0;
    sink += acc;
    return dt;
}

/* One pass for the three paths, then the strings unescaped: the public
 * calls a bot makes (dgw.h: dgw_event_get_many, dgw_slice_string). */
__attribute__((noinline)) static double run_paths(const msg *m, size_t n,
                                                  fields *f)
{
    static const char *const paths[3] = {"channel_id", "author.id", "content"};
    size_t acc = 0;
    double t0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        dgw_event ev = {.data = m[i].d, .data_len = m[i].n};
        dgw_slice v[3];
        dgw_value_type t[3];
        dgw_event_get_many(&ev, paths, 3, v, t);
        long a = dgw_slice_string(v[0], f->channel_id, sizeof f->channel_id);
        long b = dgw_slice_string(v[1], f->author_id, sizeof f->author_id);
        long c = dgw_slice_string(v[2], f->content, sizeof f->content);
        acc += (size_t)(a + b + c) + (unsigned char)f->content[0] + t[0];
    }
    double dt = cpu_s() - t0;
    sink += acc;
    return dt;
}

static void copy_str(char *dst, size_t cap, const cJSON *j)
{
    const char *s = cJSON_GetStringValue(j);
    snprintf(dst, cap, "%s", s ? s : "");
}

__attribute__((noinline)) static double run_cjson(const msg *m, size_t n,
                                                  fields *f)
{
    size_t acc = 0;
    double t0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        dgw_event ev = {.data = m[i].d, .data_len = m[i].n};
        cJSON *j = dgw_event_parse_data(&ev);
        copy_str(f->channel_id, sizeof f->channel_id,
                 cJSON_GetObjectItemCaseSensitive(j, "channel_id"));
        copy_str(f->author_id, sizeof f->author_id,
                 cJSON_GetObjectItemCaseSensitive(
                     cJSON_GetObjectItemCaseSensitive(j, "author"), "id"));
        copy_str(f->content, sizeof f->content,
                 cJSON_GetObjectItemCaseSensitive(j, "content"));
        acc += strlen(f->content) + (unsigned char)f->author_id[0];
        cJSON_Delete(j);
    }
    double dt = cpu_s() - t0;
    sink += acc;
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t want = 20000;
    int rounds = 7;
    double min_ratio = 0;
    const char *side = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--messages") && i + 1 < argc)
            want = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ratio") && i + 1 < argc)
            min_ratio = atof(argv[++i]);
        else if (!strcmp(argv[i], "--side") && i + 1 < argc)
            side = argv[++i];
        else {
            fprintf(stderr, "usage: field_bench [--messages N] [--rounds R] "
                            "[--min-ratio X] [--side path|paths|cjson]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > 99)
        rounds = 7;
    if (want == 0)
        want = 1;

    /* The MESSAGE_CREATEs of the generated stream, their "d" cut out. */
    gen g;
    gen_init(&g, 42);
    msg *m = calloc(want, sizeof *m);
    char buf[1 << 16];
    size_t n = 0, bytes = 0;
    while (n < want) {
        size_t len = gen_dispatch(&g, buf, sizeof buf);
        if (strncmp(buf, "{\"t\":\"MESSAGE_CREATE\"", 21) != 0)
            continue;
        dgw_json_field d = {.name = "d"};
        if (dgw_json_scan_payload(buf, len, &d, 1) != DGW_JSON_OK ||
            d.type != DGW_JSON_OBJECT) {
            fprintf(stderr, "generated payload is not JSON\n");
            return 1;
        }
        char *copy = malloc(d.val.n);
        memcpy(copy, d.val.p, d.val.n);
        m[n++] = (msg){copy, d.val.n};
        bytes += d.val.n;
    }

    /* All ways read the same strings. */
    fields a, b, c;
    run_path(m, 1, &a);
    run_paths(m, 1, &c);
    run_cjson(m, 1, &b);
    if (strcmp(a.channel_id, b.channel_id) || strcmp(a.author_id, b.author_id) ||
        strcmp(a.content, b.content) || !a.channel_id[0] || !a.author_id[0] ||
        strcmp(c.channel_id, b.channel_id) || strcmp(c.author_id, b.author_id) ||
        strcmp(c.content, b.content)) {
        fprintf(stderr, "the ways disagree: %s/%s/%s vs %s/%s/%s\n",
                a.channel_id, a.author_id, a.content, b.channel_id,
                b.author_id, b.content);
        return 1;
    }

    if (side) {
        if (!strcmp(side, "path"))
            run_path(m, n, &a);
        else if (!strcmp(side, "paths"))
            run_paths(m, n, &c);
        else
            run_cjson(m, n, &b);
        return 0;
    }
    double tp[99], tq[99], tc[99], rp[99], rq[99];
    for (int r = 0; r < rounds; r++) {
        tp[r] = run_path(m, n, &a);
        tq[r] = run_paths(m, n, &c);
        tc[r] = run_cjson(m, n, &b);
        rp[r] = tc[r] / tp[r];
        rq[r] = tc[r] / tq[r];
    }
    double *all[] = {tp, tq, tc, rp, rq};
    for (size_t k = 0; k < 5; k++)
        qsort(all[k], (size_t)rounds, sizeof(double), cmp_double);
    int mid = rounds / 2;
    double med_ratio = rq[mid];
    printf("# field_bench: %zu MESSAGE_CREATE (d: %.0f bytes on average), "
           "channel_id + author.id + content as C strings, median of %d "
           "interleaved rounds, CPU time\n",
           n, (double)bytes / (double)n, rounds);
    printf("%-36s %12s %14s\n", "way", "ns/message", "cJSON/this");
    printf("%-36s %12.1f %14.2f\n", "dgw_json_path_string x3",
           tp[mid] * 1e9 / (double)n, rp[mid]);
    printf("%-36s %12.1f %14.2f\n", "dgw_event_get_many + dgw_slice_string",
           tq[mid] * 1e9 / (double)n, rq[mid]);
    printf("%-36s %12.1f %14.2f\n", "dgw_event_parse_data + cJSON",
           tc[mid] * 1e9 / (double)n, 1.0);
    for (size_t i = 0; i < n; i++)
        free((void *)m[i].d);
    free(m);
    if (min_ratio > 0 && med_ratio < min_ratio) {
        fprintf(stderr, "field_bench: ratio %.2f below %.2f\n", med_ratio,
                min_ratio);
        return 1;
    }
    return 0;
}
