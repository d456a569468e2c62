/*
 * stats.c - statistics lines. See stats.h.
 */
#include "stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "out.h"

/* A line under construction; overflow truncates (never expected: the
 * buffer holds the longest line with room to spare). */
typedef struct line {
    char buf[2048];
    size_t len;
} line;

__attribute__((format(printf, 2, 3)))
static void add(line *l, const char *fmt, ...)
{
    if (l->len >= sizeof l->buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n;
    if (l->len >= sizeof l->buf)
        l->len = sizeof l->buf - 1;
}

static void add_counters(line *l, const dgw_stats *st)
{
    static const char *const causes[DGW_END__COUNT] = {
        "server_close", "reconnect", "invalid_session", "zombie", "timeout",
        "eof", "rejected", "error", "caller",
    };
    add(l, "\"attempts\":%" PRIu64 ",\"identifies\":%" PRIu64 ",\"resumes\":%" PRIu64
        ",\"ended_by\":{", st->attempts, st->identifies, st->resumes);
    for (int c = 0; c < DGW_END__COUNT; c++)
        add(l, "%s\"%s\":%" PRIu64, c ? "," : "", causes[c], st->ended_by[c]);
    add(l, "},\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
        ",\"payload_bytes_in\":%" PRIu64 ",\"events\":%" PRIu64
        ",\"dispatches\":%" PRIu64 ",\"commands_sent\":%" PRIu64
        ",\"commands_queued\":%" PRIu64 ",\"commands_dropped\":%" PRIu64
        ",\"heartbeats_sent\":%" PRIu64 ",\"heartbeats_acked\":%" PRIu64,
        st->bytes_in, st->bytes_out, st->payload_bytes_in, st->events,
        st->dispatches, st->commands_sent, st->commands_queued,
        st->commands_dropped, st->heartbeats_sent, st->heartbeats_acked);
}

static void sum(dgw_stats *t, const dgw_stats *st)
{
    t->attempts += st->attempts;
    t->identifies += st->identifies;
    t->resumes += st->resumes;
    for (int c = 0; c < DGW_END__COUNT; c++)
        t->ended_by[c] += st->ended_by[c];
    t->bytes_in += st->bytes_in;
    t->bytes_out += st->bytes_out;
    t->payload_bytes_in += st->payload_bytes_in;
    t->events += st->events;
    t->dispatches += st->dispatches;
    t->commands_sent += st->commands_sent;
    t->commands_queued += st->commands_queued;
    t->commands_dropped += st->commands_dropped;
    t->heartbeats_sent += st->heartbeats_sent;
    t->heartbeats_acked += st->heartbeats_acked;
}

/* VmRSS of this process in KiB, from /proc/self/status; 0 if unknown. */
static uint64_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char row[256];
    uint64_t kib = 0;
    while (fgets(row, sizeof row, f) != NULL)
        if (sscanf(row, "VmRSS: %" SCNu64 " kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void stats_print(const app *a, bool per_shard, uint64_t now)
{
    dgw_stats total = {0};
    uint64_t memory = 0, latency_sum = 0, with_latency = 0;
    int64_t latency_max = -1;
    for (uint32_t i = 0; i < a->n; i++) {
        const shard *s = &a->shards[i];
        dgw_stats st;
        dgw_conn_stats(s->conn, &st);
        size_t mem = dgw_conn_memory(s->conn);
        sum(&total, &st);
        memory += mem;
        if (st.latency_avg_ms >= 0) {
            latency_sum += (uint64_t)st.latency_avg_ms;
            with_latency++;
        }
        if (st.latency_ms > latency_max)
            latency_max = st.latency_ms;
        if (!per_shard)
            continue;
        line l = {.len = 0};
        add(&l, "{\"stats\":\"shard\",\"shard\":%" PRIu32 ",\"state\":\"%s\",", s->id,
            s->phase == PHASE_STOPPED ? "STOPPED" : dgw_state_name(dgw_conn_state(s->conn)));
        add_counters(&l, &st);
        add(&l, ",\"latency_ms\":%" PRId64 ",\"latency_avg_ms\":%" PRId64
            ",\"memory\":%zu}", st.latency_ms, st.latency_avg_ms, mem);
        out_stat_line(l.buf, l.len);
    }
    line l = {.len = 0};
    add(&l, "{\"stats\":\"totals\",\"shards\":%" PRIu32 ",\"shard_count\":%" PRIu32
        ",\"connected\":%" PRIu32 ",\"stopped\":%" PRIu32 ",", a->n, a->shard_count,
        a->connected, a->stopped);
    add_counters(&l, &total);
    add(&l, ",\"latency_avg_ms\":%" PRId64 ",\"latency_max_ms\":%" PRId64
        ",\"memory\":%" PRIu64 ",\"rss_kib\":%" PRIu64 ",\"uptime_ms\":%" PRIu64,
        with_latency ? (int64_t)(latency_sum / with_latency) : -1, latency_max, memory,
        rss_kib(), now - a->loop_started);
    if (a->all_connected_at)
        add(&l, ",\"all_connected_ms\":%" PRIu64, a->all_connected_at - a->loop_started);
    else
        add(&l, ",\"all_connected_ms\":null");
    add(&l, ",\"ideal_ms\":%" PRIu64 ",\"max_concurrency\":%" PRIu32
        ",\"identify_window_ms\":%" PRIu32, pacer_ideal_ms(&a->pacer), a->pacer.mc,
        a->pacer.window_ms);
    if (a->pacer.budget.known)
        add(&l, ",\"session_starts_left\":%" PRIu32 "}", a->pacer.budget.remaining);
    else
        add(&l, ",\"session_starts_left\":null}");
    out_stat_line(l.buf, l.len);
}
