/* Lifecycle: upgrade, HELLO, IDENTIFY, READY, heartbeats, resume. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(lifecycle, .fini = teardown);

Test(lifecycle, upgrade_request_asks_for_v10_json)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    cr_assert(strstr(T.request, "GET /?v=10&encoding=json HTTP/1.1\r\n"));
    cr_assert(strstr(T.request, "\r\nHost: gateway.test\r\n"));
    cr_assert(strstr(T.request, "\r\nUpgrade: websocket\r\n"));
    cr_assert(strstr(T.request, "\r\nConnection: Upgrade\r\n"));
    cr_assert(strstr(T.request, "\r\nSec-WebSocket-Version: 13\r\n"));
    cr_assert(strstr(T.request, "\r\nSec-WebSocket-Key: "));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_UPGRADING);
}

Test(lifecycle, hello_then_identify_with_token_and_properties)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_hello(&T, 41250);
    const ts_event *h = ts_last_event(&T, DGW_EV_HELLO);
    cr_assert_not_null(h);
    cr_assert_eq(h->interval, 41250);
    const ts_frame_out *id = ts_last_op(&T, 2);
    cr_assert_not_null(id);
    cr_assert(strstr(id->payload, "\"token\":\"secret-token\""));
    cr_assert(strstr(id->payload, "\"intents\":513"));
    cr_assert(strstr(id->payload, "\"properties\":{\"os\":\"linux\""));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
}

Test(lifecycle, ready_stores_session_and_resume_url)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    cr_assert_str_eq(dgw_conn_session_id(T.c), "sess-1");
    cr_assert_str_eq(dgw_conn_resume_url(T.c), "ws://resume.test/");
    cr_assert_eq(dgw_conn_last_seq(T.c), 1);
    const ts_event *r = ts_last_event(&T, DGW_EV_DISPATCH);
    cr_assert_str_eq(r->name, "READY");
    cr_assert_eq(r->seq, 1);
}

Test(lifecycle, heartbeats_for_an_hour_with_acks)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    size_t from = T.nout;
    for (int i = 0; i < 3600000 / 41250; i++) {
        ts_advance(&T, 41250);
        ts_send_json(&T, "{\"op\":11}");
    }
    size_t beats = ts_count_op(&T, 1, from);
    cr_assert(beats >= 86 && beats <= 88, "beats=%zu", beats);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
    cr_assert_str_eq(ts_last_op(&T, 1)->payload, "{\"op\":1,\"d\":1}");
}

Test(lifecycle, missing_ack_is_a_zombie_closed_with_resumable_code)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 1000);
    ts_advance(&T, 1000); /* first beat (jittered) */
    cr_assert_geq(ts_count_op(&T, 1, 0), 1);
    ts_advance(&T, 1000); /* next beat due, no ACK */
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_ZOMBIE);
    cr_assert(e->resumable);
    uint16_t code = ts_close_code_of(ts_last_close(&T));
    cr_assert(code != 1000 && code != 1001 && code != 0, "code %u", code);
}

Test(lifecycle, resume_after_drop_uses_resume_url_and_seq)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_dispatch(&T, 7, "MESSAGE_CREATE", "{\"id\":\"5\"}");
    ts_eof(&T);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_eq(e->close_code, 1006);
    cr_assert(e->resumable);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    cr_assert_eq(wait, 0);
    ts_start(&T);
    cr_assert(strstr(T.request, "Host: resume.test\r\n"));
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    ts_feed(&T, resp, strlen(resp));
    size_t from = T.nout;
    ts_hello(&T, 41250);
    cr_assert_eq(ts_count_op(&T, 2, from), 0, "identified instead of resuming");
    const ts_frame_out *r = ts_last_op(&T, 6);
    cr_assert_not_null(r);
    cr_assert(strstr(r->payload, "\"session_id\":\"sess-1\""));
    cr_assert(strstr(r->payload, "\"seq\":7"));
    ts_dispatch(&T, 8, "RESUMED", "{}");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CONNECTED);
}
