/* What the scripted gateway says: payloads, dispatches numbered and kept
 * for replay, READY, HELLO. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "default_mode.h"
#include "rules.h"
#include "encoding.h"
#include "scenario_internal.h"
#include "util.h"

void mg_scn_send_text(mg_scenario_run *r, mg_scn_conn *sc, const char *json, size_t len, const mg_step *shape,
                      uint64_t now)
{
    mg_send_opts o = {.ping_len = -1};
    if (shape) {
        o.zpayload = shape->zpayload;
        o.message_splits = shape->message_splits;
        o.frame_splits = shape->frame_splits;
        o.write_splits = shape->write_splits;
        o.write_delay_ms = shape->write_delay_ms;
        if (shape->has_ping) {
            o.ping = (const uint8_t *)shape->ping;
            o.ping_len = (long)strlen(shape->ping);
        }
    }
    if (shape && shape->hold && sc->c && sc->c->fd >= 0) {
        /* Linux's TCP_CORK holds what is written from now on until a drop
         * ends TCP (or 200 ms pass): this payload, what follows and the
         * FIN leave in one segment, as if written at once. */
        int one = 1;
        setsockopt(sc->c->fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
        mg_transcript_add(&r->tr, now, sc->num, "..", "TCP corked: what follows leaves together");
    }
    mg_transcript_payload(&r->tr, now, sc->num, "->",
                          o.zpayload == MG_ZPAYLOAD_WHOLE       ? "(zlib) "
                          : o.zpayload == MG_ZPAYLOAD_TRUNCATED ? "(zlib, truncated) "
                          : o.zpayload == MG_ZPAYLOAD_TRAILING  ? "(zlib, trailing junk) "
                          : sc->c && sc->c->etf                 ? "(etf) "
                                                                : NULL,
                          json, len);
    if (!sc->c || mg_conn_send_payload(sc->c, json, len, shape ? &o : NULL) != 0)
        mg_transcript_add(&r->tr, now, sc->num, "..", "(connection not open: not sent)");
}

void mg_scn_send_str(mg_scenario_run *r, mg_scn_conn *sc, const char *json, uint64_t now)
{
    mg_scn_send_text(r, sc, json, strlen(json), NULL, now);
}

int mg_scn_new_session(mg_scenario_run *r)
{
    mg_scn_lane *L = r->lane;
    if (L->sess)
        mg_session_remove(&r->store, L->sess);
    L->sess = mg_session_create(&r->store, r->token, L->shard, mg_scn_reported_shards(r));
    if (L->sess && r->sc->session_id) /* options.session_id: not in sharded scenarios (the parser) */
        snprintf(L->sess->id, sizeof L->sess->id, "%s", r->sc->session_id);
    L->last_sent_seq = -1;
    L->nseq_times = 0;
    return L->sess ? 0 : -1;
}

/* Remembers when each seq went out, for lag-tolerant heartbeat checks. */
void mg_scn_note_seq_sent(mg_scenario_run *r, long seq, uint64_t now)
{
    if (r->lane->nseq_times == r->lane->capseq_times) {
        size_t nc = r->lane->capseq_times ? r->lane->capseq_times * 2 : 64;
        struct mg_seq_time *n = realloc(r->lane->seq_times, nc * sizeof *n);
        if (!n)
            return;
        r->lane->seq_times = n;
        r->lane->capseq_times = nc;
    }
    r->lane->seq_times[r->lane->nseq_times++] = (struct mg_seq_time){seq, now};
}

/* The newest seq sent at or before t (-1: none). */
long mg_scn_seq_sent_before(const mg_scenario_run *r, uint64_t t)
{
    long best = -1;
    for (size_t i = 0; i < r->lane->nseq_times; i++)
        if (r->lane->seq_times[i].at <= t && r->lane->seq_times[i].seq > best)
            best = r->lane->seq_times[i].seq;
    return best;
}

/* Sends (or withholds) a dispatch recorded in the session. */
void mg_scn_send_dispatch(mg_scenario_run *r, mg_scn_conn *sc, const char *t, const char *d, int withhold,
                          const mg_step *shape, uint64_t now)
{
    if (!r->lane->sess && mg_scn_new_session(r) != 0)
        return;
    mg_buf p = {0};
    long seq = mg_session_dispatch(r->lane->sess, t, d, &p);
    if (seq < 0) {
        mg_buf_free(&p);
        return;
    }
    if (withhold) {
        mg_transcript_add(&r->tr, now, sc->num, "..", "withheld dispatch s=%ld t=%s (the client missed it)", seq, t);
    } else {
        mg_scn_send_text(r, sc, (const char *)p.data, p.len, shape, now);
        /* A payload spoiled on purpose cannot be read: for the checks it
         * was never received, and a RESUME must get it replayed. */
        int spoiled = shape && (shape->zpayload == MG_ZPAYLOAD_TRUNCATED || shape->zpayload == MG_ZPAYLOAD_TRAILING);
        if (!spoiled) {
            r->lane->last_sent_seq = seq;
            mg_scn_note_seq_sent(r, seq, now);
        }
    }
    mg_buf_free(&p);
}

void mg_scn_send_ready(mg_scenario_run *r, mg_scn_conn *sc, int guilds, size_t size, const char *resume_url,
                       const mg_step *shape, uint64_t now)
{
    if (mg_scn_new_session(r) != 0)
        return;
    mg_buf d = {0};
    int v = sc->up.version ? sc->up.version : 10;
    const char *url = mg_scn_resume_url(r, resume_url);
    if (resume_url)
        mg_transcript_add(&r->tr, now, sc->num, "..", "READY names %s (%s) as resume_gateway_url", url, resume_url);
    /* guilds: the bot's; this shard gets those the routing formula gives it */
    int shard = r->lane->shard, shards = mg_scn_reported_shards(r);
    if (mg_build_ready(&d, v, r->lane->sess->id, url, guilds, shard, shards, size) == 0 && mg_buf_cstr(&d)) {
        mg_scn_send_dispatch(r, sc, "READY", (const char *)d.data, 0, shape, now);
        r->lane->readies++;
        for (int k = 0, i; (i = mg_shard_guild(guilds, shard, shards, k)) >= 0; k++) {
            mg_buf_reset(&d);
            if (mg_build_guild_create(&d, i) == 0 && mg_buf_cstr(&d))
                mg_scn_send_dispatch(r, sc, "GUILD_CREATE", (const char *)d.data, 0, NULL, now);
        }
    }
    mg_buf_free(&d);
}

void mg_scn_send_hello(mg_scenario_run *r, mg_scn_conn *sc, uint32_t interval, uint64_t now)
{
    char h[160];
    snprintf(h, sizeof h,
             "{\"op\":10,\"d\":{\"heartbeat_interval\":%u,\"_trace\":[\"mockgateway\"]},\"s\":null,\"t\":null}",
             interval ? interval : r->sc->heartbeat_interval);
    mg_scn_send_str(r, sc, h, now);
    sc->hello_sent = 1;
}

typedef struct replay_ctx {
    mg_scenario_run *r;
    mg_scn_conn *sc;
    uint64_t now;
} replay_ctx;

static void replay_cb(void *arg, const char *json, size_t len)
{
    replay_ctx *x = arg;
    mg_scn_send_text(x->r, x->sc, json, len, NULL, x->now);
}

void mg_scn_answer_resume(mg_scenario_run *r, mg_scn_conn *sc, long from, uint64_t now)
{
    replay_ctx x = {r, sc, now};
    mg_transcript_add(&r->tr, now, sc->num, "..", "replaying dispatches after s=%ld (session has %ld)", from, r->lane->sess->seq);
    mg_session_replay(r->lane->sess, from, replay_cb, &x);
    r->lane->last_sent_seq = r->lane->sess->seq;
    mg_scn_note_seq_sent(r, r->lane->sess->seq, now);
    mg_scn_send_dispatch(r, sc, "RESUMED", "{\"_trace\":[\"mockgateway\"]}", 0, NULL, now);
    r->lane->readies++;
}
