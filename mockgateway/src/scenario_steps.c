/* The step types of scenarios/README.md. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_mode.h"
#include "rules.h"
#include "scenario_internal.h"
#include "util.h"

static int step_handshake(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    if (r->lane->phase == 0) {
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        if (st->send_hello && !sc->hello_sent)
            mg_scn_send_hello(r, sc, 0, now);
        const char *what = st->expect == MG_HS_IDENTIFY ? "IDENTIFY (op 2)"
                           : st->expect == MG_HS_RESUME ? "RESUME (op 6)"
                                                        : "IDENTIFY or RESUME";
        mg_transcript_add(&r->tr, now, sc->num, "??", "expect %s within %u ms", what, st->within_ms);
        r->lane->phase = 1;
    }
    uint64_t at = 0;
    int other = 0;
    int want = st->expect == MG_HS_RESUME ? 6 : 2;
    cJSON *p = mg_scn_take_op(sc, want, &at, &other);
    if (p) {
        int op = other ? other : want;
        if (st->expect != MG_HS_ANY && other) {
            cJSON_Delete(p);
            return mg_scn_failf(r, now, "expected %s, the client sent %s (PROTOCOL.md 3.%s)",
                         want == 2 ? "IDENTIFY (new session)" : "RESUME (it has a session)",
                         op == 2 ? "IDENTIFY" : "RESUME", want == 2 ? "3" : "4");
        }
        int rc = op == 2 ? mg_scn_check_identify(r, p, st->checks, st->nchecks, now)
                         : mg_scn_check_resume(r, p, st->checks, st->nchecks, now);
        long from = -1;
        const cJSON *seq = mg_json_pointer(p, "/d/seq");
        if (cJSON_IsNumber(seq))
            from = (long)seq->valuedouble;
        cJSON_Delete(p);
        if (rc != RUN_DONE)
            return rc;
        sc->identified = 1;
        if (st->flag) {
            if (op == 2)
                mg_scn_send_ready(r, sc, st->guilds, st->size, st->resume_url, NULL, now);
            else
                mg_scn_answer_resume(r, sc, from < 0 ? 0 : from, now);
        }
        return RUN_DONE;
    }
    if (sc->gone || sc->close_code)
        return mg_scn_failf(r, now, "the client %s instead of sending %s",
                     sc->close_code ? "closed the connection" : "dropped the TCP connection",
                     want == 6 ? "RESUME" : "IDENTIFY");
    if (now >= r->lane->step_start + st->within_ms)
        return mg_scn_failf(r, now, "no %s within %u ms after HELLO", want == 6 && st->expect == MG_HS_RESUME ? "RESUME" : "IDENTIFY",
                     st->within_ms);
    int g = mg_scn_client_gone_fail(r, now, "the handshake");
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + st->within_ms) : g;
}

/* HELLO, count times interval_ms apart. A client that closes meanwhile
 * ends the step early: a following expect_close judges the close. */
static int step_hello(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (r->lane->counter == 0 && mg_scn_need_cur(r, now) != RUN_DONE)
        return RUN_FAIL;
    mg_scn_conn *sc = r->lane->cur;
    while (r->lane->counter < st->count) {
        if (sc->gone || sc->close_code) {
            mg_transcript_add(&r->tr, now, sc->num, "..", "client closed after %ld of %d HELLOs",
                              r->lane->counter, st->count);
            return RUN_DONE;
        }
        if (r->lane->counter > 0 && now < r->lane->phase_at + st->interval_ms)
            return mg_scn_wait_until(r, r->lane->phase_at + st->interval_ms);
        mg_scn_send_hello(r, sc, st->interval, now);
        r->lane->counter++;
        r->lane->phase_at = now;
    }
    return RUN_DONE;
}

static int step_send(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (mg_scn_need_cur(r, now) != RUN_DONE)
        return RUN_FAIL;
    mg_scn_conn *sc = r->lane->cur;
    if (st->payload) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(st->payload, "op");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(st->payload, "s");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(st->payload, "t");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(st->payload, "d");
        if (cJSON_IsNumber(op) && op->valuedouble == 0 && !s && cJSON_IsString(t)) {
            /* A dispatch without "s": numbered and kept for replay. */
            char *dj = d ? cJSON_PrintUnformatted(d) : NULL;
            mg_scn_send_dispatch(r, sc, t->valuestring, dj ? dj : "{}", 0, st, now);
            cJSON_free(dj);
            return RUN_DONE;
        }
        char *txt = cJSON_PrintUnformatted(st->payload);
        if (txt)
            mg_scn_send_text(r, sc, txt, strlen(txt), st, now);
        cJSON_free(txt);
        return RUN_DONE;
    }
    /* Raw text: substitute templates; {{next_seq}} numbers a dispatch. */
    mg_buf out = {0};
    const char *p = st->raw;
    char tmp[64];
    while (*p) {
        if (!strncmp(p, "{{seq}}", 7)) {
            snprintf(tmp, sizeof tmp, r->lane->last_sent_seq >= 0 ? "%ld" : "null", r->lane->last_sent_seq);
            mg_buf_append_str(&out, tmp);
            p += 7;
        } else if (!strncmp(p, "{{next_seq}}", 12)) {
            if (!r->lane->sess)
                mg_scn_new_session(r);
            snprintf(tmp, sizeof tmp, "%ld", r->lane->sess ? ++r->lane->sess->seq : 0L);
            r->lane->last_sent_seq = r->lane->sess ? r->lane->sess->seq : -1;
            mg_buf_append_str(&out, tmp);
            mg_scn_note_seq_sent(r, r->lane->last_sent_seq, now);
            p += 12;
        } else if (!strncmp(p, "{{session_id}}", 14)) {
            mg_buf_append_str(&out, r->lane->sess ? r->lane->sess->id : "");
            p += 14;
        } else if (!strncmp(p, "{{resume_url}}", 14)) {
            mg_buf_append_str(&out, r->srv->ws_url);
            p += 14;
        } else {
            mg_buf_append(&out, p, 1);
            p++;
        }
    }
    mg_scn_send_text(r, sc, out.len ? (const char *)out.data : "", out.len, st, now);
    mg_buf_free(&out);
    return RUN_DONE;
}

static int step_dispatch(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (mg_scn_need_cur(r, now) != RUN_DONE)
        return RUN_FAIL;
    char *dj = cJSON_PrintUnformatted(st->d);
    if (!dj)
        return mg_scn_failf(r, now, "out of memory");
    while (r->lane->counter < st->count) {
        if (st->interval_ms && r->lane->counter > 0 && now < r->lane->phase_at + st->interval_ms) {
            cJSON_free(dj);
            return mg_scn_wait_until(r, r->lane->phase_at + st->interval_ms);
        }
        mg_scn_send_dispatch(r, r->lane->cur, st->t, dj, st->withhold, st, now);
        r->lane->counter++;
        r->lane->phase_at = now;
        if (r->lane->cur->gone)
            break;
    }
    cJSON_free(dj);
    return RUN_DONE;
}

static int step_expect(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    if (!sc)
        return mg_scn_failf(r, now, "no connection");
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, sc->num, "??", "expect op %d within %u ms", st->op, st->within_ms);
        r->lane->phase = 1;
        r->lane->mark = sc->heartbeats;
    }
    cJSON *p = NULL;
    if (st->op == 1) {
        if (sc->heartbeats > r->lane->mark)
            p = cJSON_Duplicate(sc->last_hb_d ? sc->last_hb_d : NULL, 1);
        if (sc->heartbeats > r->lane->mark && !p) {
            p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "op", 1);
            cJSON_AddNullToObject(p, "d");
        } else if (p) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddNumberToObject(w, "op", 1);
            cJSON_AddItemToObject(w, "d", p);
            p = w;
        }
    } else {
        p = mg_scn_take_op(sc, st->op, NULL, NULL);
    }
    if (p) {
        char msg[512];
        int bad = mg_scn_run_checks(r, p, st->checks, st->nchecks, msg, sizeof msg);
        if (st->op == 2 && !bad)
            sc->identified = 1;
        cJSON_Delete(p);
        if (bad)
            return mg_scn_failf(r, now, "op %d payload: %s", st->op, msg);
        return RUN_DONE;
    }
    if (sc->gone || sc->close_code)
        return mg_scn_failf(r, now, "the client closed the connection (code %d) while op %d was expected", sc->close_code,
                     st->op);
    if (now >= r->lane->step_start + st->within_ms)
        return mg_scn_failf(r, now, "no op %d from the client within %u ms", st->op, st->within_ms);
    int g = mg_scn_client_gone_fail(r, now, "a payload");
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + st->within_ms) : g;
}

static int step_expect_heartbeat(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    uint32_t within = st->within_ms ? st->within_ms : r->sc->heartbeat_interval * 2 + 2000;
    if (!sc)
        return mg_scn_failf(r, now, "no connection");
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, sc->num, "??", "expect a heartbeat (op 1) within %u ms%s", within,
                          st->check_seq ? ", d = last s sent" : "");
        r->lane->phase = 1;
        r->lane->mark = sc->heartbeats;
    }
    if (sc->heartbeats > r->lane->mark) {
        if (st->check_seq) {
            const cJSON *d = sc->last_hb_d;
            /* The heartbeat may have left the client before it read the
             * newest dispatches: accept any s from the one that was newest
             * lag_ms before the heartbeat arrived up to the newest. */
            long floor_seq = mg_scn_seq_sent_before(r, sc->last_hb_at >= st->ms ? sc->last_hb_at - st->ms : 0);
            int ok;
            if (cJSON_IsNumber(d))
                ok = d->valuedouble >= (double)floor_seq && d->valuedouble <= (double)r->lane->last_sent_seq &&
                     d->valuedouble == floor(d->valuedouble);
            else
                ok = (!d || cJSON_IsNull(d)) && floor_seq < 0;
            if (!ok) {
                char *s = mg_scn_show(d);
                char want[32];
                snprintf(want, sizeof want, r->lane->last_sent_seq < 0 ? "null" : "%ld", r->lane->last_sent_seq);
                mg_scn_failf(r, now, "heartbeat d: expected %s (the last s received), got %s (PROTOCOL.md 2, op 1)", want, s);
                free(s);
                return RUN_FAIL;
            }
        }
        return RUN_DONE;
    }
    if (sc->gone || sc->close_code)
        return mg_scn_failf(r, now, "the client closed the connection (code %d) while a heartbeat was expected",
                     sc->close_code);
    if (now >= r->lane->step_start + within)
        return mg_scn_failf(r, now, "no heartbeat within %u ms", within);
    int g = mg_scn_client_gone_fail(r, now, "a heartbeat");
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + within) : g;
}

/* expect_identify / expect_resume: the payload may come on this connection
 * or, with allow_reconnect, on a new one (which gets HELLO first). */
static int step_expect_session(mg_scenario_run *r, const mg_step *st, int want, uint64_t now)
{
    const char *what = want == 2 ? "IDENTIFY" : "RESUME";
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, r->lane->cur ? r->lane->cur->num : 0, "??",
                          "expect %s no sooner than %u ms and within %u ms%s", what, st->min_delay_ms, st->within_ms,
                          st->allow_reconnect ? " (same or new connection)" : "");
        r->lane->phase = 1;
    }
    mg_scn_conn *sc = r->lane->cur;
    if (sc && (sc->gone || sc->close_code) && st->allow_reconnect) {
        mg_scn_conn *n = mg_scn_first_pending(r);
        if (n && want == 6 && (sc->close_code == 1000 || sc->close_code == 1001))
            return mg_scn_failf(r, now, "the client closed with %d, which ends the session (PROTOCOL.md 3.9), and then "
                                 "reconnected to RESUME it", sc->close_code);
        if (n) {
            if (mg_scn_take_conn(r, n, 1, now) != RUN_DONE)
                return RUN_FAIL;
            if (!n->hello_sent)
                mg_scn_send_hello(r, n, 0, now);
            sc = n;
        }
    }
    if (sc && !sc->gone) {
        uint64_t at = 0;
        int other = 0;
        cJSON *p = mg_scn_take_op(sc, want, &at, &other);
        if (p && other) {
            cJSON_Delete(p);
            return mg_scn_failf(r, now, "expected %s, the client sent %s (PROTOCOL.md 3.%s)", what,
                         want == 2 ? "RESUME" : "IDENTIFY", want == 2 ? "8" : "4");
        }
        if (p) {
            uint64_t waited = at - r->lane->step_start;
            if (waited < st->min_delay_ms) {
                cJSON_Delete(p);
                return mg_scn_failf(r, now, "the client sent %s %llu ms after the previous step, want at least %u ms "
                                     "(PROTOCOL.md 3.8: wait 1-5 s)",
                             what, (unsigned long long)waited, st->min_delay_ms);
            }
            long from = -1;
            const cJSON *seq = mg_json_pointer(p, "/d/seq");
            if (cJSON_IsNumber(seq))
                from = (long)seq->valuedouble;
            int rc = want == 2 ? mg_scn_check_identify(r, p, st->checks, st->nchecks, now)
                               : mg_scn_check_resume(r, p, st->checks, st->nchecks, now);
            cJSON_Delete(p);
            if (rc != RUN_DONE)
                return rc;
            sc->identified = 1;
            mg_transcript_add(&r->tr, now, sc->num, "..", "%s came %llu ms after the previous step", what,
                              (unsigned long long)waited);
            if (st->flag) {
                if (want == 2)
                    mg_scn_send_ready(r, sc, 0, 0, st->resume_url, NULL, now);
                else
                    mg_scn_answer_resume(r, sc, from < 0 ? 0 : from, now);
            }
            return RUN_DONE;
        }
    }
    if (sc && (sc->gone || sc->close_code) && !st->allow_reconnect)
        return mg_scn_failf(r, now, "the client closed the connection (code %d) instead of sending %s", sc->close_code, what);
    if (now >= r->lane->step_start + st->within_ms)
        return mg_scn_failf(r, now, "no %s within %u ms", what, st->within_ms);
    int g = mg_scn_client_gone_fail(r, now, what);
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + st->within_ms) : g;
}

static int step_expect_close(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    char codes[128];
    mg_scn_describe_codes(st, codes, sizeof codes);
    if (!sc)
        return mg_scn_failf(r, now, "no connection");
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, sc->num, "??", "expect the client to close with %s within %u ms%s", codes,
                          st->within_ms, st->allow_drop ? " (a TCP drop also counts)" : "");
        r->lane->phase = 1;
    }
    if (sc->close_code) {
        if (!mg_scn_code_matches(st, sc->close_code))
            return mg_scn_failf(r, now, "the client closed with %d, expected %s", sc->close_code, codes);
        return RUN_DONE;
    }
    if (sc->gone) {
        if (!st->allow_drop)
            return mg_scn_failf(r, now, "the client dropped TCP without a close frame, expected a close with %s", codes);
        return RUN_DONE;
    }
    if (now >= r->lane->step_start + st->within_ms)
        return mg_scn_failf(r, now, "the client did not close within %u ms (expected %s)", st->within_ms, codes);
    int g = mg_scn_client_gone_fail(r, now, "a close");
    return g == RUN_WAIT ? mg_scn_wait_until(r, r->lane->step_start + st->within_ms) : g;
}

static int step_ping(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    size_t pl = strlen(st->ping);
    if (r->lane->phase == 0) {
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        r->lane->mark = sc->pongs;
        mg_transcript_add(&r->tr, now, sc->num, "->", "PING \"%s\"", st->ping);
        mg_conn_send_ping(sc->c, (const uint8_t *)st->ping, pl);
        r->lane->phase = 1;
        if (st->within_ms == 0)
            return RUN_DONE;
        mg_transcript_add(&r->tr, now, sc->num, "??", "expect PONG with the same payload within %u ms", st->within_ms);
    }
    if (sc->pongs > r->lane->mark) {
        if (sc->last_pong_len != pl || memcmp(sc->last_pong, st->ping, pl) != 0)
            return mg_scn_failf(r, now, "PONG payload differs from the PING's (RFC 6455 5.5.3)");
        return RUN_DONE;
    }
    if (sc->gone || sc->close_code)
        return mg_scn_failf(r, now, "the client closed the connection while a PONG was expected");
    if (now >= r->lane->step_start + st->within_ms)
        return mg_scn_failf(r, now, "no PONG within %u ms", st->within_ms);
    return mg_scn_wait_until(r, r->lane->step_start + st->within_ms);
}

static int step_no_reconnect(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    if (r->lane->phase == 0) {
        mg_transcript_add(&r->tr, now, 0, "??", "expect NO new connection for %u ms", st->ms);
        r->lane->phase = 1;
    }
    mg_scn_conn *n = mg_scn_unexpected_conn(r, r->lane->step_start);
    if (n)
        return mg_scn_failf(r, now, "the client reconnected (connection #%d, %llu ms after the previous step) but must "
                             "not (PROTOCOL.md 4: this close code is fatal)",
                     n->num, (unsigned long long)(n->arrived > r->lane->step_start ? n->arrived - r->lane->step_start : 0));
    if (now >= r->lane->step_start + st->ms)
        return RUN_DONE;
    return mg_scn_wait_until(r, r->lane->step_start + st->ms);
}

/* restart: every lane waits here; when all do (or have finished), the
 * runner stops the client and starts it again (mg_scn_restart_barrier). */
static int step_restart(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_lane *L = r->lane;
    if (L->phase == 0) {
        L->restart_wait = r->restarts + 1;
        L->restart_grace_ms = st->ms;
        mg_transcript_add(&r->tr, now, L->cur ? L->cur->num : 0, "??", "%s%srestart the client (when every shard is "
                          "here)", L->tag, L->tag[0] ? ": " : "");
        L->phase = 1;
    }
    if (r->restarts < L->restart_wait)
        return RUN_WAIT;
    L->restart_wait = 0;
    return RUN_DONE;
}

int mg_scn_run_step(mg_scenario_run *r, const mg_step *st, uint64_t now)
{
    mg_scn_conn *sc = r->lane->cur;
    int num = sc ? sc->num : 0;
    switch (st->kind) {
    case MG_STEP_HELLO:
        return step_hello(r, st, now);
    case MG_STEP_HANDSHAKE:
        return step_handshake(r, st, now);
    case MG_STEP_SEND:
        return step_send(r, st, now);
    case MG_STEP_DISPATCH:
        return step_dispatch(r, st, now);
    case MG_STEP_STREAM:
        return mg_scn_step_stream(r, st, now);
    case MG_STEP_READY:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        mg_scn_send_ready(r, sc, st->guilds, st->size, st->resume_url, st, now);
        return RUN_DONE;
    case MG_STEP_RECONNECT:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        mg_scn_send_str(r, sc, "{\"op\":7,\"d\":null,\"s\":null,\"t\":null}", now);
        return RUN_DONE;
    case MG_STEP_INVALID_SESSION:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        mg_scn_send_str(r, sc, st->flag ? "{\"op\":9,\"d\":true,\"s\":null,\"t\":null}" : "{\"op\":9,\"d\":false,\"s\":null,\"t\":null}", now);
        sc->identified = 0; /* the client may IDENTIFY or RESUME again */
        if (!st->flag && r->lane->sess) {
            mg_session_remove(&r->store, r->lane->sess); /* d=false: the session is gone */
            r->lane->sess = NULL;
            r->lane->last_sent_seq = -1;
            r->lane->nseq_times = 0;
        }
        return RUN_DONE;
    case MG_STEP_HEARTBEAT_REQUEST:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        for (int i = 0; i < st->count; i++)
            mg_scn_send_str(r, sc, "{\"op\":1,\"d\":null,\"s\":null,\"t\":null}", now);
        return RUN_DONE;
    case MG_STEP_HEARTBEAT_ACK:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        mg_scn_send_str(r, sc, "{\"op\":11,\"d\":null,\"s\":null,\"t\":null}", now);
        return RUN_DONE;
    case MG_STEP_ACK_MODE:
        r->lane->ack_auto = st->flag;
        r->lane->ack_delay_ms = st->ms;
        mg_transcript_add(&r->tr, now, num, "..", "heartbeat ACKs: %s", !st->flag ? "withheld"
                                                                       : st->ms   ? "each after a delay"
                                                                                  : "automatic");
        if (st->ms)
            mg_transcript_add(&r->tr, now, num, "..", "ACK delay %u ms", st->ms);
        return RUN_DONE;
    case MG_STEP_PING:
        return step_ping(r, st, now);
    case MG_STEP_CLOSE:
        if (mg_scn_need_cur(r, now) != RUN_DONE)
            return RUN_FAIL;
        mg_transcript_add(&r->tr, now, num, "->", "CLOSE %d \"%s\"", st->code,
                          st->reason ? st->reason : mg_close_reason(st->code));
        mg_conn_close(sc->c, st->code, st->reason ? st->reason : mg_close_reason(st->code));
        if (st->drop && sc->c) {
            /* The close frame and the end of TCP arrive together. */
            mg_transcript_add(&r->tr, now, num, "->", "TCP ended right after the close frame");
            mg_conn_drop(sc->c);
        }
        return RUN_DONE;
    case MG_STEP_DROP:
        if (sc && sc->c) {
            mg_transcript_add(&r->tr, now, num, "->", "TCP dropped (no close frame)");
            mg_conn_drop(sc->c);
        }
        return RUN_DONE;
    case MG_STEP_REJECT:
        if (!sc || !sc->c)
            return mg_scn_failf(r, now, "the connection is gone before the upgrade was answered");
        mg_transcript_add(&r->tr, now, num, "->", "HTTP %d (upgrade rejected)", st->status);
        mg_conn_reject(sc->c, st->status, st->headers, st->body ? st->body : "");
        return RUN_DONE;
    case MG_STEP_SLEEP:
        if (now >= r->lane->step_start + st->ms)
            return RUN_DONE;
        return mg_scn_wait_until(r, r->lane->step_start + st->ms);
    case MG_STEP_EXPECT:
        return step_expect(r, st, now);
    case MG_STEP_EXPECT_HEARTBEAT:
        return step_expect_heartbeat(r, st, now);
    case MG_STEP_EXPECT_IDENTIFY:
        return step_expect_session(r, st, 2, now);
    case MG_STEP_EXPECT_RESUME:
        return step_expect_session(r, st, 6, now);
    case MG_STEP_EXPECT_CLOSE:
        return step_expect_close(r, st, now);
    case MG_STEP_EXPECT_NO_RECONNECT:
        return step_no_reconnect(r, st, now);
    case MG_STEP_RESTART:
        return step_restart(r, st, now);
    case MG_STEP__COUNT:
        break;
    }
    return mg_scn_failf(r, now, "internal error: unknown step");
}
