/* The scenario engine: steps in order, connections in order, the verdict;
 * and the server callbacks that feed it. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_mode.h"
#include "rules.h"
#include "scenario_internal.h"
#include "util.h"

static uint64_t rel(const mg_scenario_run *r, uint64_t now) { return now >= r->t0 ? now - r->t0 : 0; }

__attribute__((format(printf, 3, 4))) int mg_scn_failf(mg_scenario_run *r, uint64_t now, const char *fmt, ...)
{
    if (r->done)
        return RUN_FAIL;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char where[96] = ""; /* "shard K: connections[i].steps[j] (type)" */
    mg_scn_where(r, where, sizeof where);
    char *safe = mg_redact(msg, strlen(msg), r->tr.secrets);
    snprintf(r->failure, sizeof r->failure, "at %llu ms, %s%s%s", (unsigned long long)rel(r, now), where,
             where[0] ? ": " : "", safe ? safe : msg);
    free(safe);
    mg_transcript_add(&r->tr, now, r->lane && r->lane->cur ? r->lane->cur->num : 0, "!!", "MISMATCH %s", r->failure);
    r->failed = 1;
    r->done = 1;
    return RUN_FAIL;
}

/* The connection entry the lane is at (NULL past its last). */
static const mg_scenario_conn *lane_entry(const mg_scenario_run *r, const mg_scn_lane *L)
{
    return L->ci < L->nentries ? &r->sc->conns[L->entries[L->ci]] : NULL;
}

/* Where the lane being played is, for messages: "[shard K: ]connections[i]...". */
void mg_scn_where(const mg_scenario_run *r, char *out, size_t n)
{
    const mg_scn_lane *L = r->lane;
    if (!L)
        return;
    const mg_scenario_conn *ce = lane_entry(r, L);
    int k = snprintf(out, n, "%s%s", L->tag, L->tag[0] && ce ? ": " : "");
    if (!ce || k < 0 || (size_t)k >= n)
        return;
    if (L->awaiting)
        snprintf(out + k, n - (size_t)k, "connections[%zu] (waiting for the connection)", L->entries[L->ci]);
    else if (L->si < ce->nsteps)
        snprintf(out + k, n - (size_t)k, "connections[%zu].steps[%zu] (%s)", L->entries[L->ci], L->si,
                 mg_step_kind_name(ce->steps[L->si].kind));
}

static const mg_step *cur_step(const mg_scenario_run *r)
{
    const mg_scenario_conn *ce = lane_entry(r, r->lane);
    if (r->lane->awaiting || !ce || r->lane->si >= ce->nsteps)
        return NULL;
    return &ce->steps[r->lane->si];
}

static int lane_index(const mg_scenario_run *r) { return (int)(r->lane - r->lanes); }

/* The first connection of the lane being played that its script has not taken. */
mg_scn_conn *mg_scn_first_pending(mg_scenario_run *r)
{
    for (size_t i = 0; i < r->nconns; i++)
        if (r->conns[i]->pending && !r->conns[i]->gone && r->conns[i]->lane == lane_index(r))
            return r->conns[i];
    return NULL;
}

/* Any connection of the lane being played that its script did not take,
 * arrived since `since` or still open. */
mg_scn_conn *mg_scn_unexpected_conn(mg_scenario_run *r, uint64_t since)
{
    for (size_t i = 0; i < r->nconns; i++) {
        const mg_scn_conn *sc = r->conns[i];
        if (sc->pending && sc->lane == lane_index(r) && (!sc->gone || sc->arrived >= since))
            return r->conns[i];
    }
    return NULL;
}

/* Checks the upgrade of a connection the script takes, and opens it
 * unless the connection's first step rejects it. */
int mg_scn_take_conn(mg_scenario_run *r, mg_scn_conn *sc, int accept, uint64_t now)
{
    sc->pending = 0;
    r->lane->cur = sc;
    if (mg_scn_sharded(r)) /* checked and opened when it arrived */
        return RUN_DONE;
    mg_transcript_add(&r->tr, now, sc->num, "..", "client connected: GET /?%s", sc->query);
    if (mg_scn_check_upgrade(r, sc, now) != RUN_DONE)
        return RUN_FAIL;
    if (accept && sc->c) {
        mg_conn_accept(sc->c);
        sc->opened = 1;
    }
    return RUN_DONE;
}

/* What the scenario asks of every upgrade: compression, version, encoding. */
int mg_scn_check_upgrade(mg_scenario_run *r, const mg_scn_conn *sc, uint64_t now)
{
    if (r->sc->compress) {
        const char *want = r->sc->compress;
        int ok = (sc->up.compress == MG_COMPRESS_ZLIB && !strcmp(want, "zlib-stream")) ||
                 (sc->up.compress == MG_COMPRESS_ZSTD && !strcmp(want, "zstd-stream"));
        if (!ok)
            return mg_scn_failf(r, now, "the client must ask for compress=%s (scenario option; client_args tell it), "
                                 "its query was \"%s\"", want, sc->query);
    }
    if (r->sc->version ? sc->up.version != r->sc->version : (sc->up.version != 9 && sc->up.version != 10))
        return mg_scn_failf(r, now, "gateway version ?v=%d, want %s (PROTOCOL.md 1)", sc->up.version,
                     r->sc->version == 10 ? "10" : r->sc->version == 9 ? "9" : "9 or 10");
    const char *enc = sc->up.encoding[0] ? sc->up.encoding : "json";
    if (r->sc->encoding ? strcmp(enc, r->sc->encoding) != 0 : strcmp(enc, "json") != 0 && strcmp(enc, "etf") != 0)
        return mg_scn_failf(r, now, "encoding=%s, want %s (PROTOCOL.md 1; client_args tell the client)", enc,
                            r->sc->encoding ? r->sc->encoding : "json or etf");
    return RUN_DONE;
}

int mg_scn_client_gone_fail(mg_scenario_run *r, uint64_t now, const char *what)
{
    if (r->client_exited && now >= r->client_exit_at + 1000)
        return mg_scn_failf(r, now, "the client exited (status %d) while the scenario waited for %s", r->client_status,
                     what);
    return RUN_WAIT;
}

int mg_scn_wait_until(mg_scenario_run *r, uint64_t deadline)
{
    mg_server_wake_at(r->srv, deadline);
    return RUN_WAIT;
}

int mg_scn_need_cur(mg_scenario_run *r, uint64_t now)
{
    if (!r->lane->cur)
        return mg_scn_failf(r, now, "no connection");
    if (r->lane->cur->gone || r->lane->cur->close_code)
        return mg_scn_failf(r, now, "the client closed the connection (close code %d%s) before this step",
                     r->lane->cur->close_code, r->lane->cur->close_code ? "" : ": TCP dropped");
    return RUN_DONE;
}

/* A connection the client must not make: it was asked for something it
 * has to refuse (e.g. payload compression with zlib-stream). */
static int run_absent(mg_scenario_run *r, const mg_scenario_conn *ce, uint64_t now)
{
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, 0, "??", "expect %s%sNO connection for %u ms (the client must refuse its "
                          "arguments)", mg_scn_shard_tag(r), mg_scn_sharded(r) ? ": " : "", ce->absent_ms);
        r->lane->phase = 1;
    }
    mg_scn_conn *n = mg_scn_first_pending(r);
    if (n)
        return mg_scn_failf(r, now, "the client connected (GET /?%s) but must refuse what its arguments ask for",
                            n->query);
    if (now >= r->lane->step_start + ce->absent_ms)
        return RUN_DONE;
    return mg_scn_wait_until(r, r->lane->step_start + ce->absent_ms);
}

static int run_await(mg_scenario_run *r, uint64_t now)
{
    const mg_scenario_conn *ce = lane_entry(r, r->lane);
    if (ce->absent_ms)
        return run_absent(r, ce, now);
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, 0, "??", "expect %s%sconnection %zu within %u ms%s", mg_scn_shard_tag(r),
                          mg_scn_sharded(r) ? ": its " : "", r->lane->ci + 1, ce->within_ms,
                          ce->min_delay_ms ? " (not sooner than the minimum delay)" : "");
        if (ce->min_delay_ms)
            mg_transcript_add(&r->tr, now, 0, "??", "minimum delay %u ms", ce->min_delay_ms);
        r->lane->phase = 1;
    }
    mg_scn_conn *n = mg_scn_first_pending(r);
    if (n) {
        uint64_t waited = n->arrived > r->lane->step_start ? n->arrived - r->lane->step_start : 0;
        if (waited < ce->min_delay_ms)
            return mg_scn_failf(r, now, "the client reconnected after %llu ms, want at least %u ms (backoff, PROTOCOL.md 3.10)",
                         (unsigned long long)waited, ce->min_delay_ms);
        int reject_first = ce->nsteps > 0 && ce->steps[0].kind == MG_STEP_REJECT;
        if (mg_scn_take_conn(r, n, !reject_first, now) != RUN_DONE)
            return RUN_FAIL;
        mg_transcript_add(&r->tr, now, n->num, "..", "connection %zu arrived %llu ms after the previous step",
                          r->lane->ci + 1, (unsigned long long)waited);
        return RUN_DONE;
    }
    if (now >= r->lane->step_start + ce->within_ms)
        return mg_scn_failf(r, now, "the client did not connect within %u ms", ce->within_ms);
    int g = mg_scn_client_gone_fail(r, now, "a connection");
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + ce->within_ms) : g;
}

/* Delayed heartbeat ACKs (ack_mode delay_ms) that are due. */
static void send_due_acks(mg_scenario_run *r, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nacks; i++) {
        if (r->acks[i].due > now) {
            r->acks[k++] = r->acks[i];
            continue;
        }
        mg_scn_conn *sc = r->acks[i].sc;
        if (sc->c && !sc->gone)
            mg_scn_send_str(r, sc, "{\"op\":11,\"d\":null,\"s\":null,\"t\":null}", now);
    }
    r->nacks = k;
    if (k)
        mg_server_wake_at(r->srv, r->acks[0].due);
}

static void answer_heartbeat(mg_scenario_run *r, mg_scn_conn *sc, uint64_t now)
{
    /* ack_mode belongs to a lane; a connection no lane has taken yet is ACKed */
    const mg_scn_lane *L = sc->lane >= 0 ? &r->lanes[sc->lane] : NULL;
    if (L && !L->ack_auto) {
        mg_transcript_add(&r->tr, now, sc->num, "..", "(heartbeat ACK withheld)");
        return;
    }
    if (!L || !L->ack_delay_ms) {
        mg_scn_send_str(r, sc, "{\"op\":11,\"d\":null,\"s\":null,\"t\":null}", now);
        return;
    }
    if (r->nacks == r->capacks) {
        size_t ncap = r->capacks ? r->capacks * 2 : 16;
        struct mg_pending_ack *n = realloc(r->acks, ncap * sizeof *n);
        if (!n) {
            mg_scn_failf(r, now, "out of memory");
            return;
        }
        r->acks = n;
        r->capacks = ncap;
    }
    r->acks[r->nacks++] = (struct mg_pending_ack){sc, now + L->ack_delay_ms};
    mg_server_wake_at(r->srv, r->acks[0].due);
}

/* limits.identify_interval_ms: IDENTIFYs on any connections spaced out. */
static void check_identify_interval(mg_scenario_run *r, uint64_t now)
{
    uint32_t gap = r->sc->identify_interval_ms;
    if (gap && r->last_identify_at && now - r->last_identify_at < gap)
        mg_scn_failf(r, now, "two IDENTIFYs %llu ms apart; at most one per %u ms (PROTOCOL.md 5: "
                             "max_concurrency 1 allows one IDENTIFY per 5 s)",
                     (unsigned long long)(now - r->last_identify_at), gap);
    r->last_identify_at = now;
}

/* Plays the lane r->lane as far as it goes now. Returns whether it moved. */
static int advance_lane(mg_scenario_run *r, uint64_t now)
{
    mg_scn_lane *L = r->lane;
    int moved = 0;
    while (!r->done && !L->done) {
        int rc;
        if (L->awaiting && !lane_entry(r, L)) {
            rc = RUN_DONE; /* a lane without entries: nothing to play */
        } else if (L->awaiting) {
            rc = run_await(r, now);
        } else {
            const mg_step *st = cur_step(r);
            rc = st ? mg_scn_run_step(r, st, now) : RUN_DONE;
        }
        if (rc != RUN_DONE)
            return moved;
        moved = 1;
        /* next step */
        L->phase = 0;
        L->counter = 0;
        L->step_start = now;
        if (L->awaiting && lane_entry(r, L)) {
            L->awaiting = 0;
            L->si = 0;
        } else if (!L->awaiting) {
            L->si++;
        }
        while (!L->awaiting && L->si >= lane_entry(r, L)->nsteps) {
            L->ci++;
            L->awaiting = 1;
        }
        if (!lane_entry(r, L)) {
            L->done = 1;
            if (mg_scn_sharded(r))
                mg_transcript_add(&r->tr, now, 0, "..", "shard %d: its script is complete", L->shard);
        }
    }
    return moved;
}

static void advance(mg_scenario_run *r, uint64_t now)
{
    send_due_acks(r, now);
    if (!r->done)
        mg_scn_check_downgrade(r, now);
    int moved = 1, all_done = 0;
    while (!r->done && moved) {
        if (now > r->t0 + r->sc->timeout_ms) {
            r->lane = NULL;
            mg_scn_failf(r, now, "scenario timeout (%u ms) reached", r->sc->timeout_ms);
            break;
        }
        moved = 0;
        all_done = 1;
        for (size_t i = 0; i < r->nlanes && !r->done; i++) {
            r->lane = &r->lanes[i];
            moved |= advance_lane(r, now);
            all_done &= r->lane->done;
        }
        if (!r->done && !all_done)
            mg_scn_restart_barrier(r, now);
    }
    if (!r->done && all_done && mg_scn_complete(r, now) == RUN_DONE) {
        r->done = 1;
        mg_transcript_add(&r->tr, now, 0, "..", "scenario complete: every expectation held");
    }
    /* Messages from the callbacks name the single lane's position. */
    r->lane = r->nlanes == 1 ? &r->lanes[0] : NULL;
}

static mg_scn_conn *conn_of(mg_conn *c) { return c->app_data; }

static int sr_on_upgrade(void *app, mg_conn *c, const mg_http_request *req, const mg_upgrade_info *up)
{
    (void)req;
    mg_scenario_run *r = app;
    uint64_t now = mg_now_ms();
    if (r->done) {
        mg_conn_reject(c, 503, NULL, "no scenario is running\n");
        return 1;
    }
    if (r->nconns == r->capconns) {
        size_t ncap = r->capconns ? r->capconns * 2 : 8;
        mg_scn_conn **nc = realloc(r->conns, ncap * sizeof *nc);
        uint64_t *na = realloc(r->arrivals, ncap * sizeof *na);
        if (nc)
            r->conns = nc;
        if (na)
            r->arrivals = na;
        if (!nc || !na) {
            mg_conn_fail(c, "out of memory");
            return 1;
        }
        r->capconns = ncap;
    }
    mg_scn_conn *sc = calloc(1, sizeof *sc);
    if (!sc) {
        mg_conn_fail(c, "out of memory");
        return 1;
    }
    sc->c = c;
    sc->num = (int)r->nconns + 1;
    sc->arrived = now;
    sc->pending = 1;
    sc->lane = mg_scn_sharded(r) ? -1 : 0;
    sc->up = *up;
    snprintf(sc->query, sizeof sc->query, "%s", c->query);
    c->app_data = sc;
    r->conns[r->nconns++] = sc;
    r->arrivals[r->narrivals++] = now;
    if (mg_scn_sharded(r))
        mg_scn_open_sharded(r, sc, now);
    if (r->sc->max_connections) {
        size_t inwin = 0;
        for (size_t i = 0; i < r->narrivals; i++)
            inwin += r->arrivals[i] + r->sc->connections_window_ms > now;
        if (inwin > r->sc->max_connections)
            mg_scn_failf(r, now, "%zu connection attempts within %u ms, at most %u allowed (reconnect backoff, PROTOCOL.md 3.10)",
                  inwin, r->sc->connections_window_ms, r->sc->max_connections);
    }
    advance(r, now);
    return 1; /* the script answers the upgrade */
}

static void sr_on_open(void *app, mg_conn *c)
{
    (void)app;
    mg_scn_conn *sc = conn_of(c);
    if (sc)
        sc->opened = 1;
}

static void count_command(mg_scenario_run *r, mg_scn_conn *sc, uint64_t now)
{
    unsigned max = r->sc->max_commands ? r->sc->max_commands : MG_RATE_LIMIT;
    uint32_t win = r->sc->max_commands ? r->sc->commands_window_ms : MG_RATE_WINDOW_MS;
    if (!sc->cmd_times) {
        sc->cmd_times = calloc(max + 1, sizeof *sc->cmd_times);
        if (!sc->cmd_times)
            return;
    }
    /* keep the times inside the window, in order */
    size_t k = 0;
    for (size_t i = 0; i < sc->ncmd; i++)
        if (sc->cmd_times[i] + win > now)
            sc->cmd_times[k++] = sc->cmd_times[i];
    sc->ncmd = k;
    if (sc->ncmd >= max) {
        mg_scn_failf(r, now, "the client sent more than %u commands within %u ms (PROTOCOL.md 5: the gateway closes 4008)",
              max, win);
        return;
    }
    sc->cmd_times[sc->ncmd++] = now;
}

static void sr_on_message(void *app, mg_conn *c, int opcode, const uint8_t *data, size_t len)
{
    mg_scenario_run *r = app;
    mg_scn_conn *sc = conn_of(c);
    uint64_t now = mg_now_ms();
    if (!sc)
        return;
    if (sc->lane >= 0)
        r->lane = &r->lanes[sc->lane]; /* a mismatch names its lane's position */
    mg_transcript_payload(&r->tr, now, sc->num, "<-", c->etf && opcode == MG_WS_BINARY ? "(etf) "
                                                     : opcode == MG_WS_BINARY            ? "(binary) "
                                                                                         : NULL,
                          (const char *)data, len);
    if (r->done)
        return;
    if (len > MG_MAX_PAYLOAD) {
        mg_scn_failf(r, now, "the client sent a %zu-byte payload; the limit is 4096 (PROTOCOL.md 2)", len);
        return;
    }
    const char *why = NULL;
    cJSON *j = mg_json_parse_strict((const char *)data, len, &why);
    if (!j) {
        mg_scn_failf(r, now, "the client sent a payload that is not one JSON text: %s (PROTOCOL.md 2)", why);
        return;
    }
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
    if (!cJSON_IsObject(j) || !cJSON_IsNumber(op)) {
        cJSON_Delete(j);
        mg_scn_failf(r, now, "the client sent a payload that is not a JSON object with an integer op (PROTOCOL.md 2)");
        return;
    }
    if (!sc->hello_sent) {
        int o = (int)op->valuedouble;
        cJSON_Delete(j);
        mg_scn_failf(r, now, "the client sent op %d before the gateway's HELLO (PROTOCOL.md 3.1: wait for HELLO)", o);
        return;
    }
    count_command(r, sc, now);
    if (r->done) {
        cJSON_Delete(j);
        return;
    }
    int o = (int)op->valuedouble;
    if (c->etf && opcode != MG_WS_BINARY) {
        cJSON_Delete(j);
        mg_scn_failf(r, now, "the client sent a text frame on an encoding=etf connection (PROTOCOL.md 1)");
        return;
    }
    if (o == 1) {
        sc->heartbeats++;
        cJSON_Delete(sc->last_hb_d);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "d");
        sc->last_hb_d = d ? cJSON_Duplicate(d, 1) : NULL;
        sc->last_hb_at = now;
        answer_heartbeat(r, sc, now);
        cJSON_Delete(j);
    } else {
        if (o == 2 && sc->identified) {
            cJSON_Delete(j);
            mg_scn_failf(r, now, "the client sent IDENTIFY again on an authenticated connection (Discord closes 4005)");
            return;
        }
        if (mg_scn_sharded(r) && (o == 2 || o == 6)) {
            if (mg_scn_route(r, sc, o, j, now) != RUN_DONE) {
                cJSON_Delete(j);
                advance(r, now);
                return;
            }
        } else if (o == 2) {
            check_identify_interval(r, now);
            mg_start_spend(&r->starts, 0, sc->num, now); /* what /gateway/bot reports */
        }
        if (sc->nrx == sc->caprx) {
            size_t ncap = sc->caprx ? sc->caprx * 2 : 8;
            struct rx *nr = realloc(sc->rx, ncap * sizeof *nr);
            if (!nr) {
                cJSON_Delete(j);
                return;
            }
            sc->rx = nr;
            sc->caprx = ncap;
        }
        sc->rx[sc->nrx++] = (struct rx){j, o, now};
    }
    advance(r, now);
}

static void sr_on_pong(void *app, mg_conn *c, const uint8_t *data, size_t len)
{
    mg_scenario_run *r = app;
    mg_scn_conn *sc = conn_of(c);
    uint64_t now = mg_now_ms();
    if (!sc)
        return;
    sc->pongs++;
    sc->last_pong_len = len < sizeof sc->last_pong ? len : sizeof sc->last_pong - 1;
    if (sc->last_pong_len)
        memcpy(sc->last_pong, data, sc->last_pong_len);
    mg_transcript_add(&r->tr, now, sc->num, "<-", "PONG \"%.*s\"", (int)sc->last_pong_len, sc->last_pong);
    advance(r, now);
}

static void sr_on_peer_close(void *app, mg_conn *c, int code, const uint8_t *reason, size_t len)
{
    mg_scenario_run *r = app;
    mg_scn_conn *sc = conn_of(c);
    uint64_t now = mg_now_ms();
    if (!sc)
        return;
    sc->close_code = code;
    mg_transcript_add(&r->tr, now, sc->num, "<-", "CLOSE %d \"%.*s\"", code, (int)(len > 123 ? 123 : len),
                      reason ? (const char *)reason : "");
    advance(r, now);
}

static void sr_on_closed(void *app, mg_conn *c, const mg_close_info *info)
{
    mg_scenario_run *r = app;
    mg_scn_conn *sc = conn_of(c);
    uint64_t now = mg_now_ms();
    c->app_data = NULL;
    if (!sc)
        return;
    sc->c = NULL;
    sc->gone = 1;
    if (info->server_fault) {
        /* Not the client's doing: the verdict must not read it as a drop. */
        mg_transcript_add(&r->tr, now, sc->num, "..", "connection cut by the mock gateway: %s", info->server_fault);
        mg_scn_failf(r, now, "the mock gateway cut connection #%d itself: %s", sc->num, info->server_fault);
        advance(r, now);
        return;
    }
    if (info->code_sent && !info->code_received)
        mg_transcript_add(&r->tr, now, sc->num, "..", "connection ended (we sent close %d, no close from the client)",
                          info->code_sent);
    else
        mg_transcript_add(&r->tr, now, sc->num, "..", "connection ended%s", info->code_received ? "" : " (TCP closed, no close frame from the client)");
    advance(r, now);
}

static void sr_on_tick(void *app, uint64_t now)
{
    mg_scenario_run *r = app;
    advance(r, now);
}

const mg_app_ops mg_scenario_run_ops = {
    sr_on_upgrade, sr_on_open, sr_on_message, sr_on_pong, sr_on_peer_close, sr_on_closed, sr_on_tick, mg_scn_gateway_bot,
};

int mg_scenario_run_init(mg_scenario_run *r, mg_server *srv, const mg_scenario *sc, const char *token,
                         const char *const *secrets, uint64_t t0)
{
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->sc = sc;
    r->token = token;
    r->t0 = t0;
    mg_scn_urls_init(r);
    mg_scn_stream_pools_build(r);
    mg_session_store_init(&r->store, 100000, UINT64_MAX);
    mg_transcript_init(&r->tr, t0, secrets);
    mg_transcript_add(&r->tr, t0, 0, "..", "scenario \"%s\" (%s)", sc->name, sc->path ? sc->path : "");
    mg_transcript_add(&r->tr, t0, 0, "..", "rule: %s", sc->rule);
    mg_transcript_add(&r->tr, t0, 0, "..", "marks: -> sent to the client, <- received, ?? expected, !! mismatch");
    if (mg_scn_lanes_init(r) != 0)
        return -1;
    if (mg_scn_sharded(r))
        mg_transcript_add(&r->tr, t0, 0, "..", "%d shards (GET /gateway/bot says %d), max_concurrency %d, one "
                          "IDENTIFY per bucket per %u ms, %u of %u session starts left", sc->shards.count,
                          sc->shards.gateway_bot_shards, sc->shards.max_concurrency, sc->shards.identify_window_ms,
                          sc->shards.remaining, sc->shards.total);
    r->lane = r->nlanes == 1 ? &r->lanes[0] : NULL;
    return 0;
}

void mg_scenario_run_free(mg_scenario_run *r)
{
    for (size_t i = 0; i < r->nconns; i++) {
        mg_scn_conn *sc = r->conns[i];
        if (sc->c)
            sc->c->app_data = NULL;
        for (size_t k = 0; k < sc->nrx; k++)
            cJSON_Delete(sc->rx[k].json);
        free(sc->rx);
        cJSON_Delete(sc->last_hb_d);
        free(sc->cmd_times);
        free(sc);
    }
    free(r->conns);
    free(r->acks);
    mg_scn_stream_free(r);
    mg_scn_stream_pools_free(r);
    mg_scn_urls_free(r);
    free(r->arrivals);
    mg_scn_lanes_free(r);
    mg_session_store_free(&r->store);
    mg_transcript_free(&r->tr);
    memset(r, 0, sizeof *r);
}

void mg_scenario_run_client_exited(mg_scenario_run *r, int status, uint64_t now)
{
    r->client_exited = 1;
    r->client_status = status;
    r->client_exit_at = now;
    mg_transcript_add(&r->tr, now, 0, "..", "client process exited (status %d)", status);
    mg_server_wake_at(r->srv, now + 1000);
    advance(r, now);
}

void mg_scenario_run_restarted(mg_scenario_run *r, int ok, int status, uint64_t now)
{
    r->restart_wanted = 0;
    r->lane = NULL;
    if (!ok) {
        mg_scn_failf(r, now, "the client did not exit within %u ms of SIGTERM (a restart expects it to save its "
                     "sessions and exit)", r->restart_grace_ms);
        return;
    }
    r->restarts++;
    r->client_exited = 0;
    mg_transcript_add(&r->tr, now, 0, "..", "client exited (status %d) and was started again", status);
    advance(r, now);
}

void mg_scenario_run_poll(mg_scenario_run *r, uint64_t now) { advance(r, now); }

void mg_scenario_run_client_output(mg_scenario_run *r, const char *line, uint64_t now)
{
    mg_transcript_add(&r->tr, now, 0, "cl", "%s", line);
}
