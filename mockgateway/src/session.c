#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void mg_session_store_init(mg_session_store *st, size_t max_history, uint64_t keep_ms)
{
    memset(st, 0, sizeof *st);
    st->max_history = max_history ? max_history : 128;
    st->keep_ms = keep_ms;
    st->max_sessions = 100000;
}

static void hist_clear(mg_session *s)
{
    for (size_t i = 0; i < s->hist_n; i++)
        free(s->hist[(s->hist_start + i) % s->hist_cap].json);
    s->hist_start = s->hist_n = 0;
}

static void session_free(mg_session *s)
{
    hist_clear(s);
    free(s->hist);
    free(s);
}

void mg_session_store_free(mg_session_store *st)
{
    for (size_t i = 0; i < st->n; i++)
        session_free(st->items[i]);
    free(st->items);
    st->items = NULL;
    st->n = st->cap = 0;
}

static void remove_at(mg_session_store *st, size_t i)
{
    session_free(st->items[i]);
    st->items[i] = st->items[--st->n];
}

mg_session *mg_session_create(mg_session_store *st, const char *token, int shard_id, int shard_count)
{
    if (st->n >= st->max_sessions) {
        size_t oldest = st->n;
        for (size_t i = 0; i < st->n; i++)
            if (st->items[i]->detached_at &&
                (oldest == st->n || st->items[i]->detached_at < st->items[oldest]->detached_at))
                oldest = i;
        if (oldest == st->n)
            return NULL;
        remove_at(st, oldest);
    }
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 16;
        mg_session **ni = realloc(st->items, ncap * sizeof *ni);
        if (!ni)
            return NULL;
        st->items = ni;
        st->cap = ncap;
    }
    mg_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hist_cap = st->max_history;
    s->hist = calloc(s->hist_cap, sizeof *s->hist);
    if (!s->hist) {
        free(s);
        return NULL;
    }
    mg_random_hex(s->id, 16);
    size_t tl = strlen(token);
    if (tl >= sizeof s->token)
        tl = sizeof s->token - 1;
    memcpy(s->token, token, tl);
    s->shard_id = shard_id;
    s->shard_count = shard_count;
    st->items[st->n++] = s;
    return s;
}

mg_session *mg_session_find(mg_session_store *st, const char *id)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->items[i]->id, id) == 0)
            return st->items[i];
    return NULL;
}

void mg_session_remove(mg_session_store *st, mg_session *s)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->items[i] == s) {
            remove_at(st, i);
            return;
        }
}

void mg_session_expire(mg_session_store *st, uint64_t now_ms)
{
    for (size_t i = 0; i < st->n;) {
        mg_session *s = st->items[i];
        if (s->detached_at && now_ms - s->detached_at > st->keep_ms)
            remove_at(st, i);
        else
            i++;
    }
}

/* Appends a dispatch to the history ring (evicting the oldest when full);
 * json's ownership moves to it. */
static void hist_push(mg_session *s, long seq, char *json, size_t len)
{
    mg_dispatch_rec *slot;
    if (s->hist_n == s->hist_cap) {
        slot = &s->hist[s->hist_start];
        free(slot->json);
        s->hist_start = (s->hist_start + 1) % s->hist_cap;
    } else {
        slot = &s->hist[(s->hist_start + s->hist_n) % s->hist_cap];
        s->hist_n++;
    }
    slot->seq = seq;
    slot->len = len;
    slot->json = json;
}

long mg_session_dispatch(mg_session *s, const char *t, const char *d_json, mg_buf *out)
{
    mg_buf p = {0};
    long seq = s->seq + 1;
    if (mg_buf_printf(&p, "{\"op\":0,\"s\":%ld,\"t\":\"%s\",\"d\":%s}", seq, t, d_json) != 0 ||
        mg_buf_append(out, p.data, p.len) != 0) {
        mg_buf_free(&p);
        return -1;
    }
    s->seq = seq;
    hist_push(s, seq, (char *)p.data, p.len);
    return seq;
}

long mg_session_skip(mg_session *s, long n)
{
    long first = s->seq + 1;
    if (n > 0) {
        hist_clear(s);
        s->seq += n;
    }
    return first;
}

long mg_session_keep(mg_session *s, const char *json, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    hist_push(s, ++s->seq, copy, len);
    return s->seq;
}

mg_replay_status mg_session_can_replay(const mg_session *s, long seq)
{
    if (seq > s->seq)
        return MG_REPLAY_SEQ_AHEAD;
    if (seq < 0)
        return MG_REPLAY_SEQ_GONE;
    if (seq == s->seq)
        return MG_REPLAY_OK;
    /* The oldest kept dispatch must be seq+1 or earlier. */
    long oldest = s->hist_n ? s->hist[s->hist_start].seq : s->seq + 1;
    return oldest <= seq + 1 ? MG_REPLAY_OK : MG_REPLAY_SEQ_GONE;
}

void mg_session_replay(const mg_session *s, long seq,
                       void (*cb)(void *arg, const char *json, size_t len), void *arg)
{
    for (size_t i = 0; i < s->hist_n; i++) {
        const mg_dispatch_rec *r = &s->hist[(s->hist_start + i) % s->hist_cap];
        if (r->seq > seq)
            cb(arg, r->json, r->len);
    }
}
