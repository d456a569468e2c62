/* Sessions that outlive connections, so that RESUME can replay what the
 * client missed. Pure data structure: no sockets, times passed in. */
#ifndef MG_SESSION_H
#define MG_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct mg_dispatch_rec {
    long seq;
    char *json; /* the whole payload as sent */
    size_t len;
} mg_dispatch_rec;

typedef struct mg_session {
    char id[33];
    char token[128];
    int shard_id, shard_count;
    long seq;               /* last sequence number assigned */
    mg_dispatch_rec *hist;  /* ring of the last max_history dispatches */
    size_t hist_start, hist_n, hist_cap;
    uint64_t detached_at;   /* 0 while a connection owns the session */
    void *owner;            /* the connection using it, opaque here */
} mg_session;

typedef struct mg_session_store {
    mg_session **items;
    size_t n, cap;
    size_t max_history; /* dispatches kept per session for replay */
    uint64_t keep_ms;   /* how long a detached session stays resumable */
    size_t max_sessions;
} mg_session_store;

void mg_session_store_init(mg_session_store *st, size_t max_history, uint64_t keep_ms);
void mg_session_store_free(mg_session_store *st);
/* Creates a session with a random id; NULL on OOM. Evicts the oldest
 * detached session when the store is full. */
mg_session *mg_session_create(mg_session_store *st, const char *token, int shard_id, int shard_count);
mg_session *mg_session_find(mg_session_store *st, const char *id);
void mg_session_remove(mg_session_store *st, mg_session *s);
/* Drops detached sessions older than keep_ms. */
void mg_session_expire(mg_session_store *st, uint64_t now_ms);

/* Builds a dispatch payload with the next seq into out (appended) and keeps
 * it for replay. d_json is raw JSON text for d. Returns the seq or -1. */
long mg_session_dispatch(mg_session *s, const char *t, const char *d_json, mg_buf *out);

/* Numbers n dispatches that are sent but not kept (a scenario's stream)
 * and returns the first of their seqs. The history is emptied (when n >
 * 0): a replay from before them could no longer be complete. */
long mg_session_skip(mg_session *s, long n);
/* Keeps a dispatch built elsewhere (its s is the next seq) for replay: a
 * copy of json[0..len). Returns the seq or -1. */
long mg_session_keep(mg_session *s, const char *json, size_t len);

typedef enum { MG_REPLAY_OK = 0, MG_REPLAY_SEQ_AHEAD = -1, MG_REPLAY_SEQ_GONE = -2 } mg_replay_status;

/* Whether a RESUME at seq can be served: OK, SEQ_AHEAD (seq newer than the
 * session: INVALID_SESSION false), SEQ_GONE (dispatches after seq no longer
 * kept: close 4007). */
mg_replay_status mg_session_can_replay(const mg_session *s, long seq);
/* Calls cb for every kept dispatch with a seq greater than seq, in order. */
void mg_session_replay(const mg_session *s, long seq,
                       void (*cb)(void *arg, const char *json, size_t len), void *arg);

#endif
