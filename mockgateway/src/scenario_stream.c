/* The scenario step "stream" (scenarios/README.md): count dispatches sent
 * as fast as the client reads them. Each goes through the real send path
 * (its JSON text built with its own s, ETF and the transport's compression
 * when the connection has them, a WebSocket frame), but the transcript gets
 * one line of counts and a checksum for the whole stream instead of a line
 * per payload, and nothing is allocated per payload: the gateway's cost per
 * dispatch is building, compressing and framing it.
 *
 * The payloads come from a pool built when the run starts, before any
 * client connects (mg_scn_stream_pools_build): one fixed event (t, d), or
 * `distinct` generated ones (testkit/gen.c's mix, from `seed`) used in
 * turn. Each payload is {"op":0,"s":S,"t":"T","d":D}, the form of
 * every other dispatch of the mock (mg_session_dispatch).
 *
 * The checksum is CRC-32 (zlib's crc32(), ISO-HDLC) of every payload's
 * JSON text in order, as built (before ETF and compression): a client can
 * compute the same over the payloads it received. A payload's CRC is not
 * computed byte by byte: the pool keeps each entry's CRC, and only the
 * head with the seq is new ({"op":0,"s":S), combined with
 * crc32_combine_op(), so the checksum costs about 50 ns a payload.
 *
 * zlib-stream is the costly part of a dispatch: deflate with a sync flush
 * per 630-byte payload takes ~20 us, 50,000 a second. With "zlib_parts":
 * true the pool's entries are also deflated alone, once, before any client
 * connects, and on a zlib-stream JSON connection each message is spliced
 * from its head as a stored block and its entry's part (compress.h): a
 * valid zlib-stream whose messages do not refer to earlier ones, so the
 * wire is larger (the transcript line gives the bytes queued) than with
 * the shared history of a real gateway's stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "gen.h"
#include "scenario_internal.h"

/* The backlog kept queued for the client: refilled when under STREAM_LOW,
 * to STREAM_HIGH. Under MG_OUTPUT_HIGH_WATER, so that what the client sends
 * (heartbeats) is still read while the stream runs. */
#define STREAM_HIGH (512u << 10)
#define STREAM_LOW (128u << 10)
/* Bytes queued in one call before the loop gets its turn back (timers,
 * other connections); the step continues on the next turn. */
#define STREAM_TURN (4u << 20)
#define HEAD_MAX 32 /* {"op":0,"s": and the seq */

typedef struct pool_entry {
    size_t off, len;           /* in text: ,"t":"T","d":D} */
    size_t part_off, part_len; /* in parts: the same deflated alone (zlib pools) */
    uLong crc, op;             /* its CRC-32, and the operator that appends it */
} pool_entry;

/* The payloads of one stream step, built when the run starts. */
struct mg_scn_pool {
    const mg_step *st;
    mg_buf text, parts;
    pool_entry *e;
    size_t ne;
    int zlib; /* parts are there */
};

struct mg_scn_stream {
    const struct mg_scn_pool *pool;
    long total, sent, first_seq;
    unsigned long long bytes, wire; /* JSON text; what was queued for the socket */
    uLong crc;
    uint64_t t0_ns;
    double cpu0;
    mg_buf batch;
    size_t *lens;
    mg_splice *splices;
    mg_send_scratch scratch;
    int busy; /* in mg_conn_flush(): the client's callbacks may call back */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

void mg_scn_stream_free(mg_scenario_run *r)
{
    struct mg_scn_stream *s = r->stream;
    if (!s)
        return;
    mg_buf_free(&s->batch);
    free(s->lens);
    free(s->splices);
    mg_send_scratch_free(&s->scratch);
    free(s);
    r->stream = NULL;
}

static void pool_free(struct mg_scn_pool *p)
{
    mg_buf_free(&p->text);
    mg_buf_free(&p->parts);
    free(p->e);
}

void mg_scn_stream_pools_free(mg_scenario_run *r)
{
    for (size_t i = 0; i < r->npools; i++)
        pool_free(&r->pools[i]);
    free(r->pools);
    r->pools = NULL;
    r->npools = 0;
}

/* Adds ,"t":"T","d":D} to the pool (and its part, with z). */
static int pool_add(struct mg_scn_pool *p, mg_part_deflater *z, const char *t, size_t tlen, const char *d,
                    size_t dlen)
{
    pool_entry *e = &p->e[p->ne];
    e->off = p->text.len;
    if (mg_buf_append_str(&p->text, ",\"t\":\"") != 0 || mg_buf_append(&p->text, t, tlen) != 0 ||
        mg_buf_append_str(&p->text, "\",\"d\":") != 0 || mg_buf_append(&p->text, d, dlen) != 0 ||
        mg_buf_append_str(&p->text, "}") != 0)
        return -1;
    e->len = p->text.len - e->off;
    e->crc = crc32(0, p->text.data + e->off, (uInt)e->len);
    e->op = crc32_combine_gen((z_off_t)e->len);
    e->part_off = p->parts.len;
    if (z && mg_part_deflate(z, p->text.data + e->off, e->len, &p->parts) != 0)
        return -1;
    e->part_len = p->parts.len - e->part_off;
    p->ne++;
    return 0;
}

/* gen_dispatch() writes {"t":"T","s":N,"op":0,"d":D}: T and D are taken
 * as they are (its s is the generator's own). */
static int pool_add_generated(struct mg_scn_pool *p, mg_part_deflater *z, gen *g, char *buf, size_t cap)
{
    size_t n = gen_dispatch(g, buf, cap);
    static const char tkey[] = "{\"t\":\"", dkey[] = ",\"op\":0,\"d\":";
    if (n >= cap || strncmp(buf, tkey, sizeof tkey - 1) != 0 || buf[n - 1] != '}')
        return -1;
    const char *t = buf + sizeof tkey - 1, *tend = strchr(t, '"');
    const char *d = tend ? strstr(tend, dkey) : NULL;
    if (!d)
        return -1;
    d += sizeof dkey - 1;
    return pool_add(p, z, t, (size_t)(tend - t), d, (size_t)(buf + n - 1 - d));
}

static int pool_build(struct mg_scn_pool *p, const mg_step *st, int zlib)
{
    size_t want = st->t ? 1 : (size_t)(st->count < st->distinct ? st->count : st->distinct);
    p->st = st;
    p->e = calloc(want, sizeof *p->e);
    mg_part_deflater *z = zlib ? mg_part_deflater_new() : NULL;
    int rc = p->e && (z || !zlib) ? 0 : -1;
    p->zlib = zlib;
    if (rc == 0 && st->t) {
        char *d = cJSON_PrintUnformatted(st->d);
        rc = d ? pool_add(p, z, st->t, strlen(st->t), d, strlen(d)) : -1;
        cJSON_free(d);
    } else if (rc == 0) {
        size_t cap = 1u << 16;
        char *buf = malloc(cap);
        gen g;
        gen_init(&g, st->seed);
        rc = buf ? 0 : -1;
        while (rc == 0 && p->ne < want)
            rc = pool_add_generated(p, z, &g, buf, cap);
        free(buf);
    }
    mg_part_deflater_free(z);
    return rc;
}

void mg_scn_stream_pools_build(mg_scenario_run *r)
{
    const mg_scenario *sc = r->sc;
    size_t n = 0;
    for (size_t i = 0; i < sc->nconns; i++)
        for (size_t j = 0; j < sc->conns[i].nsteps; j++)
            n += sc->conns[i].steps[j].kind == MG_STEP_STREAM;
    if (n == 0 || !(r->pools = calloc(n, sizeof *r->pools)))
        return; /* without pools, a stream step fails when it starts */
    for (size_t i = 0; i < sc->nconns; i++)
        for (size_t j = 0; j < sc->conns[i].nsteps; j++)
            if (sc->conns[i].steps[j].kind == MG_STEP_STREAM) {
                struct mg_scn_pool *p = &r->pools[r->npools];
                const mg_step *st = &sc->conns[i].steps[j];
                if (pool_build(p, st, st->zlib_parts) != 0) {
                    pool_free(p);
                    memset(p, 0, sizeof *p);
                    continue;
                }
                r->npools++;
            }
}

static const struct mg_scn_pool *pool_of(const mg_scenario_run *r, const mg_step *st)
{
    for (size_t i = 0; i < r->npools; i++)
        if (r->pools[i].st == st)
            return &r->pools[i];
    return NULL;
}

static size_t put_head(char *p, long seq)
{
    static const char head[] = "{\"op\":0,\"s\":";
    memcpy(p, head, sizeof head - 1);
    char digits[24];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + seq % 10);
    while ((seq /= 10) > 0);
    for (size_t i = 0; i < n; i++)
        p[sizeof head - 1 + i] = digits[n - 1 - i];
    return sizeof head - 1 + n;
}

static void describe(const struct mg_scn_stream *s, const mg_step *st, char *out, size_t n)
{
    if (st->t)
        snprintf(out, n, "%s", st->t);
    else
        snprintf(out, n, "generated from seed %u, %zu distinct payloads in turn", st->seed, s->pool->ne);
}

static int start(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (mg_scn_need_cur(r, now) != RUN_DONE)
        return RUN_FAIL;
    if (!r->lane->sess && mg_scn_new_session(r) != 0)
        return mg_scn_failf(r, now, "out of memory");
    struct mg_scn_stream *s = calloc(1, sizeof *s);
    if (!s)
        return mg_scn_failf(r, now, "out of memory");
    r->stream = s;
    s->pool = pool_of(r, st);
    s->lens = calloc((size_t)st->batch, sizeof *s->lens);
    s->splices = calloc((size_t)st->batch, sizeof *s->splices);
    if (!s->pool || !s->lens || !s->splices)
        return mg_scn_failf(r, now, "stream: cannot build the payloads (out of memory)");
    s->total = st->count;
    s->first_seq = r->lane->sess->seq + 1;
    s->crc = crc32(0, NULL, 0);
    char what[96];
    describe(s, st, what, sizeof what);
    mg_transcript_add(&r->tr, now, r->lane->cur->num, "->",
                      "stream of %ld dispatches, s=%ld..%ld (%s), %d at a time%s; one line for all of them "
                      "follows, and the first:",
                      s->total, s->first_seq, s->first_seq + s->total - 1, what, st->batch,
                      s->pool->zlib && mg_conn_can_splice(r->lane->cur->c) ? ", zlib-stream messages spliced from parts"
                                                                      : "");
    s->t0_ns = now_ns();
    s->cpu0 = cpu_seconds();
    r->lane->phase = 1;
    return RUN_DONE;
}

/* The transcript's line for the stream (complete or cut short). */
static void report(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    struct mg_scn_stream *s = r->stream;
    double secs = (double)(now_ns() - s->t0_ns) / 1e9, cpu = cpu_seconds() - s->cpu0;
    long kept = s->sent < st->keep ? s->sent : st->keep;
    if (s->sent == s->total)
        mg_transcript_add(&r->tr, now, r->lane->cur->num, "->",
                          "stream sent: %ld dispatches, s=%ld..%ld, %llu bytes of JSON (%llu on the wire), crc32 %08lx; "
                          "queued in %.3f s (%.0f per second, %.4f s CPU); the last %ld kept for replay",
                          s->sent, s->first_seq, s->first_seq + s->sent - 1, s->bytes, s->wire, (unsigned long)s->crc,
                          secs,
                          secs > 0 ? (double)s->sent / secs : 0.0, cpu, kept);
    else
        mg_transcript_add(&r->tr, now, r->lane->cur->num, "..",
                          "stream cut short: the client left after %ld of %ld dispatches were queued (s=%ld..%ld, "
                          "%llu bytes of JSON, crc32 %08lx)",
                          s->sent, s->total, s->first_seq, s->first_seq + s->sent - 1, s->bytes,
                          (unsigned long)s->crc);
}

/* Builds and queues the next batch. Returns 0 or -1 (not queued: the
 * connection is gone or was cut). */
static int send_batch(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    struct mg_scn_stream *s = r->stream;
    const struct mg_scn_pool *pool = s->pool;
    mg_conn *c = r->lane->cur->c;
    long n = s->total - s->sent < st->batch ? s->total - s->sent : st->batch;
    int splice = pool->zlib && mg_conn_can_splice(c);
    mg_buf_reset(&s->batch);
    for (long i = 0; i < n; i++) {
        long k = s->sent + i;
        const pool_entry *e = &pool->e[(size_t)k % pool->ne];
        if (mg_buf_reserve(&s->batch, HEAD_MAX + e->len) != 0)
            return -1;
        char *p = (char *)s->batch.data + s->batch.len;
        size_t h = put_head(p, s->first_seq + k);
        memcpy(p + h, pool->text.data + e->off, e->len);
        s->crc = crc32_combine_op(crc32(s->crc, (const Bytef *)p, (uInt)h), e->crc, e->op);
        s->lens[i] = h + e->len;
        s->batch.len += s->lens[i];
        /* Offsets for now: the batch may move while it grows. */
        s->splices[i] = (mg_splice){(const void *)(uintptr_t)(s->batch.len - s->lens[i]), h,
                                    pool->parts.data + e->part_off, e->part_len};
    }
    size_t before = mg_conn_backlog(c);
    if (splice) {
        for (long i = 0; i < n; i++)
            s->splices[i].plain = s->batch.data + (uintptr_t)s->splices[i].plain;
        if (mg_conn_send_spliced_batch(c, s->splices, (size_t)n, &s->scratch) != 0)
            return -1;
    } else if (mg_conn_send_batch(c, (const char *)s->batch.data, s->lens, (size_t)n, &s->scratch) != 0) {
        return -1;
    }
    s->wire += mg_conn_backlog(c) - before;
    if (s->sent == 0)
        mg_transcript_payload(&r->tr, now, r->lane->cur->num, "->", NULL, (const char *)s->batch.data, s->lens[0]);
    /* The session numbers what was sent; the tail is kept for replay. */
    long keep_from = s->total - st->keep, unkept = keep_from - s->sent;
    unkept = unkept < 0 ? 0 : unkept > n ? n : unkept;
    mg_session_skip(r->lane->sess, unkept);
    const char *p = (const char *)s->batch.data;
    for (long i = 0; i < n; p += s->lens[i], i++)
        if (i >= unkept && mg_session_keep(r->lane->sess, p, s->lens[i]) < 0)
            return -1;
    s->bytes += s->batch.len;
    s->sent += n;
    r->lane->last_sent_seq = s->first_seq + s->sent - 1;
    mg_scn_note_seq_sent(r, r->lane->last_sent_seq, now);
    return 0;
}

static int client_left(const mg_scn_conn *sc) { return sc->gone || sc->close_code || !sc->c || !mg_conn_is_open(sc->c); }

int mg_scn_step_stream(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (r->lane->phase == 0 && start(r, st, now) != RUN_DONE)
        return RUN_FAIL;
    struct mg_scn_stream *s = r->stream;
    if (s->busy)
        return RUN_WAIT; /* called back from inside the flush below */
    mg_scn_conn *sc = r->lane->cur;
    size_t queued = 0;
    for (;;) {
        while (s->sent < s->total && !client_left(sc) && mg_conn_backlog(sc->c) < STREAM_HIGH) {
            size_t before = mg_conn_backlog(sc->c);
            if (send_batch(r, st, now) != 0) {
                if (client_left(sc))
                    break; /* the client went, or the gateway cut it: on_closed says which */
                return mg_scn_failf(r, now, "stream: out of memory after %ld dispatches", s->sent);
            }
            queued += mg_conn_backlog(sc->c) - before;
        }
        if (s->sent == s->total || client_left(sc)) {
            report(r, st, now);
            mg_scn_stream_free(r);
            return RUN_DONE;
        }
        if (queued >= STREAM_TURN)
            return mg_scn_wait_until(r, now);
        s->busy = 1;
        mg_conn_flush(sc->c);
        s->busy = 0;
        if (r->done)
            return RUN_FAIL;
        if (!client_left(sc) && mg_conn_backlog(sc->c) >= STREAM_LOW)
            return RUN_WAIT; /* the socket is full: its next write event brings us back */
    }
}
