/*
 * app.h - dgw-shards' state: the shards, their buckets, the timers and the
 * loop. One thread owns all of it; nothing here is locked.
 */
#ifndef SHARDS_APP_H
#define SHARDS_APP_H

#include <dgw.h>
#include <stdbool.h>
#include <stdint.h>

#include "../threaded-client/transport.h"
#include "../threaded-client/trust.h"
#include "buckets.h"
#include "heap.h"
#include "options.h"
#include "resolve.h"

enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_FATAL_CLOSE = 2,
    EXIT_TLS = 3,
    EXIT_BUDGET = 4
};

#define CONNECT_TIMEOUT_MS 10000
/* The time a connection opened for an IDENTIFY is given to reach HELLO
 * before its turn (see buckets.h, connect_ahead). */
#define CONNECT_LEAD_MS 2000
/* The close handshake on the way out: libdgw's close timeout, and the
 * loop's own limit a little after it. */
#define CLOSE_TIMEOUT_MS 2000
#define STOP_GRACE_MS (CLOSE_TIMEOUT_MS + 1000)

/* Heap node kinds. */
enum { TIMER_SHARD, TIMER_BUCKET };

typedef enum shard_phase {
    PHASE_WAITING,    /* between attempts: start at start_at */
    PHASE_QUEUED,     /* will IDENTIFY: waits for a connect slot of its bucket */
    PHASE_CONNECTING, /* TCP connect in progress */
    PHASE_OPEN,       /* the socket is up: libdgw runs the attempt */
    PHASE_STOPPED     /* done: stopped, or a fatal close code */
} shard_phase;

typedef struct shard {
    uint32_t id;
    dgw_conn *conn;
    transport *t;             /* NULL unless CONNECTING or OPEN */
    shard_phase phase;
    uint64_t start_at;        /* WAITING */
    uint64_t connect_by;      /* CONNECTING: the connect timeout */
    uint64_t wanted_at;       /* when it asked for IDENTIFY */
    uint32_t epoll_mask;      /* events registered for t's socket */
    unsigned addr_turn;       /* which resolved address to try next */
    heap_node timer;
    bool wants_identify;      /* this attempt waits for a permit */
    bool in_permit_q, in_connect_q;
    bool admitted;            /* holds one of its bucket's connect slots */
    bool connected;           /* READY or RESUMED on this attempt */
    bool tls_logged;
} shard;

typedef struct app {
    options opt;
    const char *token;
    const char *gateway_url;
    uint32_t shard_count;     /* the bot's shard count */
    uint32_t first, n;        /* this process runs shards first..first+n-1 */
    shard *shards;
    pacer pacer;
    deadline_heap timers;
    resolver dns;
    trust_store trust;
    bool trust_loaded;
    int epfd;
    uint64_t loop_started, all_connected_at;
    uint32_t connected, stopped;
    uint64_t dispatches;
    bool stopping;
    uint64_t stop_by;
    int exit_status;          /* the first reason to stop decides; -1 none */
    bool fatal_seen;          /* a shard stopped on a fatal close code */
} app;

/* shard.c: the life of one shard. Each call leaves the shard's epoll
 * events and timer up to date. */
void shard_init(app *a, shard *s, uint32_t id, dgw_conn *conn);
/* A start is due (first start, or the backoff wait is over). */
void shard_go(app *a, shard *s, uint64_t now);
void shard_on_io(app *a, shard *s, uint32_t events, uint64_t now);
void shard_on_timer(app *a, shard *s, uint64_t now);
/* The bucket's turn: lets the waiting IDENTIFY go. Returns true when it
 * went (a session start was spent; call shard_settle() to write it);
 * false when the shard's connection no longer waits (it closed while
 * queued: the next one asks again). */
bool shard_permit(app *a, shard *s, uint64_t now);
/* After a call into the shard's dgw_conn: moves the bytes, handles the
 * events, re-arms its timer and epoll events. */
void shard_settle(app *a, shard *s, uint64_t now);
/* Stopping: close resumably (4900), or stop at once between attempts. */
void shard_stop(app *a, shard *s, uint64_t now);
/* The grace time is over: end the attempt where it stands. */
void shard_abandon(app *a, shard *s, uint64_t now);

/* loop.c */
int loop_run(app *a);
/* Stops every shard; the first reason given sets the exit status. */
void app_stop(app *a, int exit_status, uint64_t now);
/* A shard joined its bucket's permit queue, or a connect slot was freed. */
void app_bucket_changed(app *a, bucket *b, uint64_t now);
shard *app_shard(app *a, uint32_t index);

#endif
