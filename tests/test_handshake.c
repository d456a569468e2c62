/* Handshake: the HTTP upgrade request, the 101 checks, rejected upgrades,
 * malformed responses, timeouts, and the pure helpers behind them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(handshake, .fini = teardown);

/* The accept value of a correct 101 for the pending request. */
static void correct_accept(char out[29])
{
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    const char *a = strstr(resp, "Sec-WebSocket-Accept: ");
    cr_assert_not_null(a);
    a += strlen("Sec-WebSocket-Accept: ");
    memcpy(out, a, 28);
    out[28] = '\0';
}

static void expect_closed_with(dgw_err err)
{
    cr_assert_eq(T.last_recv, err, "recv returned %ld (%s), want %d; last error: %s",
                 T.last_recv, dgw_strerror((int)T.last_recv), err,
                 dgw_conn_last_error(T.c));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "no DGW_EV_CLOSED");
    cr_assert_eq(e->error, err, "CLOSED carries %d", e->error);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0, "no last_error text");
    cr_assert_eq(ts_count_events(&T, DGW_EV_UPGRADED), 0);
    /* No WebSocket yet: nothing may be written after the request. */
    cr_assert_eq(T.nout, 0, "client wrote a frame before the upgrade");
}

Test(handshake, zlib_stream_request_has_compress_query)
{
    ts_init(&T, DGW_COMPRESS_ZLIB_STREAM);
    ts_start(&T);
    cr_assert(strstr(T.request,
                     "GET /?v=10&encoding=json&compress=zlib-stream HTTP/1.1\r\n"),
              "%s", T.request);
}

#ifdef DGW_HAVE_ZSTD
Test(handshake, zstd_stream_request_has_compress_query)
{
    ts_init(&T, DGW_COMPRESS_ZSTD_STREAM);
    ts_start(&T);
    cr_assert(strstr(T.request,
                     "GET /?v=10&encoding=json&compress=zstd-stream HTTP/1.1\r\n"),
              "%s", T.request);
}
#endif

Test(handshake, path_and_port_kept_query_replaced)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.url = "ws://gateway.test:8080/gw/sub?v=6&encoding=etf#frag";
    ts_recreate(&T);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_str_eq(ep.host, "gateway.test");
    cr_assert_eq(ep.port, 8080);
    cr_assert(!ep.tls);
    ts_start(&T);
    cr_assert(strstr(T.request, "GET /gw/sub?v=10&encoding=json HTTP/1.1\r\n"),
              "%s", T.request);
    cr_assert(strstr(T.request, "\r\nHost: gateway.test:8080\r\n"), "%s",
              T.request);
    cr_assert_null(strstr(T.request, "etf"));
}

Test(handshake, wss_default_port_not_in_host_header)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.url = "wss://gateway.discord.gg";
    ts_recreate(&T);
    dgw_endpoint ep;
    dgw_conn_endpoint(T.c, &ep);
    cr_assert_eq(ep.port, 443);
    cr_assert(ep.tls);
    ts_start(&T);
    cr_assert(strstr(T.request, "GET /?v=10&encoding=json HTTP/1.1\r\n"));
    cr_assert(strstr(T.request, "\r\nHost: gateway.discord.gg\r\n"), "%s",
              T.request);
}

Test(handshake, key_is_16_random_bytes_base64_and_changes)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    const char *k = strstr(T.request, "Sec-WebSocket-Key: ");
    cr_assert_not_null(k);
    k += strlen("Sec-WebSocket-Key: ");
    size_t kl = strcspn(k, "\r");
    cr_assert_eq(kl, 24);
    cr_assert_eq(k[22], '=');
    cr_assert_eq(k[23], '=');
    char first[25];
    memcpy(first, k, 24);
    first[24] = 0;
    cr_assert_eq(dgw_conn_close(T.c, 4000, NULL, T.now), DGW_OK);
    ts_collect(&T);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    uint32_t wait;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &wait), DGW_OK);
    ts_start(&T);
    k = strstr(T.request, "Sec-WebSocket-Key: ") + strlen("Sec-WebSocket-Key: ");
    cr_assert_neq(strncmp(first, k, 24), 0, "same key on a new attempt");
}

Test(handshake, rejected_401_with_body_reports_status_headers_body)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    const char *r = "HTTP/1.1 401 Unauthorized\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 27\r\n"
                    "\r\n"
                    "{\"message\":\"401: nope\"}xxxx";
    ts_feed(&T, r, strlen(r));
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_REJECTED);
    cr_assert_eq(e->http_status, 401);
    cr_assert_str_eq(e->headers,
                     "Content-Type: application/json\r\nContent-Length: 27\r\n");
    cr_assert_str_eq(e->body, "{\"message\":\"401: nope\"}xxxx");
    long ri = ts_find_event(&T, DGW_EV_REJECTED, 0);
    long ci = ts_find_event(&T, DGW_EV_CLOSED, 0);
    cr_assert(ci > ri, "CLOSED must follow REJECTED");
    cr_assert_eq(T.ev[ci].error, DGW_ERR_REJECTED);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    cr_assert(strstr(dgw_conn_last_error(T.c), "401"), "%s",
              dgw_conn_last_error(T.c));
}

Test(handshake, rejected_429_body_split_and_cut_at_content_length)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    const char *head = "HTTP/1.1 429 Too Many Requests\r\n"
                       "Retry-After: 5\r\n"
                       "Content-Length: 10\r\n\r\n";
    ts_feed(&T, head, strlen(head));
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 0,
                 "delivered before the body was complete");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_UPGRADING);
    ts_feed_split(&T, "0123456789EXTRA", 15, 3);
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_REJECTED);
    cr_assert_eq(e->http_status, 429);
    cr_assert(strstr(e->headers, "Retry-After: 5\r\n"));
    cr_assert_str_eq(e->body, "0123456789");
    const ts_event *c = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(c);
    cr_assert_eq(c->error, DGW_ERR_REJECTED);
}

Test(handshake, rejected_503_without_length_ends_at_eof)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    const char *r = "HTTP/1.1 503 Service Unavailable\r\n"
                    "Server: test\r\n\r\n"
                    "upstream ";
    ts_feed(&T, r, strlen(r));
    ts_feed(&T, "down", 4);
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 0);
    ts_eof(&T);
    cr_assert_eq(ts_count_events(&T, DGW_EV_REJECTED), 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_REJECTED);
    cr_assert_eq(e->http_status, 503);
    cr_assert_str_eq(e->headers, "Server: test\r\n");
    cr_assert_str_eq(e->body, "upstream down");
    const ts_event *c = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(c);
    cr_assert_eq(c->error, DGW_ERR_REJECTED);
    cr_assert_eq(ts_count_events(&T, DGW_EV_CLOSED), 1);
}

Test(handshake, rejected_body_capped_at_max_http_body_size)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.max_http_body_size = 16;
    ts_recreate(&T);
    ts_start(&T);
    const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 40\r\n\r\n"
                    "0123456789abcdefghijklmnopqrstuvwxyzABCD";
    ts_feed(&T, r, strlen(r));
    const ts_event *e = ts_last_event(&T, DGW_EV_REJECTED);
    cr_assert_not_null(e);
    cr_assert_eq(e->body_len, 16);
    cr_assert_str_eq(e->body, "0123456789abcdef");
}

static void feed_101_variant(const char *fmt_accept, bool upgrade, bool connection)
{
    char acc[29];
    correct_accept(acc);
    char resp[1024];
    int n = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\n%s%s",
                     upgrade ? "Upgrade: websocket\r\n" : "",
                     connection ? "Connection: Upgrade\r\n" : "");
    if (fmt_accept)
        n += snprintf(resp + n, sizeof resp - (size_t)n,
                      "Sec-WebSocket-Accept: %s\r\n",
                      strcmp(fmt_accept, "OK") == 0 ? acc : fmt_accept);
    snprintf(resp + n, sizeof resp - (size_t)n, "\r\n");
    ts_feed(&T, resp, strlen(resp));
}

Test(handshake, wrong_accept_is_handshake_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    feed_101_variant("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", true, true);
    expect_closed_with(DGW_ERR_HANDSHAKE);
    cr_assert(strstr(dgw_conn_last_error(T.c), "Accept"), "%s",
              dgw_conn_last_error(T.c));
}

Test(handshake, missing_accept_is_handshake_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    feed_101_variant(NULL, true, true);
    expect_closed_with(DGW_ERR_HANDSHAKE);
}

Test(handshake, missing_upgrade_is_handshake_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    feed_101_variant("OK", false, true);
    expect_closed_with(DGW_ERR_HANDSHAKE);
    cr_assert(strstr(dgw_conn_last_error(T.c), "Upgrade"));
}

Test(handshake, missing_connection_is_handshake_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    feed_101_variant("OK", true, false);
    expect_closed_with(DGW_ERR_HANDSHAKE);
    cr_assert(strstr(dgw_conn_last_error(T.c), "Connection"));
}

Test(handshake, connection_token_list_and_case_accepted)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    char acc[29];
    correct_accept(acc);
    char resp[512];
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\n"
             "upgrade: WebSocket\r\n"
             "connection: keep-alive, upgrade\r\n"
             "sec-websocket-accept:   %s  \r\n\r\n",
             acc);
    ts_feed(&T, resp, strlen(resp));
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_WAIT_HELLO, "%s",
                 dgw_conn_last_error(T.c));
    cr_assert_eq(ts_count_events(&T, DGW_EV_UPGRADED), 1);
}

Test(handshake, headers_over_max_are_too_large)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.max_http_header_size = 1024;
    ts_recreate(&T);
    ts_start(&T);
    char acc[29];
    correct_accept(acc);
    char big[1500];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char resp[4096];
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nX-Pad: %s\r\nSec-WebSocket-Accept: %s\r\n\r\n",
             big, acc);
    ts_feed(&T, resp, strlen(resp));
    expect_closed_with(DGW_ERR_HTTP_TOO_LARGE);
}

Test(handshake, endless_header_trickle_is_too_large)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.max_http_header_size = 512;
    ts_recreate(&T);
    ts_start(&T);
    const char *l = "HTTP/1.1 101 Switching Protocols\r\n";
    ts_feed(&T, l, strlen(l));
    for (int i = 0; i < 100 && dgw_conn_state(T.c) == DGW_STATE_UPGRADING; i++)
        ts_feed(&T, "X-A: b\r\n", 8);
    expect_closed_with(DGW_ERR_HTTP_TOO_LARGE);
}

Test(handshake, garbage_instead_of_http)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    ts_feed(&T, "SSH-2.0-OpenSSH_9.2\r\n", 21);
    expect_closed_with(DGW_ERR_HTTP);
}

Test(handshake, garbage_detected_without_newline)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    ts_feed(&T, "\x16\x03\x01\x02\x00", 5); /* a TLS record, no newline */
    expect_closed_with(DGW_ERR_HTTP);
}

Test(handshake, malformed_status_line)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    ts_feed(&T, "HTTP/1.1 1O1 Switching\r\n\r\n", 26);
    expect_closed_with(DGW_ERR_HTTP);
}

static size_t response_with_hello(char *buf, size_t cap)
{
    char resp[512];
    ts_build_101(&T, resp, sizeof resp);
    size_t n = strlen(resp);
    cr_assert_lt(n, cap);
    memcpy(buf, resp, n);
    const char *hello = "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}";
    n += ts_frame((uint8_t *)buf + n, true, 1, hello, strlen(hello), NULL);
    const char *ack = "{\"op\":11}";
    n += ts_frame((uint8_t *)buf + n, true, 1, ack, strlen(ack), NULL);
    return n;
}

Test(handshake, upgrade_and_frames_in_one_recv)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    char buf[1024];
    size_t n = response_with_hello(buf, sizeof buf);
    ts_feed(&T, buf, n);
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(ts_count_events(&T, DGW_EV_UPGRADED), 1);
    cr_assert_eq(ts_count_events(&T, DGW_EV_HELLO), 1);
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
    cr_assert(ts_find_event(&T, DGW_EV_UPGRADED, 0) <
              ts_find_event(&T, DGW_EV_HELLO, 0));
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_IDENTIFYING);
}

Test(handshake, upgrade_and_frames_one_byte_at_a_time)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    char buf[1024];
    size_t n = response_with_hello(buf, sizeof buf);
    ts_feed_split(&T, buf, n, 1);
    cr_assert_eq(T.last_recv, 0);
    cr_assert_eq(ts_count_events(&T, DGW_EV_UPGRADED), 1);
    cr_assert_eq(ts_count_events(&T, DGW_EV_HELLO), 1);
    cr_assert_eq(ts_count_events(&T, DGW_EV_HEARTBEAT_ACK), 1);
    cr_assert_eq(ts_count_op(&T, 2, 0), 1);
}

Test(handshake, upgrade_timeout)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_start(&T);
    ts_feed(&T, "HTTP/1.1 101 Sw", 15);
    cr_assert_eq(dgw_conn_next_timeout(T.c), T.now + 30000);
    ts_advance(&T, 29999);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_UPGRADING);
    ts_advance(&T, 1);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_TIMEOUT);
    cr_assert_gt(strlen(dgw_conn_last_error(T.c)), 0);
    cr_assert_eq(T.nout, 0);
}

Test(handshake, hello_timeout)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    T.cfg.handshake_timeout_ms = 5000;
    ts_recreate(&T);
    ts_connect(&T);
    ts_advance(&T, 4999);
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_WAIT_HELLO);
    ts_advance(&T, 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert_eq(e->error, DGW_ERR_TIMEOUT);
    cr_assert_not_null(ts_last_close(&T), "no close frame on an open socket");
    uint16_t code = ts_close_code_of(ts_last_close(&T));
    cr_assert(code != 1000 && code != 1001, "code %u", code);
}

Test(handshake, recv_before_start_is_state_error)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    cr_assert_eq(dgw_conn_recv(T.c, (const uint8_t *)"x", 1, T.now),
                 DGW_ERR_STATE);
    ts_start(&T);
    cr_assert_eq(dgw_conn_start(T.c, T.now), DGW_ERR_STATE);
}

/* ---- pure functions ---- */

Test(handshake, ws_accept_rfc6455_sample)
{
    char out[DGW_WS_ACCEPT_LEN + 1];
    dgw_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(handshake, base64_padding)
{
    char out[16];
    dgw_base64((const uint8_t *)"f", 1, out);
    cr_assert_str_eq(out, "Zg==");
    dgw_base64((const uint8_t *)"fo", 2, out);
    cr_assert_str_eq(out, "Zm8=");
    dgw_base64((const uint8_t *)"foo", 3, out);
    cr_assert_str_eq(out, "Zm9v");
    dgw_base64((const uint8_t *)"foobar", 6, out);
    cr_assert_str_eq(out, "Zm9vYmFy");
}

static int parse(const char *s, dgw_http_response *r, const char **why)
{
    *why = NULL;
    return dgw_http_parse_response((const uint8_t *)s, strlen(s), r, why);
}

Test(handshake, parse_response_complete_head)
{
    dgw_http_response r;
    const char *why;
    const char *s = "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nFRAMES";
    cr_assert_eq(parse(s, &r, &why), 1, "%s", why ? why : "");
    cr_assert_eq(r.status, 101);
    cr_assert_eq(r.head_len, strlen(s) - strlen("FRAMES"));
    cr_assert_eq(r.fields_off, strlen("HTTP/1.1 101 Switching Protocols\r\n"));
    cr_assert(r.upgrade_websocket);
    cr_assert(r.connection_upgrade);
    cr_assert(r.has_accept);
    cr_assert_str_eq(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    cr_assert_eq(r.content_length, -1);
    cr_assert_null(dgw_http_check_upgrade(&r, "dGhlIHNhbXBsZSBub25jZQ=="));
    cr_assert_not_null(dgw_http_check_upgrade(&r, "AAAAAAAAAAAAAAAAAAAAAA=="));
}

Test(handshake, parse_response_incomplete_needs_more)
{
    dgw_http_response r;
    const char *why;
    cr_assert_eq(parse("HTTP/1", &r, &why), 0);
    cr_assert_eq(parse("HTTP/1.1 101 Switching", &r, &why), 0);
    cr_assert_eq(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n", &r, &why), 0);
    cr_assert_eq(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r", &r, &why), 0);
}

Test(handshake, parse_response_malformed)
{
    dgw_http_response r;
    const char *why;
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "HTTP/2 101 OK\r\n\r\n",
        "HTTP/1.1 101OK\r\n\r\n",
        "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1 101 OK\n\r\n",
        "HTTP/1.1 101 OK\r\nNo-Colon\r\n\r\n",
        "HTTP/1.1 101 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 101 OK\r\nA: b\r\n folded\r\n\r\n",
        "HTTP/1.1 101 OK\r\nA: b\n\r\n",
        "HTTP/1.1 400 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 400 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: a\r\nSec-WebSocket-Accept: a\r\n\r\n",
        "HTTP/1.1 101 OK\r\nA: b\x01\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(parse(bad[i], &r, &why), -1, "accepted: %s", bad[i]);
        cr_expect_not_null(why, "no reason for: %s", bad[i]);
    }
}

Test(handshake, parse_response_content_length_and_status)
{
    dgw_http_response r;
    const char *why;
    cr_assert_eq(parse("HTTP/1.0 429 Too Many\r\nContent-Length: 123\r\n"
                       "Content-Length: 123\r\n\r\n",
                       &r, &why),
                 1);
    cr_assert_eq(r.status, 429);
    cr_assert_eq(r.content_length, 123);
    cr_assert_str_eq(dgw_http_check_upgrade(&r, "x") ? "fail" : "ok", "fail");
}

Test(handshake, check_upgrade_refuses_unoffered_extension)
{
    dgw_http_response r;
    const char *why;
    const char *s = "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    cr_assert_eq(parse(s, &r, &why), 1);
    cr_assert_not_null(dgw_http_check_upgrade(&r, "dGhlIHNhbXBsZSBub25jZQ=="));
}
