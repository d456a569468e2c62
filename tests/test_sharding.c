/* What a sharded bot needs from a connection (PROTOCOL.md 5): IDENTIFY held
 * behind the caller's gate, a session restored after a restart, the
 * statistics, and the pure helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(sharding, .fini = teardown);

static void gated(void)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.identify_gate = true;
    T.cfg.identify.shard_id = 5;
    T.cfg.identify.shard_count = 16;
    ts_recreate(&T);
}

/* ---- the IDENTIFY gate ------------------------------------------------ */

Test(sharding, gate_holds_identify_until_permitted)
{
    gated();
    ts_connect(&T);
    ts_hello(&T, 1000);
    cr_assert_eq(ts_count_op(&T, 2, 0), 0, "IDENTIFY went out without a permit");
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 1);
    /* Waiting: heartbeats go on, no second WANTED, no timer spin. */
    ts_advance_acking(&T, 5000);
    cr_assert_geq(ts_count_op(&T, 1, 0), 4);
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 1);
    cr_assert_eq(ts_count_op(&T, 2, 0), 0);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_OK);
    ts_collect(&T);
    const ts_frame_out *id = ts_last_op(&T, 2);
    cr_assert_not_null(id, "no IDENTIFY after the permit");
    cr_assert_eq(id->at, T.now, "the permitted IDENTIFY must go at once");
    cr_assert(strstr(id->payload, "\"shard\":[5,16]"), "%s", id->payload);
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_ERR_STATE, "a second permit");
}

Test(sharding, permit_without_a_waiting_identify_is_a_state_error)
{
    gated();
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_ERR_STATE);
    ts_connect(&T);
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_ERR_STATE, "before HELLO");
}

Test(sharding, gate_asks_again_after_invalid_session)
{
    gated();
    ts_connect(&T);
    ts_hello(&T, 41250);
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_OK);
    ts_collect(&T);
    ts_ready(&T, "sess-1", "ws://resume.test/");
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 1, "asked before the wait");
    ts_advance_acking(&T, 5100);
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 2, "not asked after the wait");
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
    dgw_conn_identify_permit(T.c, T.now);
    ts_collect(&T);
    cr_assert_eq(ts_count_op(&T, 2, 0), 2);
}

Test(sharding, resume_needs_no_permit_and_a_new_session_does)
{
    gated();
    ts_connect(&T);
    ts_hello(&T, 41250);
    dgw_conn_identify_permit(T.c, T.now);
    ts_collect(&T);
    ts_ready(&T, "sess-1", "ws://resume.test/");
    ts_eof(&T);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 6, from), 1, "RESUME waited for a permit");
    ts_dispatch(&T, 2, "RESUMED", "{}");
    ts_server_close(&T, 4009, NULL);
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    from = T.nout;
    size_t wanted = ts_count_events(&T, DGW_EV_IDENTIFY_WANTED);
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 2, from), 0);
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), wanted + 1);
}

Test(sharding, gate_replaces_the_internal_identify_window)
{
    /* The caller paces behind the gate: a permit right after an IDENTIFY
     * is honoured at once (the caller's bucket queue knows best). */
    gated();
    ts_connect(&T);
    ts_hello(&T, 41250);
    dgw_conn_identify_permit(T.c, T.now);
    ts_collect(&T);
    ts_ready(&T, "sess-1", "ws://resume.test/");
    ts_server_close(&T, 4009, NULL);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    cr_assert_lt(w, 5000, "the 5 s window applied behind the gate");
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 41250);
    cr_assert_eq(dgw_conn_identify_permit(T.c, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(ts_count_op(&T, 2, 0), 2);
}

/* ---- restoring a session ------------------------------------------------ */

Test(sharding, restored_session_resumes_at_its_url_without_identify)
{
    gated();
    cr_assert_eq(dgw_conn_restore_session(T.c, "saved-42", 1234, "ws://resume.test:9000/"),
                 DGW_OK);
    cr_assert(dgw_conn_can_resume(T.c));
    cr_assert_str_eq(dgw_conn_session_id(T.c), "saved-42");
    cr_assert_eq(dgw_conn_last_seq(T.c), 1234);
    ts_connect(&T);
    cr_assert(strstr(T.request, "Host: resume.test:9000\r\n"), "%s", T.request);
    ts_hello(&T, 41250);
    const ts_frame_out *r = ts_last_op(&T, 6);
    cr_assert_not_null(r, "no RESUME");
    cr_assert(strstr(r->payload, "\"session_id\":\"saved-42\""), "%s", r->payload);
    cr_assert(strstr(r->payload, "\"seq\":1234"), "%s", r->payload);
    cr_assert_eq(ts_count_op(&T, 2, 0), 0);
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 0);
}

Test(sharding, restored_session_refused_falls_back_to_identify_through_the_gate)
{
    gated();
    dgw_conn_restore_session(T.c, "stale", 10, NULL);
    ts_connect(&T);
    cr_assert(strstr(T.request, "Host: gateway.test\r\n"));
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 6, 0), 1);
    ts_send_json(&T, "{\"op\":9,\"d\":false}");
    cr_assert_null(dgw_conn_session_id(T.c));
    ts_advance_acking(&T, 5100);
    cr_assert_eq(ts_count_events(&T, DGW_EV_IDENTIFY_WANTED), 1);
    dgw_conn_identify_permit(T.c, T.now);
    ts_collect(&T);
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
}

Test(sharding, restore_checks_its_arguments_and_state)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    cr_assert_eq(dgw_conn_restore_session(T.c, "", 1, NULL), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_restore_session(T.c, NULL, 1, NULL), DGW_ERR_INVALID_ARGUMENT);
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    cr_assert_eq(dgw_conn_restore_session(T.c, long_id, 1, NULL), DGW_ERR_INVALID_ARGUMENT);
    cr_assert_eq(dgw_conn_restore_session(T.c, "bad\xff", 1, NULL), DGW_ERR_INVALID_ARGUMENT);
    cr_assert(!dgw_conn_can_resume(T.c));
    ts_connect(&T);
    cr_assert_eq(dgw_conn_restore_session(T.c, "s", 1, NULL), DGW_ERR_STATE);
}

Test(sharding, restored_resume_url_of_another_scheme_is_ignored)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.url = "wss://gateway.test/";
    ts_recreate(&T);
    cr_assert_eq(dgw_conn_restore_session(T.c, "s", 1, "ws://plain.test/"), DGW_OK);
    cr_assert_null(dgw_conn_resume_url(T.c));
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "gateway.test");
    cr_assert(ep.tls);
}

/* ---- statistics ----------------------------------------------------------- */

Test(sharding, stats_count_what_happened)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.rtt_ms = 40;
    dgw_stats s;
    dgw_conn_stats(T.c, &s);
    cr_assert_eq(s.attempts, 0);
    cr_assert_eq(s.latency_ms, -1);
    ts_establish(&T, 1000);
    for (int i = 2; i < 12; i++)
        ts_dispatch(&T, i, "MESSAGE_CREATE", "{\"content\":\"x\"}");
    ts_advance_acking(&T, 5500);
    for (int i = 0; i < 3; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    ts_collect(&T);
    ts_send_json(&T, "{\"op\":7,\"d\":null}");
    ts_server_close(&T, 4900, NULL);
    uint32_t w;
    dgw_conn_reconnect(T.c, T.now, &w);
    T.now += w;
    ts_connect(&T);
    ts_hello(&T, 1000);
    ts_dispatch(&T, 12, "RESUMED", "{}");
    ts_eof(&T);
    dgw_conn_stats(T.c, &s);
    cr_assert_eq(s.attempts, 2);
    cr_assert_eq(s.identifies, 1);
    cr_assert_eq(s.resumes, 1);
    cr_assert_eq(s.ended_by[DGW_END_RECONNECT], 1);
    cr_assert_eq(s.ended_by[DGW_END_EOF], 1);
    cr_assert_eq(s.dispatches, 12, "READY + 10 + RESUMED");
    cr_assert_geq(s.events, s.dispatches + 2, "HELLOs and ACKs are events too");
    cr_assert_eq(s.commands_sent, 3);
    cr_assert_geq(s.heartbeats_sent, 5);
    cr_assert_leq(s.heartbeats_acked, s.heartbeats_sent);
    cr_assert_geq(s.heartbeats_acked + 2, s.heartbeats_sent, "beats in flight at the ends");
    cr_assert_eq(s.latency_ms, 40);
    cr_assert_eq(s.latency_avg_ms, 40);
    cr_assert_gt(s.bytes_in, s.payload_bytes_in, "frame headers count on the wire");
    cr_assert_gt(s.bytes_out, 0);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_eq(e->type, DGW_EV_CLOSED);
}

Test(sharding, stats_count_queued_and_dropped_commands)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    for (int i = 0; i < 130; i++)
        dgw_conn_send(T.c, 3, "{}", 2, T.now);
    ts_server_close(&T, 4009, NULL);
    dgw_stats s;
    dgw_conn_stats(T.c, &s);
    cr_assert_eq(s.commands_sent + s.commands_dropped, 130);
    cr_assert_eq(s.commands_dropped, s.commands_queued);
    cr_assert_eq(s.ended_by[DGW_END_SERVER_CLOSE], 1);
}

/* ---- helpers ---------------------------------------------------------------- */

Test(sharding, guild_to_shard_and_bucket)
{
    /* Discord's example: guild 41771983423143937 with 2 shards. */
    cr_assert_eq(dgw_shard_for_guild(41771983423143937ull, 2), (41771983423143937ull >> 22) % 2);
    cr_assert_eq(dgw_shard_for_guild((uint64_t)7 << 22, 4), 3);
    cr_assert_eq(dgw_shard_for_guild((uint64_t)7 << 22 | 0x3fffff, 4), 3, "low bits ignored");
    cr_assert_eq(dgw_shard_for_guild(UINT64_MAX, 1000), (UINT64_MAX >> 22) % 1000);
    cr_assert_eq(dgw_shard_for_guild(123, 0), 0);
    cr_assert_eq(dgw_shard_bucket(17, 16), 1);
    cr_assert_eq(dgw_shard_bucket(17, 1), 0);
    cr_assert_eq(dgw_shard_bucket(17, 0), 0);
}

Test(sharding, gateway_bot_body_parsed)
{
    const char *b = "{\"url\":\"wss://gateway.discord.gg\",\"shards\":9,"
                    "\"session_start_limit\":{\"total\":1000,\"remaining\":999,"
                    "\"reset_after\":14400000,\"max_concurrency\":16},\"extra\":[1,2]}";
    dgw_gateway_bot g;
    const char *why = NULL;
    cr_assert_eq(dgw_parse_gateway_bot(b, strlen(b), &g, &why), DGW_OK, "%s", why);
    cr_assert_str_eq(g.url, "wss://gateway.discord.gg");
    cr_assert_eq(g.shards, 9);
    cr_assert_eq(g.total, 1000);
    cr_assert_eq(g.remaining, 999);
    cr_assert_eq(g.reset_after_ms, 14400000);
    cr_assert_eq(g.max_concurrency, 16);
}

Test(sharding, gateway_bot_errors_name_the_field)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"not json", "JSON"},
        {"[1]", "object"},
        {"{\"shards\":1}", "url"},
        {"{\"url\":7,\"shards\":1}", "url"},
        {"{\"url\":\"\",\"shards\":1}", "url"},
        {"{\"url\":\"wss://x\"}", "shards"},
        {"{\"url\":\"wss://x\",\"shards\":0}", "shards"},
        {"{\"url\":\"wss://x\",\"shards\":-1}", "shards"},
        {"{\"url\":\"wss://x\",\"shards\":1.5}", "shards"},
        {"{\"url\":\"wss://x\",\"shards\":1}", "session_start_limit"},
        {"{\"url\":\"wss://x\",\"shards\":1,\"session_start_limit\":{\"remaining\":1,"
         "\"reset_after\":1,\"max_concurrency\":1}}", "total"},
        {"{\"url\":\"wss://x\",\"shards\":1,\"session_start_limit\":{\"total\":1,"
         "\"remaining\":1,\"reset_after\":1,\"max_concurrency\":0}}", "max_concurrency"},
        {"{\"url\":\"wss://x\",\"shards\":99999999999,\"session_start_limit\":{}}", "shards"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dgw_gateway_bot g;
        const char *why = NULL;
        cr_assert_eq(dgw_parse_gateway_bot(bad[i].body, strlen(bad[i].body), &g, &why),
                     DGW_ERR_INVALID_ARGUMENT, "%s accepted", bad[i].body);
        cr_assert_not_null(why);
        cr_assert(strstr(why, bad[i].field), "%s: \"%s\" does not name %s", bad[i].body, why,
                  bad[i].field);
    }
    char longurl[400];
    int n = snprintf(longurl, sizeof longurl, "{\"url\":\"wss://%0300d\",\"shards\":1}", 0);
    dgw_gateway_bot g;
    const char *why;
    cr_assert_eq(dgw_parse_gateway_bot(longurl, (size_t)n, &g, &why), DGW_ERR_INVALID_ARGUMENT);
}
