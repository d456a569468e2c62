/* gateway.h - what a received gateway payload says (PROTOCOL.md 2-3).
 *
 * A leaf: it reads one payload and returns its parts and its meaning
 * (HELLO with its interval, READY with its session, INVALID_SESSION with
 * its flag...), judging the fields a client depends on. It keeps no state
 * and acts on nothing; conn.c turns the result into a transition. */
#ifndef DGW_GATEWAY_H
#define DGW_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgw.h"
#include "json.h"
#include "url.h"

/* Longer than any real interval (Discord sends ~41 s); anything above is a
 * broken or hostile server, and would park the connection for hours. */
#define DGW_HEARTBEAT_MAX_MS 600000u
#define DGW_SESSION_ID_MAX 128
#define DGW_RESUME_URL_MAX (DGW_URL_HOST_MAX + DGW_URL_PATH_MAX + 16)

typedef enum dgw_gw_kind {
    DGW_GW_DISPATCH,          /* op 0 */
    DGW_GW_HEARTBEAT_REQUEST, /* op 1 */
    DGW_GW_RECONNECT,         /* op 7 */
    DGW_GW_INVALID_SESSION,   /* op 9 */
    DGW_GW_HELLO,             /* op 10 */
    DGW_GW_ACK,               /* op 11 */
    DGW_GW_OTHER              /* any other op: reported, not acted on */
} dgw_gw_kind;

typedef enum dgw_gw_dispatch {
    DGW_GW_PLAIN,
    DGW_GW_READY,
    DGW_GW_RESUMED
} dgw_gw_dispatch;

typedef struct dgw_gw_msg {
    dgw_gw_kind kind;
    int op;
    int64_t seq;                  /* "s", -1 when null or absent */
    dgw_span t;                   /* raw "t" string with quotes; n 0: none */
    dgw_span d;                   /* raw "d"; "null" when absent */
    uint32_t heartbeat_interval;  /* HELLO */
    bool resumable;               /* INVALID_SESSION: d is true */
    dgw_gw_dispatch which;        /* DISPATCH: READY, RESUMED or other */
    char session_id[DGW_SESSION_ID_MAX];   /* READY */
    char resume_url[DGW_RESUME_URL_MAX];   /* READY; "" when absent/unusable */
} dgw_gw_msg;

/* Parses one payload p[0..n). DGW_OK, or DGW_ERR_PAYLOAD / DGW_ERR_HELLO /
 * DGW_ERR_READY with *why saying what is wrong. */
dgw_err dgw_gw_parse(const char *p, size_t n, dgw_gw_msg *m,
                     const char **why);

/* Unescapes the event name into out[0..cap) (NUL-terminated). Returns its
 * length, or -1 when it does not fit. */
long dgw_gw_name(const dgw_gw_msg *m, char *out, size_t cap);

#endif
