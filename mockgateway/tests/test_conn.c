/* One connection's machinery driven from memory (tests/memio.c): the
 * per-turn budget and the ready list, the output caps, decisions made
 * inside wslay's callbacks. The server is detached: no sockets, no epoll;
 * mg_server_step() runs turns. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"
#include "memio.h"
#include "util.h"
#include "wsclient.h"

static struct app {
    int messages, pongs, opened;
    int close_on_message; /* close code to send on the first message, 0 none */
} app;

static int a_upgrade(void *a, mg_conn *c, const mg_http_request *req, const mg_upgrade_info *up)
{
    (void)a, (void)c, (void)req, (void)up;
    return 0;
}
static void a_open(void *a, mg_conn *c) { (void)c, ((struct app *)a)->opened++; }
static void a_message(void *a, mg_conn *c, int op, const uint8_t *d, size_t n)
{
    (void)op, (void)d, (void)n;
    struct app *x = a;
    x->messages++;
    if (x->close_on_message)
        mg_conn_close(c, x->close_on_message, "decided in a callback");
}
static void a_pong(void *a, mg_conn *c, const uint8_t *d, size_t n) { (void)c, (void)d, (void)n, ((struct app *)a)->pongs++; }
static const mg_app_ops ops = {a_upgrade, a_open, a_message, a_pong, NULL, NULL, NULL, NULL};

static mg_server srv;

static void setup(void)
{
    memset(&app, 0, sizeof app);
    mg_server_config cfg = {.listen = "memory", .log = {.level = MG_LOG_ERROR}, .max_total_output = 1u << 20};
    mg_server_init_detached(&srv, &cfg);
    mg_server_set_app(&srv, &ops, &app);
}

static void teardown(void) { mg_server_free(&srv); }

/* A connection through the upgrade; its transport drains everything. */
static mg_conn *open_conn(mg_memio *m)
{
    memset(m, 0, sizeof *m);
    m->room = SIZE_MAX;
    mg_conn *c = mg_memio_connect(&srv, m);
    cr_assert_not_null(c);
    static const char req[] = "GET /?v=10&encoding=json HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    mg_memio_push(c, req, sizeof req - 1);
    mg_server_step(&srv, 0);
    cr_assert_eq(c->state, MG_CONN_WS);
    cr_assert(memmem(m->out.data, m->out.len, "101 Switching Protocols", 23));
    return c;
}

static void push_frames(mg_conn *c, int first_byte, const char *payload, int count)
{
    size_t pl = payload ? strlen(payload) : 0;
    uint8_t *buf = malloc((size_t)count * (pl + 14));
    size_t n = 0;
    for (int i = 0; i < count; i++)
        n += tws_frame(buf + n, first_byte, payload, pl, 1);
    mg_memio_push(c, buf, n);
    free(buf);
}

TestSuite(conn, .init = setup, .fini = teardown, .timeout = 30);

Test(conn, a_flood_yields_after_its_budget_and_resumes_next_turn)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    push_frames(c, 0x8a, NULL, 100); /* 100 pongs in one read */
    cr_assert_eq(app.pongs, (int)MG_TURN_FRAMES, "one turn hands wslay %u frames, got %d", MG_TURN_FRAMES, app.pongs);
    cr_assert(c->scheduled, "the rest waits on the ready list (epoll would not report it again)");
    mg_server_step(&srv, 0);
    cr_assert_eq(app.pongs, 2 * (int)MG_TURN_FRAMES);
    for (int i = 0; i < 10; i++)
        mg_server_step(&srv, 0);
    cr_assert_eq(app.pongs, 100);
    cr_assert_not(c->scheduled);
    mg_memio_free(&m);
}

Test(conn, every_frame_takes_a_credit_then_1008)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    push_frames(c, 0x8a, NULL, (int)MG_FRAME_BURST + 10);
    for (int i = 0; i < (int)(MG_FRAME_BURST / MG_TURN_FRAMES) + 10; i++)
        mg_server_step(&srv, 0);
    cr_assert_leq(app.pongs, (int)MG_FRAME_BURST + 1, "credits refill at %u/s only", MG_FRAME_RATE);
    static const uint8_t close1008[] = {0x88, 0x11, 0x03, 0xf0};
    cr_assert(memmem(m.out.data, m.out.len, close1008, sizeof close1008), "close 1008 \"too many frames\"");
    cr_assert(m.shut_write, "then FIN: the stream cannot be trusted after a flood");
    mg_memio_free(&m);
}

/* The crash of issue 12 at the unit level: the app closes inside wslay's
 * message callback with 300 more frames in the same read. */
Test(conn, a_close_decided_in_a_callback_waits_for_wslay_to_return)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    app.close_on_message = 4004;
    push_frames(c, 0x81, "{\"op\":1,\"d\":null}", 301);
    for (int i = 0; i < 40; i++)
        mg_server_step(&srv, 0);
    cr_assert_eq(c->state, MG_CONN_CLOSING);
    static const uint8_t close4004[] = {0x88, 0x17, 0x0f, 0xa4};
    uint8_t *at = memmem(m.out.data, m.out.len, close4004, sizeof close4004);
    cr_assert_not_null(at, "close 4004 sent");
    cr_assert_null(memmem(at + 4, m.out.len - (size_t)(at + 4 - m.out.data), "\x88", 1), "exactly one close frame");
    mg_memio_free(&m);
}

/* Output: many connections each under their own cap must not add up. */
Test(conn, output_over_the_total_cap_cuts_the_largest_backlog)
{
    mg_memio m[3];
    mg_conn *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = open_conn(&m[i]);
        m[i].room = 0; /* the client reads nothing from now on */
    }
    static char big[100000];
    memset(big, 'x', sizeof big);
    size_t sizes[3] = {6, 3, 2}; /* x 100 KB: 1.1 MB in all, the cap is 1 MiB */
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            mg_conn_send_payload(c[i], big, sizeof big, NULL);
    cr_assert(c[0]->dead && c[0]->server_fault, "the largest backlog is cut, as the server's fault");
    cr_assert_not(c[1]->dead || c[2]->dead);
    cr_assert_leq(srv.out_total, 1u << 20);
    for (int i = 0; i < 3; i++)
        mg_memio_free(&m[i]);
}

Test(conn, a_client_not_reading_its_output_is_not_read)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    m.room = 0;
    srv.cfg.max_total_output = 4u << 20; /* this one is about a single connection */
    static char big[200000];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 6; i++) /* 1.2 MB: over MG_OUTPUT_HIGH_WATER */
        mg_conn_send_payload(c, big, sizeof big, NULL);
    push_frames(c, 0x89, "ping", 10);
    mg_server_step(&srv, 0);
    cr_assert_eq(mg_buf_avail(&m.in), 10 * (4 + 6), "pings that would add pongs stay unread");
    m.room = SIZE_MAX;
    mg_conn_on_event(c, EPOLLOUT);
    mg_server_step(&srv, 0);
    cr_assert_eq(mg_buf_avail(&m.in), 0, "read again once the output drained");
    mg_memio_free(&m);
}

Test(conn, a_client_that_reads_nothing_for_10_s_is_cut)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    m.room = 0;
    mg_conn_send_payload(c, "{}", 2, NULL);
    uint64_t t = c->output_progress_ms;
    mg_conn_sweep(c, t + MG_WRITE_STALL_MS - 1);
    cr_assert_not(c->dead);
    mg_conn_sweep(c, t + MG_WRITE_STALL_MS);
    cr_assert(c->dead && c->server_fault);
    mg_memio_free(&m);
}

/* A scenario's close step with drop: the close frame, then FIN right
 * behind it; from a timer, outside any wslay callback. */
Test(conn, close_then_drop_sends_the_close_frame_before_fin)
{
    mg_memio m;
    mg_conn *c = open_conn(&m);
    mg_conn_close(c, 4004, "Authentication failed.");
    mg_conn_drop(c);
    mg_server_step(&srv, 0);
    static const uint8_t close4004[] = {0x88, 0x18, 0x0f, 0xa4};
    cr_assert_not_null(memmem(m.out.data, m.out.len, close4004, sizeof close4004), "the close frame went out");
    cr_assert(m.shut_write, "then FIN");
    mg_memio_free(&m);
}
