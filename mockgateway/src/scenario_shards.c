/* Lanes, and what only sharded scenarios do (scenarios/README.md,
 * "Sharded scenarios"):
 *   - each shard's script is a lane: the connection entries that include
 *     the shard, played in order beside the other lanes;
 *   - a connection is accepted and greeted with HELLO as it arrives, and
 *     joins a lane when its IDENTIFY (d.shard) or RESUME (d.session_id)
 *     names the shard;
 *   - every IDENTIFY is held to the buckets (one per shard_id %
 *     max_concurrency per window) and to the budget of session starts;
 *   - a restart step waits for every lane, then asks the runner;
 *   - at the end: every shard got READY (or RESUMED), and a summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "scenario_internal.h"

int mg_scn_reported_shards(const mg_scenario_run *r)
{
    return mg_scn_sharded(r) ? r->sc->shards.gateway_bot_shards : 1;
}

int mg_scn_lane_shard(const mg_scenario_run *r) { return r->lane ? r->lane->shard : 0; }

const char *mg_scn_shard_tag(const mg_scenario_run *r) { return r->lane ? r->lane->tag : ""; }

int mg_scn_lanes_init(mg_scenario_run *r)
{
    const mg_scenario *sc = r->sc;
    r->nlanes = mg_scn_sharded(r) ? (size_t)sc->shards.count : 1;
    r->lanes = calloc(r->nlanes, sizeof *r->lanes);
    if (!r->lanes)
        return -1;
    for (size_t k = 0; k < r->nlanes; k++) {
        mg_scn_lane *L = &r->lanes[k];
        L->shard = (int)k;
        if (mg_scn_sharded(r))
            snprintf(L->tag, sizeof L->tag, "shard %d", L->shard);
        L->awaiting = 1;
        L->step_start = r->t0;
        L->ack_auto = 1;
        L->last_sent_seq = -1;
        L->entries = calloc(sc->nconns + 1, sizeof *L->entries);
        if (!L->entries)
            return -1;
        for (size_t i = 0; i < sc->nconns; i++)
            if (!sc->conns[i].shard_mask || (sc->conns[i].shard_mask >> k & 1))
                L->entries[L->nentries++] = i;
    }
    const mg_scenario_shards *sh = &sc->shards;
    if (!mg_scn_sharded(r)) /* reported by /gateway/bot, never checked */
        return mg_start_limits_init(&r->starts, 1, 0, 1000, 1000, 86400000, 86400000, r->t0);
    return mg_start_limits_init(&r->starts, sh->max_concurrency, sh->identify_window_ms, sh->total, sh->remaining,
                                sh->reset_after_ms, 86400000, r->t0);
}

void mg_scn_lanes_free(mg_scenario_run *r)
{
    for (size_t k = 0; r->lanes && k < r->nlanes; k++) {
        free(r->lanes[k].entries);
        free(r->lanes[k].seq_times);
    }
    free(r->lanes);
    r->lanes = NULL;
    mg_start_limits_free(&r->starts);
    free(r->idents);
}

void mg_scn_open_sharded(mg_scenario_run *r, mg_scn_conn *sc, uint64_t now)
{
    mg_transcript_add(&r->tr, now, sc->num, "..", "client connected: GET /?%s", sc->query);
    if (mg_scn_check_upgrade(r, sc, now) != RUN_DONE || !sc->c)
        return;
    mg_conn_accept(sc->c);
    sc->opened = 1;
    mg_scn_send_hello(r, sc, 0, now);
}

/* d.shard of an IDENTIFY: 1 and [*id, *count] when given, 0 when absent,
 * -1 when it is not two integers. */
static int shard_field(const cJSON *p, int *id, int *count)
{
    const cJSON *s = mg_json_pointer(p, "/d/shard");
    if (!s)
        return 0;
    const cJSON *a = cJSON_GetArrayItem(s, 0), *b = cJSON_GetArrayItem(s, 1);
    if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
        a->valuedouble != (int)a->valuedouble || b->valuedouble != (int)b->valuedouble)
        return -1;
    *id = (int)a->valuedouble;
    *count = (int)b->valuedouble;
    return 1;
}

static void join_lane(mg_scenario_run *r, mg_scn_conn *sc, int lane, const char *why, uint64_t now)
{
    sc->lane = lane;
    r->lane = &r->lanes[lane];
    mg_transcript_add(&r->tr, now, sc->num, "..", "connection #%d is shard %d's (%s)", sc->num, lane, why);
}

static int route_resume(mg_scenario_run *r, mg_scn_conn *sc, const cJSON *p, uint64_t now)
{
    const cJSON *sid = mg_json_pointer(p, "/d/session_id");
    for (size_t k = 0; sc->lane < 0 && k < r->nlanes; k++)
        if (r->lanes[k].sess && cJSON_IsString(sid) && strcmp(r->lanes[k].sess->id, sid->valuestring) == 0)
            join_lane(r, sc, (int)k, "RESUME of its session", now);
    if (sc->lane < 0) {
        char *s = mg_scn_show(sid);
        mg_scn_failf(r, now, "connection #%d RESUMEs session %s, which no shard of this scenario has (PROTOCOL.md 3.4)",
                     sc->num, s);
        free(s);
        return RUN_FAIL;
    }
    r->lanes[sc->lane].resumes++;
    return RUN_DONE;
}

static void note_identify(mg_scenario_run *r, int shard, int bucket, int conn, uint64_t now)
{
    if (r->nidents == r->capidents) {
        size_t ncap = r->capidents ? r->capidents * 2 : 32;
        mg_scn_identify *n = realloc(r->idents, ncap * sizeof *n);
        if (!n)
            return;
        r->idents = n;
        r->capidents = ncap;
    }
    r->idents[r->nidents++] = (mg_scn_identify){now, shard, bucket, conn};
}

/* The buckets and the budget, as Discord holds every IDENTIFY to them. */
static int check_session_start(mg_scenario_run *r, mg_scn_conn *sc, int shard, uint64_t now)
{
    const mg_scenario_shards *sh = &r->sc->shards;
    struct mg_bucket_last prev;
    mg_start_verdict v = mg_start_check(&r->starts, shard, now, &prev);
    int bucket = mg_start_bucket(&r->starts, shard);
    note_identify(r, shard, bucket, sc->num, now);
    char before[96] = "none";
    if (prev.used)
        snprintf(before, sizeof before, "shard %d at %llu ms, %llu ms before", prev.shard,
                 (unsigned long long)(prev.at - r->t0), (unsigned long long)(now - prev.at));
    mg_transcript_add(&r->tr, now, sc->num, "..", "IDENTIFY of shard %d (bucket %d of %d) at %llu ms; the bucket's "
                      "previous: %s", shard, bucket, sh->max_concurrency, (unsigned long long)(now - r->t0), before);
    if (v == MG_START_TOO_SOON) {
        /* What Discord answers (PROTOCOL.md 5), for the transcript's reader. */
        mg_scn_send_str(r, sc, "{\"op\":9,\"d\":false,\"s\":null,\"t\":null}", now);
        return mg_scn_failf(r, now, "bucket %d got two IDENTIFYs %llu ms apart: shard %d at %llu ms (connection #%ld) "
                            "and shard %d at %llu ms (connection #%d); max_concurrency %d allows one per bucket "
                            "(shard_id %% %d) per %u ms (PROTOCOL.md 5; Discord answers INVALID_SESSION d=false)",
                            bucket, (unsigned long long)(now - prev.at), prev.shard,
                            (unsigned long long)(prev.at - r->t0), prev.tag, shard,
                            (unsigned long long)(now - r->t0), sc->num, sh->max_concurrency, sh->max_concurrency,
                            sh->identify_window_ms);
    }
    if (v == MG_START_BUDGET_SPENT) {
        for (size_t i = 0; i < r->nconns; i++) /* what Discord does: every session ends */
            if (r->conns[i]->c && mg_conn_is_open(r->conns[i]->c))
                mg_conn_close(r->conns[i]->c, MG_CLOSE_AUTH_FAILED, mg_close_reason(MG_CLOSE_AUTH_FAILED));
        return mg_scn_failf(r, now, "IDENTIFY of shard %d with no session start left (GET /gateway/bot said %u of %u "
                            "remaining): Discord ends every session and resets the token (PROTOCOL.md 5)",
                            shard, sh->remaining, sh->total);
    }
    mg_start_spend(&r->starts, shard, sc->num, now);
    return RUN_DONE;
}

int mg_scn_route(mg_scenario_run *r, mg_scn_conn *sc, int op, const cJSON *p, uint64_t now)
{
    if (op == 6)
        return sc->lane >= 0 ? (r->lanes[sc->lane].resumes++, RUN_DONE) : route_resume(r, sc, p, now);
    int id = 0, count = 1;
    int has = shard_field(p, &id, &count);
    if (has < 0) {
        char *s = mg_scn_show(mg_json_pointer(p, "/d/shard"));
        mg_scn_failf(r, now, "IDENTIFY d.shard must be [shard_id, num_shards] (PROTOCOL.md 5), got %s", s);
        free(s);
        return RUN_FAIL;
    }
    if (sc->lane < 0) {
        if (id < 0 || id >= (int)r->nlanes) {
            mg_transcript_add(&r->tr, now, sc->num, "->", "CLOSE 4010: shard [%d,%d] is not one of this gateway's %zu "
                              "(as Discord does)", id, count, r->nlanes);
            if (sc->c)
                mg_conn_close(sc->c, MG_CLOSE_INVALID_SHARD, mg_close_reason(MG_CLOSE_INVALID_SHARD));
            return RUN_WAIT;
        }
        join_lane(r, sc, id, has ? "its IDENTIFY's shard" : "an IDENTIFY without shard: [0, 1]", now);
    }
    r->lane = &r->lanes[sc->lane];
    r->lane->identifies++;
    return check_session_start(r, sc, r->lane->shard, now);
}

void mg_scn_restart_barrier(mg_scenario_run *r, uint64_t now)
{
    if (r->restart_wanted)
        return;
    uint32_t grace = 0;
    for (size_t k = 0; k < r->nlanes; k++) {
        const mg_scn_lane *L = &r->lanes[k];
        if (L->done)
            continue;
        if (L->restart_wait != r->restarts + 1)
            return; /* a lane still plays */
        grace = L->restart_grace_ms > grace ? L->restart_grace_ms : grace;
    }
    r->restart_wanted = 1;
    r->restart_grace_ms = grace;
    mg_transcript_add(&r->tr, now, 0, "..", "restart %u: the client is stopped (SIGTERM, %u ms to exit) and started "
                      "again with the same arguments", r->restarts + 1, grace);
}

/* Per bucket: when its IDENTIFYs came and the closest two. */
static void bucket_summary(mg_scenario_run *r, int bucket, uint64_t now)
{
    char line[512];
    size_t o = 0, n = 0;
    uint64_t last = 0, closest = UINT64_MAX;
    for (size_t i = 0; i < r->nidents; i++) {
        const mg_scn_identify *e = &r->idents[i];
        if (e->bucket != bucket)
            continue;
        if (n++ && e->at - last < closest)
            closest = e->at - last;
        last = e->at;
        if (o < sizeof line - 40)
            o += (size_t)snprintf(line + o, sizeof line - o, "%s%llu ms (shard %d)", n > 1 ? ", " : "",
                                  (unsigned long long)(e->at - r->t0), e->shard);
    }
    if (!n)
        return;
    if (closest == UINT64_MAX)
        mg_transcript_add(&r->tr, now, 0, "..", "bucket %d: IDENTIFY at %s", bucket, line);
    else
        mg_transcript_add(&r->tr, now, 0, "..", "bucket %d: IDENTIFYs at %s; the closest two %llu ms apart (window "
                          "%u ms)", bucket, line, (unsigned long long)closest, r->sc->shards.identify_window_ms);
}

int mg_scn_complete(mg_scenario_run *r, uint64_t now)
{
    if (!mg_scn_sharded(r))
        return RUN_DONE;
    r->lane = NULL;
    for (size_t k = 0; k < r->nlanes; k++) {
        const mg_scn_lane *L = &r->lanes[k];
        int conns = 0;
        for (size_t i = 0; i < r->nconns; i++)
            conns += r->conns[i]->lane == (int)k;
        mg_transcript_add(&r->tr, now, 0, "..", "shard %d: %d connection(s), %u IDENTIFY, %u RESUME, %u READY or "
                          "RESUMED", L->shard, conns, L->identifies, L->resumes, L->readies);
    }
    for (int b = 0; b < r->starts.max_concurrency; b++)
        bucket_summary(r, b, now);
    for (size_t k = 0; k < r->nlanes && r->sc->shards.all_ready; k++)
        if (!r->lanes[k].readies)
            return mg_scn_failf(r, now, "shard %zu never got READY or RESUMED; every shard must (shards.all_ready)",
                                k);
    return RUN_DONE;
}

void mg_scn_gateway_bot(void *app, uint64_t now, mg_gateway_bot *out)
{
    mg_scenario_run *r = app;
    memset(out, 0, sizeof *out);
    out->status = 200;
    out->shards = mg_scn_reported_shards(r);
    out->max_concurrency = r->starts.max_concurrency;
    out->total = r->starts.total;
    out->remaining = mg_start_remaining(&r->starts, now, &out->reset_after_ms);
}
