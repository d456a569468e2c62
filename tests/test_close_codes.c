/* Close codes sent by the server (PROTOCOL.md section 4): fatal or not,
 * resume or identify, and the names. One test case per code. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static ts T;

static void teardown(void) { ts_free(&T); }

TestSuite(close_codes, .fini = teardown);

typedef struct code_case {
    uint16_t code;
    bool fatal;
    bool new_session; /* the next attempt must IDENTIFY */
} code_case;

/* PROTOCOL.md section 4, written out independently of errors.c. 4003 also
 * means "this session has been invalidated" (Discord's table), so it starts
 * a new session, as discord.js does. */
static const code_case table[] = {
    {4000, false, false}, {4001, false, false}, {4002, false, false},
    {4003, false, true},  {4004, true, true},   {4005, false, false},
    {4007, false, true},  {4008, false, false}, {4009, false, true},
    {4010, true, true},   {4011, true, true},   {4012, true, true},
    {4013, true, true},   {4014, true, true},
    /* Outside 4000-4999: reconnect and resume. */
    {1000, false, false}, {1001, false, false}, {1011, false, false},
    {1012, false, false}, {3000, false, false}, {3999, false, false},
    {4999, false, false},
};

static void check_code(const code_case *k)
{
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish_stable(&T, 41250);
    ts_dispatch(&T, 3, "X", "{}");
    ts_server_close(&T, k->code, "reason");
    cr_assert_eq(dgw_conn_state(T.c), DGW_STATE_CLOSED, "code %u", k->code);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e, "code %u: no CLOSED", k->code);
    cr_assert_eq(e->close_code, k->code);
    cr_assert(e->by_server);
    cr_assert_eq(e->fatal, k->fatal, "code %u: fatal=%d", k->code, e->fatal);
    cr_assert_eq(e->error, DGW_OK);
    cr_assert_str_eq(e->reason, "reason");
    cr_assert_eq(dgw_close_code_is_fatal(k->code), k->fatal, "code %u", k->code);
    cr_assert_eq(e->resumable, !k->new_session, "code %u: resumable=%d", k->code,
                 e->resumable);
    /* The client echoed the close. */
    cr_assert_eq(ts_close_code_of(ts_last_close(&T)), k->code);

    uint32_t wait = 12345;
    dgw_err r = dgw_conn_reconnect(T.c, T.now, &wait);
    if (k->fatal) {
        cr_assert_eq(r, DGW_ERR_FATAL_CLOSE, "code %u: reconnect gave %d", k->code, r);
        char num[8];
        snprintf(num, sizeof num, "%u", k->code);
        cr_assert(strstr(dgw_conn_last_error(T.c), num), "last_error %s lacks %s",
                  dgw_conn_last_error(T.c), num);
        cr_assert_eq(dgw_conn_reconnect(T.c, T.now + 60000, &wait), DGW_ERR_FATAL_CLOSE,
                     "fatal must stick");
        return;
    }
    cr_assert_eq(r, DGW_OK, "code %u: reconnect gave %d", k->code, r);
    cr_assert_eq(wait, 0, "code %u: first retry after a working session waits %u",
                 k->code, wait);
    ts_connect(&T);
    size_t from = T.nout;
    ts_hello(&T, 41250);
    if (k->new_session) {
        cr_assert_eq(ts_count_op(&T, 6, from), 0, "code %u: RESUMEd", k->code);
        cr_assert_eq(ts_count_op(&T, 2, from), 1, "code %u: no IDENTIFY", k->code);
    } else {
        cr_assert_eq(ts_count_op(&T, 2, from), 0, "code %u: IDENTIFYed", k->code);
        const ts_frame_out *rs = ts_last_op(&T, 6);
        cr_assert_not_null(rs, "code %u: no RESUME", k->code);
        cr_assert(strstr(rs->payload, "\"seq\":3"), "%s", rs->payload);
        cr_assert(strstr(T.request, "Host: resume.test\r\n"));
    }
}

ParameterizedTestParameters(close_codes, each_code)
{
    return cr_make_param_array(code_case, table, sizeof table / sizeof table[0]);
}

ParameterizedTest(code_case *k, close_codes, each_code)
{
    check_code(k);
}

/* The same, as one loop over the table, so a run lists every failing code
 * in one place. */
Test(close_codes, whole_table_in_one_run)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        check_code(&table[i]);
        ts_free(&T);
    }
    ts_init(&T, DGW_COMPRESS_NONE);
}

Test(close_codes, fatal_4004_forbids_reconnect)
{
    code_case k = {4004, true, true};
    check_code(&k);
    /* And start() without reconnect() is not a way around it. */
    cr_assert_neq(dgw_conn_start(T.c, T.now), DGW_OK);
}

Test(close_codes, fatal_4014_forbids_reconnect)
{
    code_case k = {4014, true, true};
    check_code(&k);
}

Test(close_codes, code_4006_is_not_in_the_table)
{
    cr_assert_null(dgw_close_code_name(4006), "4006 is not a gateway close code");
    cr_assert(!dgw_close_code_is_fatal(4006));
    cr_assert(dgw_close_code_keeps_session(4006));
}

Test(close_codes, names_for_table_codes)
{
    for (size_t i = 0; i < 14; i++) {
        const char *n = dgw_close_code_name(table[i].code);
        cr_expect_not_null(n, "no name for %u", table[i].code);
        if (n)
            cr_expect_gt(strlen(n), 0);
    }
    cr_assert_str_eq(dgw_close_code_name(4004), "authentication failed");
    cr_assert_null(dgw_close_code_name(1000));
    cr_assert_null(dgw_close_code_name(4015));
    cr_assert_null(dgw_close_code_name(0));
}

Test(close_codes, keeps_session_table)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        cr_expect_eq(dgw_close_code_keeps_session(table[i].code), !table[i].new_session,
                     "code %u", table[i].code);
}

Test(close_codes, fatal_close_during_identify)
{
    /* 4004 answers IDENTIFY before any READY. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_connect(&T);
    ts_hello(&T, 41250);
    ts_server_close(&T, 4004, "Authentication failed.");
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(e->fatal);
    cr_assert(!e->resumable);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_ERR_FATAL_CLOSE);
}

Test(close_codes, client_side_error_close_is_not_fatal)
{
    /* Our own 1002 (server broke the protocol) must not count as the
     * server's verdict. */
    ts_init(&T, DGW_COMPRESS_NONE);
    ts_establish(&T, 41250);
    ts_send_frame(&T, true, 3, "x", 1);
    const ts_event *e = ts_last_event(&T, DGW_EV_CLOSED);
    cr_assert_not_null(e);
    cr_assert(!e->fatal);
    uint32_t w;
    cr_assert_eq(dgw_conn_reconnect(T.c, T.now, &w), DGW_OK);
}
