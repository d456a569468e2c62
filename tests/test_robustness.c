/* What a hostile or broken server, and a careless caller, must not get
 * out of the client (issue 11): each test drives the rule that a fault
 * broke, and failed before the fix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(robustness, .fini = teardown);

static size_t frame_of(uint8_t *out, const char *json)
{
    return ts_frame(out, true, 1, json, strlen(json), NULL);
}

/* ---- the I/O contract ------------------------------------------------ */

Test(robustness, close_frame_arriving_with_eof_is_not_lost)
{
    /* A dispatch, close 4004 and the end of the connection in one read:
     * every byte recv() reports consumed is decoded, so the driver that
     * feeds all it read before recv_eof() sees the fatal code. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    uint8_t wire[512];
    size_t n = frame_of(wire, "{\"op\":0,\"s\":2,\"t\":\"X\",\"d\":{}}");
    uint8_t close[] = {0x88, 2, 0x0f, 0xa4}; /* 4004 */
    memcpy(wire + n, close, sizeof close);
    n += sizeof close;
    /* A driver that gives recv() every byte until all are consumed, and
     * drains events only when recv() asks for it (returns 0), then tells
     * the end of the connection: nothing it handed over may be lost. */
    size_t done = 0;
    while (done < n) {
        long r = dgw_conn_recv(T.c, wire + done, n - done, T.now);
        cr_assert_geq(r, 0);
        if (r == 0)
            ts_collect(&T);
        done += (size_t)r;
    }
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->close_code, 4004);
    cr_assert(e->fatal);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_ERR_FATAL_CLOSE);
}

Test(robustness, recv_consumes_exactly_up_to_the_first_event)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    uint8_t wire[512];
    size_t a = frame_of(wire, "{\"op\":0,\"s\":2,\"t\":\"A\",\"d\":{}}");
    size_t b = frame_of(wire + a, "{\"op\":0,\"s\":3,\"t\":\"B\",\"d\":{}}");
    long r = dgw_conn_recv(T.c, wire, a + b, T.now);
    cr_assert_eq(r, (long)a, "consumed %ld, the first message is %zu bytes", r, a);
    cr_assert_eq(dgw_conn_recv(T.c, wire + a, b, T.now), 0, "events pending");
    ts_collect(&T);
    cr_assert_eq(dgw_conn_recv(T.c, wire + a, b, T.now), (long)b);
    ts_collect(&T);
    cr_assert_str_eq(ts_last_event(&T, DGW_EV_DISPATCH)->name, "B");
}

Test(robustness, poll_event_never_produces_output)
{
    /* HELLO and op 1 in one read: IDENTIFY and the beat come from recv(),
     * never from draining the events. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    uint8_t wire[512];
    size_t a = frame_of(wire, "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}");
    size_t b = frame_of(wire + a, "{\"op\":1,\"d\":null}");
    const uint8_t *o;
    size_t done = 0;
    while (done < a + b) {
        long r = dgw_conn_recv(T.c, wire + done, a + b - done, T.now);
        cr_assert_geq(r, 0);
        done += (size_t)r;
        size_t before = dgw_conn_peek_output(T.c, &o);
        dgw_event ev;
        while (dgw_conn_poll_event(T.c, &ev))
            cr_assert_eq(dgw_conn_peek_output(T.c, &o), before,
                         "poll_event wrote output for event %d", ev.type);
        ts_collect(&T);
    }
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
    cr_assert_eq(ts_count_op(&T, 1, 0), 1);
}

Test(robustness, reconnect_outside_closed_is_a_state_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_ERR_STATE, "in IDLE");
    ts_establish(&T, 41250);
    size_t closes = ts_count_opcode(&T, 8, 0);
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_ERR_STATE, "in CONNECTED");
    ts_collect(&T);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED, "the connection was torn down");
    cr_assert_eq(ts_count_opcode(&T, 8, 0), closes);
    cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 0);
    cr_assert_eq(dgw_conn_close(T.c, 4000, NULL, T.now), DGW_OK);
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_ERR_STATE, "in CLOSING");
}

/* ---- READY timeout --------------------------------------------------- */

Test(robustness, no_ready_after_identify_closes_resumably_and_backs_off)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_hello(&T, 1000);
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
    /* The server ACKs every beat but never sends READY. */
    ts_advance_acking(&T, 14000);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
    ts_advance_acking(&T, 2000);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "still waiting for READY after 16 s");
    cr_assert_eq(e->error, DGW_ERR_TIMEOUT);
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), DGW_CLOSE_RESUMABLE);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    cr_assert_geq(w, 500, "a session that never started retried without backoff");
}

Test(robustness, no_resumed_after_resume_times_out_too)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.ready_timeout_ms = 3000;
    ts_recreate(&T);
    ts_establish(&T, 1000);
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 1000);
    cr_assert_eq(ts_count_op(&T, 6, 0), 1);
    ts_advance_acking(&T, 3500);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_TIMEOUT);
    cr_assert(e->resumable, "a RESUMED timeout must keep the session");
}

/* ---- resume URL ------------------------------------------------------- */

static void lose_connection_after_ready(const char *resume_url)
{
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_ready(&T, "sess-1", resume_url);
    ts_eof(&T);
}

Test(robustness, dead_resume_url_falls_back_to_the_gateway_url)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    lose_connection_after_ready("ws://resume.test/");
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "resume.test");
    /* The resume URL refuses the connection. */
    T.now += w;
    ts_start(&T);
    ts_eof(&T);
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "gateway.test", "retried the dead resume URL");
    /* ... and the session is RESUMEd there. */
    T.now += w;
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 6, from), 1, "no RESUME at the gateway URL");
    cr_assert(strstr(T.request, "Host: gateway.test\r\n"));
}

Test(robustness, rejected_upgrade_at_the_resume_url_falls_back_too)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    lose_connection_after_ready("ws://resume.test/");
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_start(&T);
    const char *r503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    ts_feed(&T, r503, strlen(r503));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    dgw_conn_reconnect(T.c, T.now, &w);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "gateway.test");
    cr_assert(dgw_conn_can_resume(T.c));
}

Test(robustness, resume_url_that_worked_is_kept)
{
    /* Only a failure before the WebSocket opens condemns the resume URL:
     * a connection there that drops later is an ordinary loss. */
    ts_init(&T, DGW_COMPRESS_NONE);
    lose_connection_after_ready("ws://resume.test/");
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    ts_eof(&T);
    dgw_conn_reconnect(T.c, T.now, &w);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "resume.test");
}

Test(robustness, resume_url_downgrading_tls_is_refused)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.url = "wss://gateway.test/";
    ts_recreate(&T);
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_ready(&T, "sess-1", "ws://evil.test/");
    cr_assert_null(dgw_conn_resume_url(T.c));
    cr_assert(strstr(dgw_conn_last_error(T.c), "resume_gateway_url refused"), "%s",
              dgw_conn_last_error(T.c));
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "gateway.test");
    cr_assert(ep.tls, "the token would go over plain TCP");
    cr_assert(dgw_conn_can_resume(T.c), "the session itself is fine");
}

Test(robustness, resume_url_with_the_same_scheme_is_used)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.url = "wss://gateway.test/";
    ts_recreate(&T);
    lose_connection_after_ready("wss://resume.test/");
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "resume.test");
    cr_assert(ep.tls);
}

/* ---- commands around IDENTIFY and RESUME ------------------------------- */

static int first_non_heartbeat(size_t from)
{
    for (size_t i = from; i < T.nout; i++) {
        int op = ts_op_of(&T.out[i]);
        if (op >= 0 && op != 1)
            return op;
    }
    return -1;
}

Test(robustness, invalid_session_drops_queued_commands_and_identifies_first)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_advance_acking(&T, 10000);
    /* Use up the command share of the window, and queue 16 more. */
    int accepted = 0;
    for (int i = 0; i < 131; i++)
        accepted += dgw_conn_send(T.c, 3, "{}", 2, T.now) == DGW_OK;
    cr_assert_eq(accepted, 131);
    ts_collect(&T);
    size_t from = T.nout;
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    const ts_event *d = ts_last_event(&T, DGW_EV_COMMANDS_DROPPED);
    cr_assert_not_null(d, "queued commands dropped silently");
    cr_assert_eq(d->dropped + ts_count_op(&T, 3, 0), 131,
                 "%u dropped + %zu sent != 131 accepted", d->dropped, ts_count_op(&T, 3, 0));
    ts_advance_acking(&T, 70000);
    cr_assert_eq(first_non_heartbeat(from), 2, "IDENTIFY was not the first payload");
    cr_assert_eq(ts_count_op(&T, 3, from), 0, "commands of the old session were sent");
}

Test(robustness, identify_is_not_held_by_a_full_command_window)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_advance_acking(&T, 10000);
    for (int i = 0; i < 115; i++)
        cr_assert_eq(dgw_conn_send(T.c, 3, "{}", 2, T.now), DGW_OK);
    ts_collect(&T);
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    uint64_t t0 = T.now;
    size_t from = T.nout;
    ts_advance_acking(&T, 6000);
    const ts_frame_out *id = ts_last_op(&T, 2);
    cr_assert_eq(ts_count_op(&T, 2, from), 1, "IDENTIFY waited for the command window");
    cr_assert_leq(id->at - t0, 5000);
}

Test(robustness, queued_commands_survive_a_resumed_connection)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    for (int i = 0; i < 120; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    ts_collect(&T);
    size_t sent_before = ts_count_op(&T, 3, 0);
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    cr_assert_eq(first_non_heartbeat(from), 6, "RESUME was not first");
    cr_assert_eq(ts_count_op(&T, 3, from), 120 - sent_before,
                 "the queue was not sent after RESUME");
    cr_assert_eq(ts_count_events(&T, DGW_EV_COMMANDS_DROPPED), 0);
}

Test(robustness, commands_dropped_when_the_session_ends_are_reported)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    for (int i = 0; i < 130; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    ts_collect(&T);
    ts_server_close(&T, 4009, NULL);
    const ts_event *d = ts_last_event(&T, DGW_EV_COMMANDS_DROPPED);
    cr_assert_not_null(d);
    /* Every accepted command is either sent or reported dropped. */
    size_t sent = ts_count_op(&T, 3, 0);
    cr_assert_eq(sent + d->dropped, 130, "%zu sent + %u dropped", sent, d->dropped);
    cr_assert_gt(d->dropped, 0);
}

Test(robustness, client_close_1000_drops_and_reports_the_queue)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    for (int i = 0; i < 125; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    cr_assert_eq(dgw_conn_close(T.c, 1000, "bye", T.now), DGW_OK);
    ts_collect(&T);
    const ts_event *d = ts_last_event(&T, DGW_EV_COMMANDS_DROPPED);
    cr_assert_not_null(d);
    cr_assert_eq(d->dropped + ts_count_op(&T, 3, 0), 125);
}

/* ---- heartbeats --------------------------------------------------------- */

Test(robustness, op1_just_before_the_regular_beat_is_no_false_zombie)
{
    /* ACKs take 80 ms; the server asks for a beat 30 ms before each
     * regular one. Two beats are in flight: the first ACK must not be
     * counted against the second beat. */
    ts_init(&T, DGW_COMPRESS_NONE);
    T.rtt_ms = 80;
    ts_establish(&T, 1000);
    for (int i = 0; i < 40; i++) {
        uint64_t next = dgw_conn_next_timeout(T.c);
        cr_assert_neq(next, DGW_NO_TIMEOUT);
        ts_advance_acking(&T, next - T.now - 30);
        ts_send_json(&T, "{\"op\":1,\"d\":null}");
        ts_advance_acking(&T, 200);
        cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED,
                     "round %d: closed (%s)", i, dgw_conn_last_error(T.c));
    }
    cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 0);
    cr_assert_geq(dgw_conn_latency(T.c), 80);
}

Test(robustness, regular_beats_with_a_slow_server_are_no_zombie)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.rtt_ms = 900; /* just under the interval */
    ts_establish(&T, 1000);
    ts_advance_acking(&T, 30000);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED, "%s", dgw_conn_last_error(T.c));
    cr_assert_eq(dgw_conn_latency(T.c), 900);
}

Test(robustness, repeated_hello_does_not_stop_zombie_detection)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 1000);
    /* Beats go unanswered; the server sends HELLO again meanwhile. */
    for (int i = 0; i < 5 && dgw_conn_state(T.c) == DGW_STATE_CONNECTED; i++) {
        ts_advance(&T, 700);
        ts_hello(&T, 1000);
    }
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "repeated HELLOs kept a dead connection alive");
    cr_assert_eq(e->error, DGW_ERR_ZOMBIE);
    cr_assert_eq(ts_count_op(&T, 2, 0), 1, "a repeated HELLO sent IDENTIFY again");
}

/* ---- the caller's mistakes ---------------------------------------------- */

Test(robustness, close_reason_must_be_utf8)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_eq(dgw_conn_close(T.c, 4000, "bad \xff byte", T.now), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    cr_assert_eq(dgw_conn_close(T.c, 4000, "caf\xc3\xa9", T.now), DGW_OK);
}

Test(robustness, getters_accept_null)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    cr_assert_eq(dgw_conn_state(NULL), DGW_STATE_IDLE);
    cr_assert_str_eq(dgw_conn_last_error(NULL), "");
    cr_assert_null(dgw_conn_session_id(NULL));
    cr_assert_null(dgw_conn_resume_url(NULL));
    cr_assert_eq(dgw_conn_last_seq(NULL), -1);
    cr_assert(!dgw_conn_can_resume(NULL));
    cr_assert_eq(dgw_conn_heartbeat_interval(NULL), 0);
    cr_assert_eq(dgw_conn_latency(NULL), -1);
    cr_assert_eq(dgw_conn_memory(NULL), 0);
    cr_assert_eq(dgw_conn_next_timeout(NULL), DGW_NO_TIMEOUT);
    cr_assert(!dgw_conn_has_events(NULL));
    const uint8_t *o;
    cr_assert_eq(dgw_conn_peek_output(NULL, &o), 0);
    dgw_endpoint ep;
    dgw_conn_endpoint(NULL, &ep);
    cr_assert_null(ep.host);
}

Test(robustness, raw_send_of_heartbeat_identify_resume_is_refused)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t from = T.nout;
    int ops[] = {1, 2, 6};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(dgw_conn_send(T.c, ops[i], "{}", 2, T.now), DGW_ERR_INVALID_ARGUMENT,
                     "op %d", ops[i]);
    ts_collect(&T);
    cr_assert_eq(T.nout, from);
    cr_assert_eq(dgw_conn_send(T.c, 43, "{}", 2, T.now), DGW_OK);
}
