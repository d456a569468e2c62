/* Judging what the client sent: field checks with templates, the built-in
 * IDENTIFY and RESUME checks, close code matching. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_mode.h"
#include "rules.h"
#include "scenario_internal.h"
#include "util.h"

static const char *type_name(const cJSON *j)
{
    if (!j) return "absent";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a bool";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    return "invalid";
}

/* Short JSON text of j for messages (caller frees). */
char *mg_scn_show(const cJSON *j)
{
    if (!j)
        return strdup("(absent)");
    char *s = cJSON_PrintUnformatted(j);
    if (s && strlen(s) > 200)
        strcpy(s + 190, "...");
    return s ? s : strdup("?");
}

/* Resolves "{{seq}}", "{{session_id}}", "{{token}}" in a check value. */
static cJSON *resolve_template(const mg_scenario_run *r, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "{{seq}}") == 0)
            return r->lane->last_sent_seq >= 0 ? cJSON_CreateNumber((double)r->lane->last_sent_seq) : cJSON_CreateNull();
        if (strcmp(v->valuestring, "{{session_id}}") == 0)
            return cJSON_CreateString(r->lane->sess ? r->lane->sess->id : "");
        if (strcmp(v->valuestring, "{{token}}") == 0)
            return cJSON_CreateString(r->token);
    }
    return cJSON_Duplicate(v, 1);
}

/* Runs field checks; on mismatch writes a message and returns -1. */
int mg_scn_run_checks(const mg_scenario_run *r, const cJSON *payload, const mg_check *checks, size_t n,
                      char *msg, size_t msglen)
{
    for (size_t i = 0; i < n; i++) {
        const mg_check *ck = &checks[i];
        const cJSON *got = mg_json_pointer(payload, ck->path);
        switch (ck->kind) {
        case MG_CHECK_EXISTS:
            if (!got) {
                snprintf(msg, msglen, "%s: expected to exist, absent", ck->path);
                return -1;
            }
            break;
        case MG_CHECK_ABSENT:
            if (got) {
                snprintf(msg, msglen, "%s: expected to be absent, is %s", ck->path, type_name(got));
                return -1;
            }
            break;
        case MG_CHECK_TYPE: {
            int ok = 0;
            if (!strcmp(ck->type, "string")) ok = cJSON_IsString(got);
            else if (!strcmp(ck->type, "number")) ok = cJSON_IsNumber(got);
            else if (!strcmp(ck->type, "integer")) ok = cJSON_IsNumber(got) && got->valuedouble == floor(got->valuedouble);
            else if (!strcmp(ck->type, "object")) ok = cJSON_IsObject(got);
            else if (!strcmp(ck->type, "array")) ok = cJSON_IsArray(got);
            else if (!strcmp(ck->type, "bool")) ok = cJSON_IsBool(got);
            else if (!strcmp(ck->type, "null")) ok = cJSON_IsNull(got);
            if (!ok) {
                snprintf(msg, msglen, "%s: expected type %s, got %s", ck->path, ck->type, type_name(got));
                return -1;
            }
            break;
        }
        case MG_CHECK_EQUALS:
        case MG_CHECK_NOT_EQUALS: {
            cJSON *want = resolve_template(r, ck->value);
            int eq = got && want && cJSON_Compare(got, want, 1);
            int bad = ck->kind == MG_CHECK_EQUALS ? !eq : eq;
            if (bad) {
                char *a = mg_scn_show(want), *b = mg_scn_show(got);
                snprintf(msg, msglen, "%s: expected %s%s, got %s", ck->path,
                         ck->kind == MG_CHECK_EQUALS ? "" : "anything but ", a, b);
                free(a);
                free(b);
            }
            cJSON_Delete(want);
            if (bad)
                return -1;
            break;
        }
        }
    }
    return 0;
}

/* A sharded scenario's IDENTIFY names its lane's shard of the count
 * GET /gateway/bot gave (d.shard may be absent only for one shard). */
static int check_shard(mg_scenario_run *r, const cJSON *shard, uint64_t now)
{
    if (!mg_scn_sharded(r))
        return RUN_DONE;
    int want_id = mg_scn_lane_shard(r), want_count = mg_scn_reported_shards(r);
    const cJSON *a = cJSON_GetArrayItem(shard, 0), *b = cJSON_GetArrayItem(shard, 1);
    int ok = shard ? cJSON_GetArraySize(shard) == 2 && cJSON_IsNumber(a) && cJSON_IsNumber(b) &&
                         a->valuedouble == want_id && b->valuedouble == want_count
                   : want_count == 1;
    if (ok)
        return RUN_DONE;
    char *s = mg_scn_show(shard);
    mg_scn_failf(r, now, "IDENTIFY d.shard: expected [%d,%d] (GET /gateway/bot said %d shards), got %s (PROTOCOL.md 5)",
                 want_id, want_count, want_count, s);
    free(s);
    return RUN_FAIL;
}

int mg_scn_check_identify(mg_scenario_run *r, const cJSON *p, const mg_check *extra, size_t nextra, uint64_t now)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "d");
    const cJSON *tok = mg_json_pointer(p, "/d/token");
    if (!cJSON_IsObject(d))
        return mg_scn_failf(r, now, "IDENTIFY d must be an object (PROTOCOL.md 3.3)");
    if (!cJSON_IsString(tok))
        return mg_scn_failf(r, now, "IDENTIFY d.token: expected a string, got %s", type_name(tok));
    if (strcmp(mg_token_bare(tok->valuestring), r->token) != 0)
        return mg_scn_failf(r, now, "IDENTIFY d.token is not the token the client was given (DISCORD_TOKEN)");
    static const char *const props[] = {"/d/properties/os", "/d/properties/browser", "/d/properties/device"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = mg_json_pointer(p, props[i]);
        if (!cJSON_IsString(v))
            return mg_scn_failf(r, now, "IDENTIFY %s: expected a string, got %s (PROTOCOL.md 3.3)", props[i] + 1,
                         type_name(v));
    }
    const cJSON *intents = mg_json_pointer(p, "/d/intents");
    if (!cJSON_IsNumber(intents))
        return mg_scn_failf(r, now, "IDENTIFY d.intents: expected a number, got %s", type_name(intents));
    if (check_shard(r, mg_json_pointer(p, "/d/shard"), now) != RUN_DONE)
        return RUN_FAIL;
    char msg[512];
    if (mg_scn_run_checks(r, p, extra, nextra, msg, sizeof msg) != 0)
        return mg_scn_failf(r, now, "IDENTIFY %s", msg);
    return RUN_DONE;
}

int mg_scn_check_resume(mg_scenario_run *r, const cJSON *p, const mg_check *extra, size_t nextra, uint64_t now)
{
    const cJSON *tok = mg_json_pointer(p, "/d/token");
    const cJSON *sid = mg_json_pointer(p, "/d/session_id");
    const cJSON *seq = mg_json_pointer(p, "/d/seq");
    if (!cJSON_IsString(tok) || strcmp(mg_token_bare(tok->valuestring), r->token) != 0)
        return mg_scn_failf(r, now, "RESUME d.token must be the client's token (PROTOCOL.md 2, op 6)");
    if (!r->lane->sess)
        return mg_scn_failf(r, now, "the client sent RESUME but this scenario never gave it a session");
    if (!cJSON_IsString(sid) || strcmp(sid->valuestring, r->lane->sess->id) != 0) {
        char *s = mg_scn_show(sid);
        mg_scn_failf(r, now, "RESUME d.session_id: expected \"%s\" (from READY), got %s (PROTOCOL.md 3.4)", r->lane->sess->id, s);
        free(s);
        return RUN_FAIL;
    }
    int seq_ok = r->lane->last_sent_seq < 0 ? (cJSON_IsNull(seq) || (cJSON_IsNumber(seq) && seq->valuedouble == 0))
                                      : (cJSON_IsNumber(seq) && seq->valuedouble == (double)r->lane->last_sent_seq);
    if (!seq_ok) {
        char *s = mg_scn_show(seq);
        mg_scn_failf(r, now, "RESUME d.seq: expected %ld (the last s the client received), got %s (PROTOCOL.md 3.4)",
              r->lane->last_sent_seq, s);
        free(s);
        return RUN_FAIL;
    }
    char msg[512];
    if (mg_scn_run_checks(r, p, extra, nextra, msg, sizeof msg) != 0)
        return mg_scn_failf(r, now, "RESUME %s", msg);
    return RUN_DONE;
}

/* First queued payload with op, removed from the queue; NULL if none.
 * *other_op is set when an IDENTIFY/RESUME arrived instead of the other. */
cJSON *mg_scn_take_op(mg_scn_conn *sc, int op, uint64_t *at, int *other_op)
{
    for (size_t i = 0; i < sc->nrx; i++) {
        if (sc->rx[i].op == op || (other_op && ((op == 2 && sc->rx[i].op == 6) || (op == 6 && sc->rx[i].op == 2)))) {
            if (other_op && sc->rx[i].op != op)
                *other_op = sc->rx[i].op;
            cJSON *j = sc->rx[i].json;
            if (at)
                *at = sc->rx[i].at;
            memmove(&sc->rx[i], &sc->rx[i + 1], (sc->nrx - i - 1) * sizeof *sc->rx);
            sc->nrx--;
            return j;
        }
    }
    return NULL;
}

int mg_scn_code_matches(const mg_step *st, int code)
{
    if (st->ncodes == 0)
        return 1;
    int in = 0;
    for (size_t i = 0; i < st->ncodes; i++)
        in |= st->codes[i] == code;
    return st->codes_negated ? !in : in;
}

void mg_scn_describe_codes(const mg_step *st, char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "%s", st->ncodes == 0 ? "any code" : st->codes_negated ? "a code other than " : "");
    for (size_t i = 0; i < st->ncodes && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%d", i ? "/" : "", st->codes[i]);
}
