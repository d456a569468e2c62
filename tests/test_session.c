/* Session rules of PROTOCOL.md section 3: heartbeats, RECONNECT,
 * INVALID_SESSION, closes that end or keep the session, backoff. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(session, .fini = teardown);

/* Time of the first client frame with this op at or after index from. */
static const ts_frame_out *first_op(int op, size_t from)
{
    for (size_t i = from; i < T.nout; i++)
        if (ts_op_of(&T.out[i]) == op)
            return &T.out[i];
    return NULL;
}

/* After DGW_EV_CLOSED: reconnect, connect again, HELLO. Returns the index of
 * the first client frame of the new connection. */
static size_t reconnect_and_hello(uint32_t *wait_out)
{
    uint32_t wait;
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK, "%s",
                 dgw_conn_last_error(T.c));
    if (wait_out)
        *wait_out = wait;
    T.now += wait;
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    return from;
}

static void expect_identify_not_resume(size_t from)
{
    cr_assert_eq(ts_count_op(&T, 6, from), 0, "RESUMEd a session that is over");
    cr_assert_eq(ts_count_op(&T, 2, from), 1, "no IDENTIFY");
    cr_assert(strstr(T.request, "Host: gateway.test\r\n"), "not the gateway URL: %s",
              T.request);
}

static void expect_resume(size_t from, const char *seq)
{
    cr_assert_eq(ts_count_op(&T, 2, from), 0, "IDENTIFYed instead of resuming");
    const ts_frame_out *r = first_op(6, from);
    cr_assert_not_null(r, "no RESUME");
    cr_assert(strstr(r->payload, "\"session_id\":\"sess-1\""), "%s", r->payload);
    cr_assert(strstr(r->payload, "\"token\":\"secret-token\""), "%s", r->payload);
    char want[32];
    snprintf(want, sizeof want, "\"seq\":%s}", seq);
    cr_assert(strstr(r->payload, want), "%s lacks %s", r->payload, want);
    cr_assert(strstr(T.request, "Host: resume.test\r\n"), "not the resume URL: %s",
              T.request);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_RESUMING);
}

Test(session, first_heartbeat_jitter_in_range_and_varies_by_seed)
{
    uint64_t jit[8];
    int distinct = 0;
    for (int s = 0; s < 8; s++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        T.rng = 0x1234567ull * (uint64_t)(s + 1) + 77;
        ts_connect(&T);
        uint64_t t_hello = T.now;
        ts_hello(&T, 41250);
        ts_ready(&T, "sess-1", "ws://resume.test/");
        ts_advance_acking(&T, 41250);
        const ts_frame_out *b = first_op(1, 0);
        cr_assert_not_null(b, "no beat within one interval");
        jit[s] = b->at - t_hello;
        cr_assert_lt(jit[s], 41250);
        /* Then exactly every interval. */
        ts_advance_acking(&T, 41250);
        cr_assert_eq(ts_count_op(&T, 1, 0), 2);
        cr_assert_eq(ts_last_op(&T, 1)->at, b->at + 41250);
        bool seen = false;
        for (int k = 0; k < s; k++)
            seen |= jit[k] == jit[s];
        distinct += !seen;
        ts_free(&T);
    }
    cr_log_info("first-beat jitters: %llu %llu %llu %llu", (unsigned long long)jit[0],
                (unsigned long long)jit[1], (unsigned long long)jit[2],
                (unsigned long long)jit[3]);
    cr_assert_geq(distinct, 6, "jitter barely depends on the seed");
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(session, heartbeat_d_is_null_then_last_seq)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_hello(&T, 1000);
    ts_advance(&T, 1000);
    const ts_frame_out *b = ts_last_op(&T, 1);
    cr_assert_not_null(b);
    cr_assert_str_eq(b->payload, "{\"op\":1,\"d\":null}");
    ts_send_json(&T, "{\"op\":11}");
    ts_ready(&T, "sess-1", "ws://resume.test/");
    ts_dispatch(&T, 5, "MESSAGE_CREATE", "{}");
    ts_advance(&T, 1000);
    cr_assert_str_eq(ts_last_op(&T, 1)->payload, "{\"op\":1,\"d\":5}");
}

Test(session, server_heartbeat_request_answered_at_once)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_dispatch(&T, 3, "X", "{}");
    size_t from = T.nout;
    uint64_t at = T.now;
    ts_send_json(&T, "{\"op\":1,\"d\":null}");
    cr_assert_eq(ts_count_op(&T, 1, from), 1, "server op 1 not answered");
    const ts_frame_out *b = ts_last_op(&T, 1);
    cr_assert_eq(b->at, at);
    cr_assert_str_eq(b->payload, "{\"op\":1,\"d\":3}");
    /* That beat expects an ACK too: latency is measured from it. */
    ts_advance(&T, 25);
    ts_send_json(&T, "{\"op\":11}");
    cr_assert_eq(ts_last_event(&T, DGW_EV_HEARTBEAT_ACK)->latency, 25);
}

Test(session, server_heartbeat_request_unacked_is_zombie)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 5000);
    uint64_t t0 = T.now;
    ts_send_json(&T, "{\"op\":1,\"d\":null}");
    /* Never ACKed: the first regular beat due a whole interval after it
     * finds the connection dead (within two intervals). */
    ts_advance(&T, 10000);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "no zombie close");
    cr_assert_eq(e->error, DGW_ERR_ZOMBIE);
    cr_assert_geq(T.now - t0, 5000);
}

Test(session, ack_latency_measured)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 2000);
    cr_assert_eq(dgw_conn_latency(T.c), -1);
    ts_advance(&T, 2000);
    const ts_frame_out *b = ts_last_op(&T, 1);
    cr_assert_not_null(b);
    uint64_t beat_at = b->at;
    T.now = beat_at + 37;
    ts_send_json(&T, "{\"op\":11}");
    const ts_event *a = ts_last_event(&T, DGW_EV_HEARTBEAT_ACK);
    cr_assert_not_null(a);
    cr_assert_eq(a->latency, 37);
    cr_assert_eq(dgw_conn_latency(T.c), 37);
    /* An extra ACK with no beat outstanding does not change it. */
    ts_advance(&T, 100);
    ts_send_json(&T, "{\"op\":11}");
    cr_assert_eq(dgw_conn_latency(T.c), 37);
}

Test(session, reconnect_op7_closes_resumable_and_resumes)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_dispatch(&T, 5, "MESSAGE_CREATE", "{}");
    ts_send_json(&T, "{\"op\":7,\"d\":null}");
    cr_assert_eq(ts_count_events(&T, DGW_EV_RECONNECT), 1);
    const ts_frame_out *cl = ts_last_close(&T);
    cr_assert_not_null(cl, "no close frame after RECONNECT");
    uint16_t code = ts_close_code_of(cl);
    cr_assert(code != 1000 && code != 1001 && code >= 1000, "code %u ends the session",
              code);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSING);
    ts_server_close(&T, code, NULL);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->resumable);
    cr_assert(!e->fatal);
    cr_assert(dgw_conn_can_resume(T.c));
    uint32_t wait;
    size_t from = reconnect_and_hello(&wait);
    cr_assert_eq(wait, 0);
    expect_resume(from, "5");
}

Test(session, reconnect_op7_then_eof_still_resumes)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":7,\"d\":null}");
    ts_eof(&T); /* the server just drops the socket */
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->resumable);
    expect_resume(reconnect_and_hello(NULL), "1");
}

Test(session, invalid_session_true_closes_and_resumes)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_dispatch(&T, 9, "X", "{}");
    ts_send_json(&T, "{\"op\":9,\"d\":true}");
    const ts_event *iv = ts_last_event(&T, DGW_EV_INVALID_SESSION);
    cr_assert_not_null(iv);
    cr_assert(iv->resumable);
    uint16_t code = ts_close_code_of(ts_last_close(&T));
    cr_assert(code != 0 && code != 1000 && code != 1001, "code %u", code);
    ts_server_close(&T, code, NULL);
    cr_assert(ts_last_event(&T, DGW_EV_CLOSED)->resumable);
    expect_resume(reconnect_and_hello(NULL), "9");
}

Test(session, invalid_session_false_identifies_after_1_to_5_s)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t from = T.nout;
    uint64_t t0 = T.now;
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    const ts_event *iv = ts_last_event(&T, DGW_EV_INVALID_SESSION);
    cr_assert_not_null(iv);
    cr_assert(!iv->resumable);
    cr_assert_null(dgw_conn_session_id(T.c), "session not cleared");
    cr_assert(!dgw_conn_can_resume(T.c));
    cr_assert_eq(dgw_conn_last_seq(T.c), -1);
    ts_advance_acking(&T, 999);
    cr_assert_eq(ts_count_op(&T, 2, from), 0, "IDENTIFY before 1000 ms");
    ts_advance_acking(&T, 5000 - 999);
    cr_assert_eq(ts_count_op(&T, 2, from), 1, "no IDENTIFY by 5000 ms");
    const ts_frame_out *id = first_op(2, from);
    cr_assert_geq(id->at, t0 + 1000);
    cr_assert_leq(id->at, t0 + 5000);
    cr_assert_eq(ts_count_opcode(&T, 8, 0), 0, "closed the connection");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
    ts_ready(&T, "sess-2", "ws://resume.test/");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    cr_assert_str_eq(dgw_conn_session_id(T.c), "sess-2");
}

Test(session, invalid_session_false_wait_varies)
{
    uint64_t waits[6];
    int distinct = 0;
    for (int s = 0; s < 6; s++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        T.rng = 0xABCDEFull * (uint64_t)(s + 3);
        ts_establish(&T, 41250);
        ts_advance_acking(&T, 10000); /* the 5 s IDENTIFY window is over */
        size_t from = T.nout;
        uint64_t t0 = T.now;
        ts_send_json(&T, "{\"op\":9,\"d\":false}");
        ts_advance_acking(&T, 5000);
        const ts_frame_out *id = first_op(2, from);
        cr_assert_not_null(id);
        waits[s] = id->at - t0;
        bool seen = false;
        for (int k = 0; k < s; k++)
            seen |= waits[k] == waits[s];
        distinct += !seen;
        ts_free(&T);
    }
    cr_assert_geq(distinct, 4, "INVALID_SESSION wait is not random");
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(session, invalid_session_false_while_resuming)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_eof(&T);
    size_t from = reconnect_and_hello(NULL);
    expect_resume(from, "1");
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    cr_assert_null(dgw_conn_session_id(T.c));
    ts_advance_acking(&T, 5000);
    cr_assert_eq(ts_count_op(&T, 2, from), 1, "no IDENTIFY after a refused RESUME");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
}

Test(session, invalid_session_false_then_server_close_waits_and_identifies)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    uint64_t identify_at = T.c->identify_not_before;
    cr_assert_geq(identify_at, T.now + 1000);
    ts_advance_acking(&T, 200);
    ts_server_close(&T, 4000, NULL);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    cr_assert(!ts_last_event(&T, DGW_EV_CLOSED)->resumable);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    cr_assert_geq(T.now + wait, identify_at, "wait %u ends before the INVALID_SESSION wait",
                  wait);
    T.now += wait;
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    expect_identify_not_resume(from);
}

Test(session, invalid_session_false_early_start_defers_identify)
{
    /* A caller that ignores the wait still gets no early IDENTIFY. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    uint64_t identify_at = T.c->identify_not_before;
    ts_eof(&T);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 2, from), 0, "IDENTIFY before the wait ended");
    ts_advance_acking(&T, identify_at - T.now);
    cr_assert_eq(ts_count_op(&T, 2, from), 1);
    cr_assert_eq(ts_count_op(&T, 6, from), 0);
}

static void client_close_then(uint16_t code, bool resumes)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_dispatch(&T, 4, "X", "{}");
    cr_assert_eq(dgw_conn_close(T.c, code, NULL, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), code);
    ts_server_close(&T, code, NULL);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->resumable, resumes, "close %u: resumable=%d", code, e->resumable);
    cr_assert_eq(dgw_conn_can_resume(T.c), resumes);
    size_t from = reconnect_and_hello(NULL);
    if (resumes)
        expect_resume(from, "4");
    else
        expect_identify_not_resume(from);
}

Test(session, client_close_1000_ends_session)
{
    client_close_then(1000, false);
}

Test(session, client_close_1001_ends_session)
{
    client_close_then(1001, false);
}

Test(session, client_close_4000_keeps_session)
{
    client_close_then(4000, true);
}

Test(session, client_close_1000_during_upgrade_ends_session)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_eof(&T);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    ts_start(&T);
    cr_assert_eq(dgw_conn_close(T.c, 1000, NULL, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    cr_assert(!dgw_conn_can_resume(T.c));
    expect_identify_not_resume(reconnect_and_hello(NULL));
}

static void server_close_then_identify(uint16_t code)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_dispatch(&T, 4, "X", "{}");
    ts_server_close(&T, code, NULL);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(!e->resumable);
    cr_assert(!e->fatal);
    expect_identify_not_resume(reconnect_and_hello(NULL));
}

Test(session, server_close_4007_starts_new_session)
{
    server_close_then_identify(4007);
}

Test(session, server_close_4009_starts_new_session)
{
    server_close_then_identify(4009);
}

/* One failed attempt: start, the TCP connection dies during the upgrade. */
static uint32_t fail_attempt(void)
{
    ts_start(&T);
    ts_eof(&T);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    return w;
}

Test(session, backoff_grows_with_jitter_and_is_capped)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_eof(&T);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    cr_assert_eq(w, 0, "first retry after a working session must not wait");
    uint32_t prev_hi = 0;
    int below_nominal = 0;
    for (int i = 1; i <= 14; i++) {
        T.now += w;
        w = fail_attempt();
        uint64_t nominal = 1000ull << (i - 1);
        if (nominal > 60000)
            nominal = 60000;
        cr_log_info("attempt %d: wait %u (nominal %llu)", i, w, (unsigned long long)nominal);
        cr_assert_leq(w, nominal, "attempt %d: wait %u over %llu", i, w,
                      (unsigned long long)nominal);
        cr_assert_geq(w, nominal / 2, "attempt %d: wait %u under half of %llu", i, w,
                      (unsigned long long)nominal);
        cr_assert_leq(w, 60000);
        below_nominal += w < nominal;
        if (i <= 6)
            cr_assert_geq((uint32_t)nominal, prev_hi, "not growing");
        prev_hi = (uint32_t)nominal;
    }
    cr_assert_geq(below_nominal, 10, "no jitter");
}

Test(session, backoff_jitter_differs_across_seeds)
{
    uint32_t v[6];
    int distinct = 0;
    for (int s = 0; s < 6; s++) {
        ts_init(&T, DGW_COMPRESS_NONE);
        T.rng = 0x5151ull * (uint64_t)(s + 1) + 1;
        ts_establish_stable(&T, 41250);
        ts_eof(&T);
        uint32_t w;
        dgw_conn_reconnect(T.c, T.now, &w);
        w = fail_attempt();
        w = fail_attempt();
        v[s] = fail_attempt(); /* nominal 4000 */
        cr_assert(v[s] >= 2000 && v[s] <= 4000, "%u", v[s]);
        bool seen = false;
        for (int k = 0; k < s; k++)
            seen |= v[k] == v[s];
        distinct += !seen;
        ts_free(&T);
    }
    cr_assert_geq(distinct, 4);
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(session, backoff_capped_at_configured_max)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.backoff_base_ms = 100;
    T.cfg.backoff_max_ms = 1500;
    ts_recreate(&T);
    uint32_t w = 0, max = 0;
    for (int i = 0; i < 40; i++) {
        T.now += w;
        w = fail_attempt();
        cr_assert_leq(w, 1500, "attempt %d: %u", i, w);
        if (w > max)
            max = w;
    }
    cr_assert_geq(max, 750, "never got near the cap");
    cr_assert_geq(w, 750, "late waits must sit in [max/2, max]");
}

Test(session, backoff_reset_only_after_a_stable_resumed_session)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    for (int i = 0; i < 5; i++) {
        T.now += w;
        w = fail_attempt();
    }
    cr_assert_geq(w, 8000);
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    /* HELLO alone is not a working session. */
    ts_eof(&T);
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_geq(w, 16000, "backoff reset by HELLO (6th failure in a row)");
    /* RESUMED and lost at once: still not a working session (a server
     * that accepts and drops would get a tight loop). */
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_dispatch(&T, 2, "RESUMED", "{}");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    ts_eof(&T);
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_geq(w, 30000, "backoff reset by a RESUMED that did not last");
    /* RESUMED and up for backoff_stable_ms: the next loss retries at once. */
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_dispatch(&T, 3, "RESUMED", "{}");
    ts_advance_acking(&T, 60000);
    ts_eof(&T);
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_eq(w, 0, "backoff not reset by a stable RESUMED session");
}

Test(session, backoff_reset_only_after_a_stable_ready_session)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_server_close(&T, 4009, NULL); /* new session needed */
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_eq(w, 0);
    /* A server that sends READY and closes 4009 at once, again and again:
     * each retry waits longer, and IDENTIFYs stay 5 s apart. */
    uint64_t last_identify = 0;
    uint32_t prev = 0;
    for (int i = 0; i < 5; i++) {
        T.now += w;
        ts_connect(&T);
        size_t from = T.nout;
        ts_hello(&T, 41250);
        ts_advance_acking(&T, 6000);
        const ts_frame_out *id = ts_last_op(&T, 2);
        cr_assert_eq(ts_count_op(&T, 2, from), 1, "attempt %d: no IDENTIFY", i);
        if (last_identify)
            cr_assert_geq(id->at - last_identify, 5000, "IDENTIFYs %llu ms apart",
                          (unsigned long long)(id->at - last_identify));
        last_identify = id->at;
        ts_ready(&T, "sess-x", "ws://resume.test/");
        ts_server_close(&T, 4009, NULL);
        dgw_conn_reconnect(T.c, T.now, &w);
        cr_assert_gt(w, 0, "attempt %d: backoff reset by a READY that did not last", i);
        if (i >= 1)
            cr_assert_geq(w, prev / 2 + 1, "attempt %d: backoff not growing (%u after %u)", i,
                          w, prev);
        prev = w;
    }
    /* READY and up for backoff_stable_ms: reset. */
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_ready(&T, "sess-2", "ws://resume.test/");
    ts_advance_acking(&T, 60000);
    ts_eof(&T);
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_eq(w, 0, "backoff not reset by a stable READY session");
}

Test(session, resume_seq_is_last_seen_dispatch)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    for (int i = 2; i <= 40; i++)
        ts_dispatch(&T, i, "TYPING_START", "{}");
    ts_eof(&T);
    size_t from = reconnect_and_hello(NULL);
    expect_resume(from, "40");
    /* Replayed dispatches advance seq; RESUMED ends the replay. */
    ts_dispatch(&T, 41, "MESSAGE_CREATE", "{}");
    ts_dispatch(&T, 42, "RESUMED", "{}");
    cr_assert_eq(dgw_conn_last_seq(T.c), 42);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}

Test(session, first_failure_before_any_session_backs_off)
{
    /* Connection refused on the very first try: no session ever worked, so
     * the retry must not be immediate (no tight loop against a down host). */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->close_code, 0, "no WebSocket was open");
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    cr_assert_geq(w, 500, "first retry waited only %u ms", w);
    cr_assert_leq(w, 1000);
}

Test(session, no_frames_after_close_frame)
{
    /* Found by fuzz_payload: op 1 while CLOSING made the client beat after
     * its own close frame (RFC 6455 5.5.1). */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_close(T.c, 4000, "bye", T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), 4000);
    size_t from = T.nout;
    ts_send_json(&T, "{\"op\":1,\"d\":null}");
    ts_send_json(&T, "{\"op\":7,\"d\":null}");
    ts_send_json(&T, "{\"op\":9,\"d\":true}");
    ts_send_json(&T, "{\"op\":10,\"d\":{\"heartbeat_interval\":1000}}");
    cr_assert_eq(T.nout, from, "client wrote %zu frames after its close frame "
                 "(first: opcode %u %s)", T.nout - from,
                 T.nout > from ? T.out[from].opcode : 0,
                 T.nout > from ? T.out[from].payload : "");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSING);
}

Test(session, reconnect_while_closing_keeps_one_close_and_deadline)
{
    /* Found by fuzz_conn: a server repeating RECONNECT kept the client
     * CLOSING forever, each one queuing a new close frame. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_close(T.c, 1000, "done", T.now), DGW_OK);
    for (int i = 0; i < 5; i++) {
        T.now += 4000 / 5;
        ts_send_json(&T, "{\"op\":7,\"d\":null}");
    }
    size_t closes = 0;
    for (size_t i = 0; i < T.nout; i++)
        closes += T.out[i].opcode == 8;
    cr_assert_eq(closes, 1, "%zu close frames", closes);
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), 1000);
    ts_advance(&T, 1001); /* 5 s after close(): the close timeout */
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_eq(e->close_code, 1000);
    cr_assert(!e->resumable, "close(1000) ends the session");
}
