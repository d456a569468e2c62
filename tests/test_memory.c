/* Memory: idle size per transport, return to idle after a 1 MiB READY,
 * exact accounting, no leaks, and allocation failure at every index. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(memory, .fini = teardown);

#define KIB 1024u

/* Idle budgets (bytes held by an idle connection after READY). */
#define BUDGET_NONE (8 * KIB)
#define BUDGET_ZLIB (48 * KIB)
/* zstd-stream: measured 2,590,202 bytes (the decoder keeps a window buffer
 * sized by the stream's window log, 2 MiB for a level-3 stream without a
 * pledged size, plus ~128 KiB of block buffer and the DCtx) + 25%. */
#define BUDGET_ZSTD (3162 * KIB)

static void expect_accounting(const char *where)
{
    cr_assert_eq(dgw_conn_memory(T.c), T.alloc_now,
                 "%s: dgw_conn_memory %zu, allocator holds %zu", where,
                 dgw_conn_memory(T.c), T.alloc_now);
}

/* A READY of at least `size` bytes with the same session and resume URL as
 * ts_ready(T, "sess-1", "ws://resume.test/"). */
static char *ready_payload(size_t size)
{
    char *d = malloc(size + 512);
    size_t n = (size_t)sprintf(d, "{\"t\":\"READY\",\"s\":1,\"op\":0,\"d\":{\"v\":10,\"guilds\":[");
    for (int g = 0; n < size; g++)
        n += (size_t)sprintf(d + n, "%s{\"id\":\"%d\",\"name\":\"guild %d\",\"unavailable\":true}",
                             g ? "," : "", 81384788 + g * 7, g);
    sprintf(d + n, "],\"session_id\":\"sess-1\",\"resume_gateway_url\":\"ws://resume.test/\"}}");
    return d;
}

static size_t idle_after_ready(dgw_compress comp)
{
    ts_init(&T, comp);
    expect_accounting("new");
    ts_establish(&T, 41250);
    /* A few heartbeats and dispatches: steady state. */
    for (int i = 0; i < 3; i++) {
        ts_dispatch(&T, i + 2, "MESSAGE_CREATE", "{\"content\":\"hello\"}");
        ts_advance_acking(&T, 41250);
    }
    expect_accounting("idle");
    return T.alloc_now;
}

static void idle_budget(dgw_compress comp, size_t budget, const char *name)
{
    size_t idle = idle_after_ready(comp);
    cr_log_info("idle %s connection after READY: %zu bytes (%.1f KiB), budget %zu", name,
                idle, idle / 1024.0, budget);
    cr_assert_leq(idle, budget, "idle %s connection holds %zu bytes (budget %zu)", name,
                  idle, budget);
}

static void big_ready_returns_to_idle(dgw_compress comp, const char *name)
{
    size_t idle = idle_after_ready(comp);
    ts_free(&T);

    ts_init(&T, comp);
    ts_connect(&T);
    ts_hello(&T, 41250);
    size_t before = T.alloc_now;
    T.alloc_peak = before;
    char *r = ready_payload(1 << 20);
    ts_send_json_frag(&T, r, 4096);
    free(r);
    cr_assert_eq(T.last_recv, 0, "%s", dgw_conn_last_error(T.c));
    cr_assert_str_eq(dgw_conn_session_id(T.c), "sess-1");
    size_t peak = T.alloc_peak;
    for (int i = 0; i < 3; i++) {
        ts_dispatch(&T, i + 2, "MESSAGE_CREATE", "{\"content\":\"hello\"}");
        ts_advance_acking(&T, 41250);
    }
    expect_accounting("after big READY");
    size_t after = T.alloc_now;
    cr_log_info("%s: idle %zu, peak during a 1 MiB READY %zu, after it %zu", name, idle,
                peak, after);
    cr_assert_geq(peak, 1u << 20, "the READY was never held whole?");
    /* The payload buffer grows geometrically: at most ~2x the payload. */
    cr_assert_lt(peak - before, 3u << 20, "peak %zu (%zu above the connection) for a 1 MiB READY",
                 peak, peak - before);
    cr_assert_leq(after, idle, "%s: %zu bytes after a 1 MiB READY, %zu before", name, after,
                  idle);
    cr_assert_geq(after + 8 * KIB, idle, "accounting drifted");
}

Test(memory, idle_none_within_budget)
{
    idle_budget(DGW_COMPRESS_NONE, BUDGET_NONE, "none");
}

Test(memory, idle_zlib_within_budget)
{
    idle_budget(DGW_COMPRESS_ZLIB_STREAM, BUDGET_ZLIB, "zlib-stream");
}

#ifdef DGW_HAVE_ZSTD
Test(memory, idle_zstd_within_budget)
{
    idle_budget(DGW_COMPRESS_ZSTD_STREAM, BUDGET_ZSTD, "zstd-stream");
}
#endif

Test(memory, none_returns_to_idle_after_1mib_ready)
{
    big_ready_returns_to_idle(DGW_COMPRESS_NONE, "none");
}

Test(memory, zlib_returns_to_idle_after_1mib_ready)
{
    big_ready_returns_to_idle(DGW_COMPRESS_ZLIB_STREAM, "zlib-stream");
}

#ifdef DGW_HAVE_ZSTD
Test(memory, zstd_returns_to_idle_after_1mib_ready)
{
    big_ready_returns_to_idle(DGW_COMPRESS_ZSTD_STREAM, "zstd-stream");
}
#endif

Test(memory, accounting_matches_allocator_throughout)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    expect_accounting("new");
    ts_start(&T);
    expect_accounting("start");
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    ts_feed(&T, resp, strlen(resp));
    expect_accounting("upgraded");
    ts_hello(&T, 41250);
    expect_accounting("hello");
    ts_ready(&T, "sess-1", "ws://resume.test/");
    expect_accounting("ready");
    for (int i = 0; i < 120; i++)
        dgw_conn_send(T.c, 3, "{\"x\":1}", 7, T.now);
    expect_accounting("queued");
    ts_collect(&T);
    ts_advance_acking(&T, 61000);
    expect_accounting("flushed");
    ts_eof(&T);
    expect_accounting("eof");
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    expect_accounting("reconnect");
    ts_connect(&T);
    expect_accounting("reconnected");
}

Test(memory, queue_memory_released_on_reconnect)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t idle = T.alloc_now;
    for (int i = 0; i < 170; i++)
        dgw_conn_send(T.c, 3, "{\"x\":1}", 7, T.now);
    ts_collect(&T);
    cr_assert_gt(T.alloc_now, idle, "nothing queued?");
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_dispatch(&T, 2, "RESUMED", "{}");
    cr_assert_leq(T.alloc_now, idle + 512, "queue of the old connection kept: %zu vs %zu",
                  T.alloc_now, idle);
}

Test(memory, free_in_every_state_leaks_nothing)
{
    /* ts_free() asserts alloc_now == 0 after dgw_conn_free(). */
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_start(&T);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_connect(&T);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    for (int i = 0; i < 200; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_establish(&T, 41250);
    char *r = ready_payload(300000);
    uint8_t *body;
    size_t n = ts_compress(&T, r, &body);
    ts_send_frame(&T, false, 2, body, n / 2); /* mid-message */
    free(body);
    free(r);
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    dgw_conn_close(T.c, 1000, NULL, T.now); /* closing */
    ts_free(&T);
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(memory, rejected_upgrade_memory_bounded_and_freed)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    const char *h = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
    ts_feed(&T, h, strlen(h));
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    for (int i = 0; i < 256; i++) /* 1 MiB of body, no Content-Length */
        ts_feed(&T, junk, sizeof junk);
    cr_assert_lt(T.alloc_peak, 64 * KIB, "body not capped: peak %zu", T.alloc_peak);
    ts_eof(&T);
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 1);
}

/* ---- allocation failure at every index ---- */

typedef struct run_result {
    bool completed;        /* every step worked */
    bool nomem_reported;   /* some call or event said DGW_ERR_NOMEM */
    dgw_err first_err;
} run_result;

static void note(run_result *r, dgw_err e)
{
    if (e == DGW_OK)
        return;
    if (r->first_err == DGW_OK)
        r->first_err = e;
    if (e == DGW_ERR_NOMEM)
        r->nomem_reported = true;
}

static bool failed_now(run_result *r)
{
    if (T.last_recv < 0)
        note(r, (dgw_err)T.last_recv);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    if (e)
        note(r, e->error);
    return T.last_recv < 0 || e != NULL || dgw_conn_state(T.c) == DGW_STATE_CLOSED;
}

/* new + start + upgrade + HELLO (IDENTIFY out) + READY + a dispatch. */
static run_result run_with_failure(dgw_compress comp, long fail_after, size_t *calls)
{
    run_result r = {0};
    ts_init(&T, comp);
    dgw_conn_free(T.c);
    T.c = NULL;
    cr_assert_eq(T.alloc_now, 0);
    T.alloc_calls = 0;
    T.fail_after = fail_after;
    dgw_err err = DGW_OK;
    T.c = dgw_conn_new(&T.cfg, &err);
    if (!T.c) {
        note(&r, err);
        goto out;
    }
    dgw_err e = ts_try_start(&T);
    if (e != DGW_OK) {
        note(&r, e);
        goto out;
    }
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    ts_feed(&T, resp, strlen(resp));
    if (failed_now(&r))
        goto out;
    ts_hello(&T, 41250);
    if (failed_now(&r))
        goto out;
    if (ts_count_op(&T, 2, 0) != 1) {
        note(&r, DGW_ERR_STATE);
        goto out;
    }
    ts_ready(&T, "sess-1", "ws://resume.test/");
    if (failed_now(&r))
        goto out;
    char d[2048];
    memset(d, 0, sizeof d);
    strcpy(d, "{\"content\":\"");
    for (int i = 0; i < 1500; i++)
        d[strlen("{\"content\":\"") + (size_t)i] = (char)('a' + i % 23);
    strcat(d, "\"}");
    ts_dispatch(&T, 2, "MESSAGE_CREATE", d);
    if (failed_now(&r))
        goto out;
    if (ts_count_events(&T, DGW_EV_DISPATCH) != 2 || !dgw_conn_session_id(T.c)) {
        note(&r, DGW_ERR_STATE);
        goto out;
    }
    r.completed = true;
out:
    if (calls)
        *calls = T.alloc_calls;
    dgw_conn_free(T.c);
    T.c = NULL;
    cr_assert_eq(T.alloc_now, 0, "fail_after %ld: %zu bytes leaked", fail_after, T.alloc_now);
    return r;
}

static void fail_at_every_index(dgw_compress comp)
{
    size_t total;
    run_result ok = run_with_failure(comp, -1, &total);
    cr_assert(ok.completed, "the run without failures did not complete (%d)", ok.first_err);
    ts_free(&T);
    cr_log_info("%zu allocations in the run", total);
    cr_assert_gt(total, 3);
    for (long i = 0; i < (long)total; i++) {
        run_result r = run_with_failure(comp, i, NULL);
        cr_expect(!r.completed, "allocation %ld failed but the run completed", i);
        cr_expect(r.nomem_reported, "allocation %ld failed: reported %d (%s), not NOMEM", i,
                  r.first_err, dgw_strerror(r.first_err));
        ts_free(&T);
    }
    run_result last = run_with_failure(comp, (long)total, NULL);
    cr_assert(last.completed);
}

Test(memory, allocation_failure_at_every_index_none)
{
    fail_at_every_index(DGW_COMPRESS_NONE);
}

Test(memory, allocation_failure_at_every_index_zlib)
{
    fail_at_every_index(DGW_COMPRESS_ZLIB_STREAM);
}

#ifdef DGW_HAVE_ZSTD
Test(memory, allocation_failure_at_every_index_zstd)
{
    fail_at_every_index(DGW_COMPRESS_ZSTD_STREAM);
}
#endif

Test(memory, allocation_failure_during_heartbeat_and_send)
{
    /* Failures after the session is up: a beat or a command that cannot be
     * queued must fail cleanly too. */
    for (long extra = 0; extra < 6; extra++) {
        ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
        ts_establish(&T, 1000);
        T.fail_after = (long)T.alloc_calls + extra;
        dgw_err e = DGW_OK;
        for (int i = 0; i < 200 && e == DGW_OK; i++)
            e = dgw_conn_send(T.c, 3, "{\"x\":1}", 7, T.now);
        ts_collect(&T);
        cr_assert(e == DGW_ERR_NOMEM || e == DGW_ERR_RATE_LIMITED || e == DGW_ERR_STATE,
                  "extra %ld: %d", extra, e);
        ts_advance(&T, 3000);
        T.fail_after = -1;
        ts_free(&T);
    }
    ts_init(&T, DGW_COMPRESS_NONE);
}
