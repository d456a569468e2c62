#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#include "encoding.h"

static const struct {
    const char *name;
    const char *fields; /* allowed fields besides "type" and "comment", space-separated */
} step_spec[MG_STEP__COUNT] = {
    [MG_STEP_HELLO] = {"hello", "interval count interval_ms"},
    [MG_STEP_HANDSHAKE] = {"handshake", "expect within_ms ready guilds ready_size checks hello resume_url"},
    [MG_STEP_SEND] = {"send", "payload message_splits frame_splits frame_chunk write_splits write_chunk "
                              "write_delay_ms ping_between_frames hold payload_compress"},
    [MG_STEP_DISPATCH] = {"dispatch", "t d count interval_ms withhold message_splits frame_splits frame_chunk "
                                      "write_splits write_chunk write_delay_ms ping_between_frames hold payload_compress"},
    [MG_STEP_STREAM] = {"stream", "count t d seed distinct batch keep zlib_parts"},
    [MG_STEP_READY] = {"ready", "size guilds resume_url message_splits frame_splits frame_chunk "
                                "write_splits write_chunk write_delay_ms ping_between_frames hold payload_compress"},
    [MG_STEP_RECONNECT] = {"reconnect", ""},
    [MG_STEP_INVALID_SESSION] = {"invalid_session", "resumable"},
    [MG_STEP_HEARTBEAT_REQUEST] = {"heartbeat_request", "count"},
    [MG_STEP_HEARTBEAT_ACK] = {"heartbeat_ack", ""},
    [MG_STEP_ACK_MODE] = {"ack_mode", "auto delay_ms"},
    [MG_STEP_PING] = {"ping", "payload within_ms"},
    [MG_STEP_CLOSE] = {"close", "code reason drop"},
    [MG_STEP_DROP] = {"drop", ""},
    [MG_STEP_REJECT] = {"reject", "status headers body"},
    [MG_STEP_SLEEP] = {"sleep", "ms"},
    [MG_STEP_EXPECT] = {"expect", "op within_ms checks"},
    [MG_STEP_EXPECT_HEARTBEAT] = {"expect_heartbeat", "within_ms check_seq lag_ms"},
    [MG_STEP_EXPECT_IDENTIFY] = {"expect_identify", "within_ms min_delay_ms allow_reconnect ready checks resume_url"},
    [MG_STEP_EXPECT_RESUME] = {"expect_resume", "within_ms min_delay_ms allow_reconnect ready checks"},
    [MG_STEP_EXPECT_CLOSE] = {"expect_close", "code codes not_codes within_ms allow_drop"},
    [MG_STEP_EXPECT_NO_RECONNECT] = {"expect_no_reconnect", "ms"},
    [MG_STEP_RESTART] = {"restart", "grace_ms"},
};

const char *const mg_requirement_names[] = {"sharding", "restart", "zlib-stream", "zstd-stream", "etf",
                                            "payload-compression", "request-channel-info", NULL};

const char *mg_step_kind_name(mg_step_kind k)
{
    return k < MG_STEP__COUNT ? step_spec[k].name : "?";
}

/* Parser context: where we are, for error messages. */
typedef struct pctx {
    const char *file;
    int sharded;     /* the scenario has "shards" */
    long conn, step; /* -1 when not inside */
    const char *steptype;
    char *err;
    size_t errlen;
} pctx;

__attribute__((format(printf, 3, 4))) static int fail(pctx *p, const char *field, const char *fmt, ...)
{
    char where[256];
    int n = snprintf(where, sizeof where, "%s: ", p->file ? p->file : "<scenario>");
    if (p->conn >= 0 && n > 0 && (size_t)n < sizeof where)
        n += snprintf(where + n, sizeof where - (size_t)n, "connections[%ld]", p->conn);
    if (p->step >= 0 && n > 0 && (size_t)n < sizeof where)
        n += snprintf(where + n, sizeof where - (size_t)n, ".steps[%ld]%s%s%s", p->step,
                      p->steptype ? " (\"" : "", p->steptype ? p->steptype : "", p->steptype ? "\")" : "");
    if (field && n > 0 && (size_t)n < sizeof where)
        snprintf(where + n, sizeof where - (size_t)n, "%sfield \"%s\"", p->conn >= 0 ? ": " : "", field);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s: %s", where, msg);
    return -1;
}

static int get_uint(pctx *p, const cJSON *obj, const char *field, uint32_t *out, uint32_t dflt,
                    uint32_t max)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < 0 ||
        j->valuedouble > max)
        return fail(p, field, "expected an integer from 0 to %u", max);
    *out = (uint32_t)j->valuedouble;
    return 0;
}

static int get_int(pctx *p, const cJSON *obj, const char *field, int *out, int dflt, int min, int max,
                   int required)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j) {
        if (required)
            return fail(p, field, "missing (required)");
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < min ||
        j->valuedouble > max)
        return fail(p, field, "expected an integer from %d to %d", min, max);
    *out = (int)j->valuedouble;
    return 0;
}

static int get_bool(pctx *p, const cJSON *obj, const char *field, int *out, int dflt, int required)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j) {
        if (required)
            return fail(p, field, "missing (required)");
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsBool(j))
        return fail(p, field, "expected true or false");
    *out = cJSON_IsTrue(j);
    return 0;
}

static int get_str(pctx *p, const cJSON *obj, const char *field, char **out, int required, size_t maxlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (!j) {
        if (required)
            return fail(p, field, "missing (required)");
        return 0;
    }
    if (!cJSON_IsString(j))
        return fail(p, field, "expected a string");
    if (strlen(j->valuestring) > maxlen)
        return fail(p, field, "longer than %zu bytes", maxlen);
    *out = strdup(j->valuestring);
    return *out ? 0 : fail(p, field, "out of memory");
}

/* A dispatch's event name "t": upper case letters, digits and _. */
static int get_event_name(pctx *p, const cJSON *obj, char **out, int required)
{
    if (get_str(p, obj, "t", out, required, 64) != 0)
        return -1;
    for (const char *c = *out; c && *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || *c == '_' || (*c >= '0' && *c <= '9')))
            return fail(p, "t", "event names are upper case letters, digits and _");
    return 0;
}

/* The resume_gateway_url READY names: one of the templates the runner
 * fills in (scenarios/README.md). */
static int get_resume_url(pctx *p, const cJSON *obj, mg_step *st)
{
    static const char *const allowed[] = {"{{url}}", "{{dead_url}}", "{{downgraded_url}}"};
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "resume_url");
    if (!j)
        return 0;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (cJSON_IsString(j) && strcmp(j->valuestring, allowed[i]) == 0) {
            st->resume_url = strdup(j->valuestring);
            return st->resume_url ? 0 : fail(p, "resume_url", "out of memory");
        }
    return fail(p, "resume_url", "expected \"{{url}}\", \"{{dead_url}}\" or \"{{downgraded_url}}\"");
}

static int get_splits(pctx *p, const cJSON *obj, const char *field, const char *chunk_field, mg_splits *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (j) {
        if (!cJSON_IsArray(j))
            return fail(p, field, "expected an array of byte offsets (negative: from the end)");
        const cJSON *e;
        cJSON_ArrayForEach(e, j)
        {
            if (out->npos == MG_MAX_SPLITS)
                return fail(p, field, "more than %d offsets", MG_MAX_SPLITS);
            if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || fabs(e->valuedouble) > 1e9)
                return fail(p, field, "offsets must be integers");
            out->pos[out->npos++] = (long)e->valuedouble;
        }
    }
    if (chunk_field) {
        uint32_t chunk = 0;
        if (get_uint(p, obj, chunk_field, &chunk, 0, 1u << 30) != 0)
            return -1;
        out->chunk = chunk;
    }
    return 0;
}

static int parse_checks(pctx *p, const cJSON *obj, mg_step *st)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "checks");
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return fail(p, "checks", "expected an array of {\"path\", \"equals\"|\"not_equals\"|\"exists\"|\"type\"}");
    int n = cJSON_GetArraySize(arr);
    if (n > 64)
        return fail(p, "checks", "more than 64 checks");
    st->checks = calloc((size_t)n + 1, sizeof *st->checks);
    if (!st->checks)
        return fail(p, "checks", "out of memory");
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        mg_check *ck = &st->checks[st->nchecks];
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(c, "path");
        if (!cJSON_IsObject(c) || !cJSON_IsString(path) || strlen(path->valuestring) >= sizeof ck->path ||
            (path->valuestring[0] != '/' && path->valuestring[0] != '\0'))
            return fail(p, "checks", "entry %zu needs \"path\": a JSON pointer like \"/d/seq\"", st->nchecks);
        strcpy(ck->path, path->valuestring);
        /* Exactly one kind, and no stray fields: a typo such as "equal"
         * must not silently turn the check into another one. */
        static const char *const kinds[] = {"equals", "not_equals", "exists", "type"};
        int nkinds = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, c)
        {
            int known = strcmp(f->string, "path") == 0 || strcmp(f->string, "comment") == 0;
            for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
                if (strcmp(f->string, kinds[i]) == 0) {
                    known = 1;
                    nkinds++;
                }
            if (!known)
                return fail(p, "checks", "entry %zu: unknown field \"%.40s\"", st->nchecks, f->string);
        }
        if (nkinds != 1)
            return fail(p, "checks", "entry %zu needs exactly one of equals, not_equals, exists, type",
                        st->nchecks);
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(c, "equals"))) {
            ck->kind = MG_CHECK_EQUALS;
            ck->value = cJSON_Duplicate(v, 1);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(c, "not_equals"))) {
            ck->kind = MG_CHECK_NOT_EQUALS;
            ck->value = cJSON_Duplicate(v, 1);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(c, "exists"))) {
            if (!cJSON_IsBool(v))
                return fail(p, "checks", "entry %zu: \"exists\" must be true or false", st->nchecks);
            ck->kind = cJSON_IsTrue(v) ? MG_CHECK_EXISTS : MG_CHECK_ABSENT;
        } else if ((v = cJSON_GetObjectItemCaseSensitive(c, "type"))) {
            static const char *const types[] = {"string", "number", "integer", "object", "array", "bool", "null"};
            int ok = 0;
            for (size_t i = 0; cJSON_IsString(v) && i < sizeof types / sizeof *types; i++)
                ok |= strcmp(v->valuestring, types[i]) == 0;
            if (!ok)
                return fail(p, "checks", "entry %zu: \"type\" must be one of string, number, integer, "
                                         "object, array, bool, null", st->nchecks);
            ck->kind = MG_CHECK_TYPE;
            strcpy(ck->type, v->valuestring);
        } else {
            return fail(p, "checks", "entry %zu needs one of equals, not_equals, exists, type", st->nchecks);
        }
        st->nchecks++;
    }
    return 0;
}

static int parse_codes(pctx *p, const cJSON *obj, const char *field, mg_step *st)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!cJSON_IsArray(arr))
        return fail(p, field, "expected an array of close codes");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (st->ncodes == 16)
            return fail(p, field, "more than 16 codes");
        if (!cJSON_IsNumber(e) || e->valuedouble < 1000 || e->valuedouble > 4999 ||
            e->valuedouble != floor(e->valuedouble))
            return fail(p, field, "codes must be integers from 1000 to 4999");
        st->codes[st->ncodes++] = (int)e->valuedouble;
    }
    return 0;
}

static int check_fields(pctx *p, const cJSON *obj, mg_step_kind k)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, obj)
    {
        const char *name = f->string;
        if (strcmp(name, "type") == 0 || strcmp(name, "comment") == 0)
            continue;
        const char *list = step_spec[k].fields;
        size_t nl = strlen(name);
        int ok = 0;
        for (const char *s = list; *s;) {
            const char *e = strchr(s, ' ');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            if (l == nl && strncmp(s, name, l) == 0)
                ok = 1;
            s += l + (e ? 1 : 0);
        }
        if (!ok)
            return fail(p, name, "unknown field for this step type (allowed: %s%s)", *list ? list : "none",
                        *list ? "" : "");
    }
    return 0;
}

/* payload_compress: true (one whole zlib stream), or "truncated" /
 * "trailing" (a spoiled one, for clients that must refuse it). */
static int get_zpayload(pctx *p, const cJSON *obj, mg_step *st)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "payload_compress");
    if (!j || cJSON_IsFalse(j))
        return 0;
    if (cJSON_IsTrue(j))
        st->zpayload = MG_ZPAYLOAD_WHOLE;
    else if (cJSON_IsString(j) && strcmp(j->valuestring, "truncated") == 0)
        st->zpayload = MG_ZPAYLOAD_TRUNCATED;
    else if (cJSON_IsString(j) && strcmp(j->valuestring, "trailing") == 0)
        st->zpayload = MG_ZPAYLOAD_TRAILING;
    else
        return fail(p, "payload_compress", "expected true, false, \"truncated\" or \"trailing\"");
    return 0;
}

static int parse_shaping(pctx *p, const cJSON *obj, mg_step *st)
{
    if (get_splits(p, obj, "message_splits", NULL, &st->message_splits) != 0 ||
        get_splits(p, obj, "frame_splits", "frame_chunk", &st->frame_splits) != 0 ||
        get_splits(p, obj, "write_splits", "write_chunk", &st->write_splits) != 0 ||
        get_uint(p, obj, "write_delay_ms", &st->write_delay_ms, 0, 10000) != 0 ||
        get_str(p, obj, "ping_between_frames", &st->ping, 0, 125) != 0 ||
        get_bool(p, obj, "hold", &st->hold, 0, 0) != 0 ||
        get_zpayload(p, obj, st) != 0)
        return -1;
    st->has_ping = st->ping != NULL;
    return 0;
}

static int parse_step(pctx *p, const cJSON *obj, mg_step *st, int first_in_conn)
{
    if (!cJSON_IsObject(obj))
        return fail(p, NULL, "a step must be an object with a \"type\"");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (!cJSON_IsString(type))
        return fail(p, "type", "missing or not a string");
    int k = -1;
    for (int i = 0; i < MG_STEP__COUNT; i++)
        if (strcmp(step_spec[i].name, type->valuestring) == 0)
            k = i;
    if (k < 0)
        return fail(p, "type", "unknown step type \"%.60s\"", type->valuestring);
    st->kind = (mg_step_kind)k;
    p->steptype = step_spec[k].name;
    if (check_fields(p, obj, st->kind) != 0)
        return -1;
    int ms_default = 5000;
    switch (st->kind) {
    case MG_STEP_HELLO:
        return get_uint(p, obj, "interval", &st->interval, 0, 3600000) != 0 ||
                       get_int(p, obj, "count", &st->count, 1, 1, 1000, 0) != 0 ||
                       get_uint(p, obj, "interval_ms", &st->interval_ms, 0, 60000) != 0
                   ? -1
                   : 0;
    case MG_STEP_HANDSHAKE: {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, "expect");
        st->expect = MG_HS_IDENTIFY;
        if (e) {
            if (cJSON_IsString(e) && strcmp(e->valuestring, "identify") == 0)
                st->expect = MG_HS_IDENTIFY;
            else if (cJSON_IsString(e) && strcmp(e->valuestring, "resume") == 0)
                st->expect = MG_HS_RESUME;
            else if (cJSON_IsString(e) && strcmp(e->valuestring, "any") == 0)
                st->expect = MG_HS_ANY;
            else
                return fail(p, "expect", "expected \"identify\", \"resume\" or \"any\"");
        }
        uint32_t sz = 0;
        if (get_uint(p, obj, "within_ms", &st->within_ms, 10000, 3600000) != 0 ||
            get_bool(p, obj, "ready", &st->flag, 1, 0) != 0 ||
            get_bool(p, obj, "hello", &st->send_hello, 1, 0) != 0 ||
            get_int(p, obj, "guilds", &st->guilds, 0, 0, 10000, 0) != 0 ||
            get_uint(p, obj, "ready_size", &sz, 0, 64u << 20) != 0 ||
            get_resume_url(p, obj, st) != 0)
            return -1;
        if (p->sharded && st->send_hello && cJSON_GetObjectItemCaseSensitive(obj, "hello"))
            return fail(p, "hello", "a sharded scenario sends HELLO as a connection opens (the shard is known only "
                                    "from the IDENTIFY or RESUME that answers it): leave it out");
        st->size = sz;
        return parse_checks(p, obj, st);
    }
    case MG_STEP_SEND: {
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(obj, "payload");
        if (!pl)
            return fail(p, "payload", "missing (required)");
        if (cJSON_IsString(pl)) {
            st->raw = strdup(pl->valuestring);
        } else if (cJSON_IsObject(pl)) {
            st->payload = cJSON_Duplicate(pl, 1);
        } else {
            return fail(p, "payload", "expected an object (a payload) or a string (raw text)");
        }
        return parse_shaping(p, obj, st);
    }
    case MG_STEP_DISPATCH: {
        if (get_event_name(p, obj, &st->t, 1) != 0)
            return -1;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "d");
        st->d = d ? cJSON_Duplicate(d, 1) : cJSON_CreateObject();
        if (get_int(p, obj, "count", &st->count, 1, 1, 1000000, 0) != 0 ||
            get_uint(p, obj, "interval_ms", &st->interval_ms, 0, 60000) != 0 ||
            get_bool(p, obj, "withhold", &st->withhold, 0, 0) != 0)
            return -1;
        return parse_shaping(p, obj, st);
    }
    case MG_STEP_STREAM: {
        if (p->sharded) /* one stream at a time per run (scenario_stream.c) */
            return fail(p, NULL, "a sharded scenario has no \"stream\" step (the gateway streams to one connection)");
        if (get_int(p, obj, "count", &st->count, 1, 1, 1000000000, 1) != 0 ||
            get_event_name(p, obj, &st->t, 0) != 0 ||
            get_uint(p, obj, "seed", &st->seed, 42, UINT32_MAX) != 0 ||
            get_int(p, obj, "distinct", &st->distinct, 4096, 1, 65536, 0) != 0 ||
            get_int(p, obj, "batch", &st->batch, 64, 1, 4096, 0) != 0 ||
            get_int(p, obj, "keep", &st->keep, 1000, 0, 100000, 0) != 0 ||
            get_bool(p, obj, "zlib_parts", &st->zlib_parts, 0, 0) != 0)
            return -1;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "d");
        if (d && !st->t)
            return fail(p, "d", "only with \"t\" (without t the payloads are generated)");
        static const char *const generated_only[] = {"seed", "distinct"};
        for (size_t i = 0; st->t && i < 2; i++)
            if (cJSON_GetObjectItemCaseSensitive(obj, generated_only[i]))
                return fail(p, generated_only[i], "only for generated payloads (without \"t\")");
        if (st->t)
            st->d = d ? cJSON_Duplicate(d, 1) : cJSON_CreateObject();
        return 0;
    }
    case MG_STEP_READY: {
        uint32_t sz = 0;
        if (get_uint(p, obj, "size", &sz, 0, 64u << 20) != 0 ||
            get_int(p, obj, "guilds", &st->guilds, 0, 0, 100000, 0) != 0 ||
            get_resume_url(p, obj, st) != 0)
            return -1;
        st->size = sz;
        return parse_shaping(p, obj, st);
    }
    case MG_STEP_INVALID_SESSION:
        return get_bool(p, obj, "resumable", &st->flag, 0, 1);
    case MG_STEP_ACK_MODE:
        if (get_bool(p, obj, "auto", &st->flag, 1, 1) != 0 ||
            get_uint(p, obj, "delay_ms", &st->ms, 0, 600000) != 0)
            return -1;
        if (!st->flag && st->ms)
            return fail(p, "delay_ms", "only with \"auto\": true");
        return 0;
    case MG_STEP_PING:
        if (get_str(p, obj, "payload", &st->ping, 0, 125) != 0)
            return -1;
        if (!st->ping)
            st->ping = strdup("mockgateway");
        return get_uint(p, obj, "within_ms", &st->within_ms, 3000, 3600000);
    case MG_STEP_CLOSE:
        if (get_int(p, obj, "code", &st->code, 0, 1000, 4999, 1) != 0 ||
            get_str(p, obj, "reason", &st->reason, 0, 123) != 0 ||
            get_bool(p, obj, "drop", &st->drop, 0, 0) != 0)
            return -1;
        return 0;
    case MG_STEP_REJECT: {
        if (!first_in_conn)
            return fail(p, NULL, "\"reject\" answers the upgrade, so it must be a connection's first step");
        if (p->sharded)
            return fail(p, NULL, "a sharded scenario accepts every upgrade (the shard is known only later): no \"reject\"");
        if (get_int(p, obj, "status", &st->status, 0, 200, 599, 1) != 0 ||
            get_str(p, obj, "body", &st->body, 0, 65536) != 0)
            return -1;
        if (st->status == 101)
            return fail(p, "status", "101 is not a rejection");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "headers");
        if (h) {
            if (!cJSON_IsObject(h))
                return fail(p, "headers", "expected an object of header name to string value");
            size_t total = 1;
            const cJSON *e;
            cJSON_ArrayForEach(e, h)
            {
                if (!cJSON_IsString(e) || strpbrk(e->valuestring, "\r\n") || strpbrk(e->string, "\r\n: "))
                    return fail(p, "headers", "header \"%.40s\" must be a single-line string", e->string);
                total += strlen(e->string) + strlen(e->valuestring) + 4;
            }
            st->headers = malloc(total);
            if (!st->headers)
                return fail(p, "headers", "out of memory");
            st->headers[0] = '\0';
            cJSON_ArrayForEach(e, h)
            {
                strcat(st->headers, e->string);
                strcat(st->headers, ": ");
                strcat(st->headers, e->valuestring);
                strcat(st->headers, "\r\n");
            }
        }
        return 0;
    }
    case MG_STEP_SLEEP:
        if (!cJSON_GetObjectItemCaseSensitive(obj, "ms"))
            return fail(p, "ms", "missing (required)");
        return get_uint(p, obj, "ms", &st->ms, 0, 3600000);
    case MG_STEP_EXPECT:
        if (get_int(p, obj, "op", &st->op, 0, 0, 255, 1) != 0 ||
            get_uint(p, obj, "within_ms", &st->within_ms, (uint32_t)ms_default, 3600000) != 0)
            return -1;
        return parse_checks(p, obj, st);
    case MG_STEP_EXPECT_HEARTBEAT:
        if (get_uint(p, obj, "within_ms", &st->within_ms, 0, 3600000) != 0 ||
            get_bool(p, obj, "check_seq", &st->check_seq, 1, 0) != 0 ||
            get_uint(p, obj, "lag_ms", &st->ms, 1000, 60000) != 0)
            return -1;
        return 0;
    case MG_STEP_EXPECT_IDENTIFY:
    case MG_STEP_EXPECT_RESUME:
        if (get_uint(p, obj, "within_ms", &st->within_ms, 10000, 3600000) != 0 ||
            get_uint(p, obj, "min_delay_ms", &st->min_delay_ms, 0, 3600000) != 0 ||
            get_bool(p, obj, "allow_reconnect", &st->allow_reconnect, 1, 0) != 0 ||
            get_bool(p, obj, "ready", &st->flag, 1, 0) != 0 ||
            (st->kind == MG_STEP_EXPECT_IDENTIFY && get_resume_url(p, obj, st) != 0))
            return -1;
        return parse_checks(p, obj, st);
    case MG_STEP_EXPECT_CLOSE: {
        int n = !!cJSON_GetObjectItemCaseSensitive(obj, "code") + !!cJSON_GetObjectItemCaseSensitive(obj, "codes") +
                !!cJSON_GetObjectItemCaseSensitive(obj, "not_codes");
        if (n > 1)
            return fail(p, "code", "give only one of code, codes, not_codes");
        if (cJSON_GetObjectItemCaseSensitive(obj, "code")) {
            if (get_int(p, obj, "code", &st->codes[0], 0, 1000, 4999, 1) != 0)
                return -1;
            st->ncodes = 1;
        } else if (cJSON_GetObjectItemCaseSensitive(obj, "codes")) {
            if (parse_codes(p, obj, "codes", st) != 0)
                return -1;
        } else if (cJSON_GetObjectItemCaseSensitive(obj, "not_codes")) {
            if (parse_codes(p, obj, "not_codes", st) != 0)
                return -1;
            st->codes_negated = 1;
        }
        return get_uint(p, obj, "within_ms", &st->within_ms, (uint32_t)ms_default, 3600000) != 0 ||
                       get_bool(p, obj, "allow_drop", &st->allow_drop, st->codes_negated || st->ncodes == 0, 0) != 0
                   ? -1
                   : 0;
    }
    case MG_STEP_EXPECT_NO_RECONNECT:
        if (!cJSON_GetObjectItemCaseSensitive(obj, "ms"))
            return fail(p, "ms", "missing (required)");
        return get_uint(p, obj, "ms", &st->ms, 0, 3600000);
    case MG_STEP_HEARTBEAT_REQUEST:
        return get_int(p, obj, "count", &st->count, 1, 1, 10000, 0);
    case MG_STEP_RESTART:
        return get_uint(p, obj, "grace_ms", &st->ms, 5000, 600000);
    case MG_STEP_RECONNECT:
    case MG_STEP_HEARTBEAT_ACK:
    case MG_STEP_DROP:
    case MG_STEP__COUNT:
        break;
    }
    return 0;
}

static void step_free(mg_step *st)
{
    cJSON_Delete(st->payload);
    cJSON_Delete(st->d);
    free(st->raw);
    free(st->t);
    free(st->reason);
    free(st->body);
    free(st->headers);
    free(st->ping);
    free(st->resume_url);
    for (size_t i = 0; i < st->nchecks; i++)
        cJSON_Delete(st->checks[i].value);
    free(st->checks);
}

void mg_scenario_free(mg_scenario *sc)
{
    for (size_t i = 0; i < sc->nconns; i++) {
        for (size_t j = 0; j < sc->conns[i].nsteps; j++)
            step_free(&sc->conns[i].steps[j]);
        free(sc->conns[i].steps);
    }
    free(sc->conns);
    for (size_t i = 0; i < sc->nclient_args; i++)
        free(sc->client_args[i]);
    free(sc->client_args);
    free(sc->name);
    free(sc->rule);
    free(sc->description);
    free(sc->path);
    free(sc->compress);
    free(sc->encoding);
    free(sc->session_id);
    memset(sc, 0, sizeof *sc);
}

static int check_top_fields(pctx *p, const cJSON *obj, const char *allowed)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, obj)
    {
        char pat[80];
        snprintf(pat, sizeof pat, " %s ", f->string);
        if (!strstr(allowed, pat))
            return fail(p, f->string, "unknown field (allowed:%s)", allowed);
    }
    return 0;
}

/* "requires": capability names (mg_requirement_names). */
static int parse_requires(pctx *p, const cJSON *root, mg_scenario *sc)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "requires");
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 8)
        return fail(p, "requires", "expected an array of at most 8 feature names");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        unsigned bit = 0;
        for (unsigned i = 0; cJSON_IsString(e) && mg_requirement_names[i]; i++)
            if (strcmp(e->valuestring, mg_requirement_names[i]) == 0)
                bit = 1u << i;
        if (!bit)
            return fail(p, "requires", "unknown requirement (known: \"sharding\", \"restart\", \"zlib-stream\", "
                                       "\"zstd-stream\", \"etf\", \"payload-compression\", \"request-channel-info\")");
        sc->requires |= bit;
    }
    return 0;
}

/* "shards": the sharded scenario's bot (scenarios/README.md). */
static int parse_shards(pctx *p, const cJSON *root, mg_scenario *sc)
{
    mg_scenario_shards *sh = &sc->shards;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "shards");
    if (!o)
        return 0;
    if (!cJSON_IsObject(o))
        return fail(p, "shards", "expected an object with \"count\"");
    uint32_t window = 0;
    if (check_top_fields(p, o, " count max_concurrency identify_window_ms gateway_bot_shards "
                               "session_start_limit all_ready ") != 0 ||
        get_int(p, o, "count", &sh->count, 0, 1, MG_SCENARIO_MAX_SHARDS, 1) != 0 ||
        get_int(p, o, "max_concurrency", &sh->max_concurrency, 1, 1, 1024, 0) != 0 ||
        get_uint(p, o, "identify_window_ms", &window, 5000, 3600000) != 0 ||
        get_int(p, o, "gateway_bot_shards", &sh->gateway_bot_shards, sh->count, 1, 65536, 0) != 0 ||
        get_bool(p, o, "all_ready", &sh->all_ready, 1, 0) != 0)
        return -1;
    sh->identify_window_ms = window;
    sh->total = sh->remaining = 1000;
    sh->reset_after_ms = 86400000;
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(o, "session_start_limit");
    if (lim) {
        if (!cJSON_IsObject(lim))
            return fail(p, "session_start_limit", "expected an object");
        if (check_top_fields(p, lim, " total remaining reset_after ") != 0 ||
            get_uint(p, lim, "total", &sh->total, 1000, 1000000) != 0 ||
            get_uint(p, lim, "remaining", &sh->remaining, sh->total, 1000000) != 0 ||
            get_uint(p, lim, "reset_after", &sh->reset_after_ms, 86400000, 86400000) != 0)
            return -1;
        if (sh->total == 0)
            return fail(p, "total", "must be positive");
        if (sh->remaining > sh->total) /* what a gateway would report: a full budget */
            sh->remaining = sh->total;
    }
    if (sc->session_id)
        return fail(p, "session_id", "not in a sharded scenario: each shard's session needs an id of its own "
                                     "(a RESUME names its shard by it)");
    p->sharded = 1;
    sc->requires |= MG_REQUIRES_SHARDING;
    return 0;
}

/* A connection entry's "shard": the shards whose script it is part of. */
static int get_shard_mask(pctx *p, const cJSON *c, int shards, uint64_t *mask)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, "shard");
    *mask = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > MG_SCENARIO_MAX_SHARDS)
        return fail(p, "shard", "expected an array of 1 to %d shard ids", MG_SCENARIO_MAX_SHARDS);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
            e->valuedouble >= MG_SCENARIO_MAX_SHARDS)
            return fail(p, "shard", "shard ids are integers from 0 to %d", MG_SCENARIO_MAX_SHARDS - 1);
        if (e->valuedouble >= shards)
            return fail(p, "shard", "no shard %d: the scenario has %d (top-level \"shards\")", (int)e->valuedouble,
                        shards);
        *mask |= 1ull << (int)e->valuedouble;
    }
    return 0;
}

static int parse_all(pctx *p, const cJSON *root, mg_scenario *sc)
{
    if (!cJSON_IsObject(root))
        return fail(p, NULL, "the top level must be an object");
    if (check_top_fields(p, root, " name rule description options client_args limits connections comment "
                                  "requires shards ") != 0 ||
        get_str(p, root, "name", &sc->name, 1, 200) != 0 || get_str(p, root, "rule", &sc->rule, 1, 2000) != 0 ||
        get_str(p, root, "description", &sc->description, 0, 8000) != 0)
        return -1;
    for (const char *c = sc->name; *c; c++)
        if (*c == '/' || (unsigned char)*c < 0x20)
            return fail(p, "name", "must not contain '/' or control characters (it names the transcript file)");
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(root, "options");
    sc->heartbeat_interval = 41250;
    sc->timeout_ms = 60000;
    if (opt) {
        if (!cJSON_IsObject(opt))
            return fail(p, "options", "expected an object");
        if (check_top_fields(p, opt, " compress encoding session_id heartbeat_interval v timeout_ms ") != 0 ||
            get_str(p, opt, "compress", &sc->compress, 0, 32) != 0 ||
            get_str(p, opt, "encoding", &sc->encoding, 0, 32) != 0 ||
            get_str(p, opt, "session_id", &sc->session_id, 0, 32) != 0 ||
            get_uint(p, opt, "heartbeat_interval", &sc->heartbeat_interval, 41250, 3600000) != 0 ||
            get_int(p, opt, "v", &sc->version, 0, 0, 100, 0) != 0 ||
            get_uint(p, opt, "timeout_ms", &sc->timeout_ms, 60000, 3600000) != 0)
            return -1;
        if (sc->compress && strcmp(sc->compress, "zlib-stream") != 0 && strcmp(sc->compress, "zstd-stream") != 0)
            return fail(p, "compress", "expected \"zlib-stream\" or \"zstd-stream\"");
        if (sc->encoding && strcmp(sc->encoding, "json") != 0 && strcmp(sc->encoding, "etf") != 0)
            return fail(p, "encoding", "expected \"json\" or \"etf\"");
        if (sc->session_id && (!sc->session_id[0] || strspn(sc->session_id, "0123456789abcdefABCDEF") !=
                                                             strlen(sc->session_id)))
            return fail(p, "session_id", "expected 1 to 32 hex digits");
        if (sc->heartbeat_interval == 0)
            return fail(p, "heartbeat_interval", "must be positive");
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "client_args");
    if (args) {
        if (!cJSON_IsArray(args))
            return fail(p, "client_args", "expected an array of strings");
        int n = cJSON_GetArraySize(args);
        if (n > 64)
            return fail(p, "client_args", "more than 64 arguments");
        sc->client_args = calloc((size_t)n + 1, sizeof *sc->client_args);
        if (!sc->client_args)
            return fail(p, "client_args", "out of memory");
        const cJSON *a;
        cJSON_ArrayForEach(a, args)
        {
            if (!cJSON_IsString(a))
                return fail(p, "client_args", "entry %zu is not a string", sc->nclient_args);
            sc->client_args[sc->nclient_args++] = strdup(a->valuestring);
        }
    }
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(root, "limits");
    if (lim) {
        uint32_t mc = 0, mn = 0;
        if (!cJSON_IsObject(lim))
            return fail(p, "limits", "expected an object");
        if (check_top_fields(p, lim, " max_commands window_ms max_connections connections_window_ms "
                                     "identify_interval_ms ") != 0 ||
            get_uint(p, lim, "max_commands", &mc, 0, 1000000) != 0 ||
            get_uint(p, lim, "window_ms", &sc->commands_window_ms, 60000, 3600000) != 0 ||
            get_uint(p, lim, "max_connections", &mn, 0, 1000000) != 0 ||
            get_uint(p, lim, "connections_window_ms", &sc->connections_window_ms, 60000, 3600000) != 0 ||
            get_uint(p, lim, "identify_interval_ms", &sc->identify_interval_ms, 0, 3600000) != 0)
            return -1;
        sc->max_commands = mc;
        sc->max_connections = mn;
    }
    if (parse_requires(p, root, sc) != 0 || parse_shards(p, root, sc) != 0)
        return -1;
    const cJSON *conns = cJSON_GetObjectItemCaseSensitive(root, "connections");
    if (!conns)
        return fail(p, "connections", "missing (required)");
    if (!cJSON_IsArray(conns) || cJSON_GetArraySize(conns) < 1 || cJSON_GetArraySize(conns) > 1000)
        return fail(p, "connections", "expected an array of 1 to 1000 connection scripts");
    int nc = cJSON_GetArraySize(conns);
    sc->conns = calloc((size_t)nc, sizeof *sc->conns);
    if (!sc->conns)
        return fail(p, "connections", "out of memory");
    const cJSON *c;
    cJSON_ArrayForEach(c, conns)
    {
        p->conn = (long)sc->nconns;
        p->step = -1;
        mg_scenario_conn *sconn = &sc->conns[sc->nconns++];
        if (!cJSON_IsObject(c))
            return fail(p, NULL, "a connection must be an object with \"steps\"");
        if (check_top_fields(p, c, " within_ms min_delay_ms steps absent_ms comment shard ") != 0 ||
            get_uint(p, c, "within_ms", &sconn->within_ms, 10000, 3600000) != 0 ||
            get_uint(p, c, "min_delay_ms", &sconn->min_delay_ms, 0, 3600000) != 0 ||
            get_uint(p, c, "absent_ms", &sconn->absent_ms, 0, 3600000) != 0 ||
            get_shard_mask(p, c, sc->shards.count ? sc->shards.count : 1, &sconn->shard_mask) != 0)
            return -1;
        if (cJSON_GetObjectItemCaseSensitive(c, "absent_ms") && sconn->absent_ms == 0)
            return fail(p, "absent_ms", "expected an integer from 1 to 3600000");
        if (sconn->absent_ms && p->sharded)
            return fail(p, "absent_ms", "not in a sharded scenario: a connection is a shard's only once it "
                                        "IDENTIFYs or RESUMEs, and one that must not come never does");
        if (sconn->absent_ms) {
            /* No connection may come: nothing to script on it. */
            const cJSON *none = cJSON_GetObjectItemCaseSensitive(c, "steps");
            if (!cJSON_IsArray(none) || cJSON_GetArraySize(none) != 0 ||
                cJSON_GetObjectItemCaseSensitive(c, "within_ms") || cJSON_GetObjectItemCaseSensitive(c, "min_delay_ms"))
                return fail(p, "absent_ms",
                            "a connection that must not come has empty steps and no within_ms or min_delay_ms");
            continue;
        }
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(c, "steps");
        if (!steps)
            return fail(p, "steps", "missing (required)");
        if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) > 10000)
            return fail(p, "steps", "expected an array of steps");
        int ns = cJSON_GetArraySize(steps);
        sconn->steps = calloc((size_t)ns + 1, sizeof *sconn->steps);
        if (!sconn->steps)
            return fail(p, "steps", "out of memory");
        const cJSON *s;
        cJSON_ArrayForEach(s, steps)
        {
            p->step = (long)sconn->nsteps;
            p->steptype = NULL;
            mg_step *st = &sconn->steps[sconn->nsteps++];
            st->index = (int)p->step;
            if (parse_step(p, s, st, p->step == 0) != 0)
                return -1;
            if (st->kind == MG_STEP_RESTART)
                sc->requires |= MG_REQUIRES_RESTART;
        }
    }
    return 0;
}

int mg_scenario_parse(const char *json, size_t len, const char *filename, mg_scenario *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    pctx p = {filename, 0, -1, -1, NULL, err, errlen};
    if (errlen)
        err[0] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off; i++)
            line += json[i] == '\n';
        return fail(&p, NULL, "not valid JSON (near byte %zu, line %zu)", off, line);
    }
    int rc = parse_all(&p, root, out);
    cJSON_Delete(root);
    if (rc != 0) {
        mg_scenario_free(out);
        return -1;
    }
    if (filename)
        out->path = strdup(filename);
    return 0;
}

int mg_scenario_load(const char *path, mg_scenario *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (16u << 20)) {
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large or out of memory", path);
        return -1;
    }
    int rc = mg_scenario_parse(buf, n, path, out, err, errlen);
    free(buf);
    return rc;
}

const cJSON *mg_json_pointer(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    if (!path || !*path)
        return root;
    if (*path != '/')
        return NULL;
    const char *p = path + 1;
    for (;;) {
        char tok[128];
        size_t n = 0;
        while (*p && *p != '/' && n < sizeof tok - 1) {
            if (*p == '~' && p[1] == '1') {
                tok[n++] = '/';
                p += 2;
            } else if (*p == '~' && p[1] == '0') {
                tok[n++] = '~';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        } else if (cJSON_IsArray(cur)) {
            char *e = NULL;
            long idx = strtol(tok, &e, 10);
            if (!n || *e || idx < 0 || idx > 1000000)
                return NULL;
            cur = cJSON_GetArrayItem(cur, (int)idx);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
        if (*p != '/')
            return cur;
        p++;
    }
}
