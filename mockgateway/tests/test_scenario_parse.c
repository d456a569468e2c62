/* The scenario parser: every shipped scenario parses; bad files get errors
 * that name the file, the step and the field. */
#include <criterion/criterion.h>
#include <string.h>

#include "runner.h"
#include "scenario.h"

#ifndef MG_SCENARIO_DIR
#error "MG_SCENARIO_DIR must point at scenarios/"
#endif

Test(scenarios, every_shipped_scenario_parses)
{
    const char *dirs[] = {MG_SCENARIO_DIR};
    char **files = NULL;
    char err[1024];
    int n = mg_collect_scenarios(dirs, 1, &files, err, sizeof err);
    cr_assert_geq(n, 30, "want at least 30 scenarios, found %d (%s)", n, n < 0 ? err : "");
    int names_ok = 1;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(files[i]);
        if (l > 12 && strcmp(files[i] + l - 12, ".schema.json") == 0)
            continue; /* scenarios/scenario.schema.json: the format's JSON Schema, not a scenario */
        mg_scenario sc;
        cr_expect_eq(mg_scenario_load(files[i], &sc, err, sizeof err), 0, "%s", err);
        if (sc.name)
            names_ok &= sc.rule && strstr(sc.rule, "PROTOCOL.md") != NULL;
        cr_expect(sc.rule && strstr(sc.rule, "PROTOCOL.md"), "%s: the rule must cite PROTOCOL.md", files[i]);
        mg_scenario_free(&sc);
    }
    cr_assert(names_ok);
    mg_free_paths(files, (size_t)n);
}

static int parse(const char *json, char *err, size_t errlen)
{
    mg_scenario sc;
    int rc = mg_scenario_parse(json, strlen(json), "bad.json", &sc, err, errlen);
    if (rc == 0)
        mg_scenario_free(&sc);
    return rc;
}

Test(scenarios, a_minimal_scenario_parses_with_defaults)
{
    const char *j = "{\"name\":\"n\",\"rule\":\"PROTOCOL.md 3\",\"connections\":[{\"steps\":[{\"type\":\"handshake\"}]}]}";
    mg_scenario sc;
    char err[512];
    cr_assert_eq(mg_scenario_parse(j, strlen(j), NULL, &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sc.heartbeat_interval, 41250);
    cr_assert_eq(sc.nconns, 1);
    cr_assert_eq(sc.conns[0].within_ms, 10000);
    cr_assert_eq(sc.conns[0].steps[0].kind, MG_STEP_HANDSHAKE);
    cr_assert_eq(sc.conns[0].steps[0].expect, MG_HS_IDENTIFY);
    cr_assert_eq(sc.conns[0].steps[0].flag, 1, "READY by default");
    mg_scenario_free(&sc);
}

Test(scenarios, every_step_type_parses)
{
    const char *j =
        "{\"name\":\"all\",\"rule\":\"r\",\"options\":{\"compress\":\"zlib-stream\",\"heartbeat_interval\":500,\"v\":10},"
        "\"client_args\":[\"--x\"],\"limits\":{\"max_commands\":5,\"window_ms\":1000},"
        "\"connections\":[{\"steps\":[{\"type\":\"reject\",\"status\":503,\"headers\":{\"Retry-After\":\"1\"},\"body\":\"b\"}]},"
        "{\"within_ms\":100,\"min_delay_ms\":5,\"steps\":["
        "{\"type\":\"hello\",\"interval\":100},{\"type\":\"handshake\",\"expect\":\"any\",\"guilds\":2},"
        "{\"type\":\"send\",\"payload\":{\"op\":0,\"t\":\"X\",\"d\":{}},\"frame_splits\":[1,-1],\"write_chunk\":3},"
        "{\"type\":\"send\",\"payload\":\"{\\\"op\\\":0,\\\"s\\\":{{next_seq}}}\",\"message_splits\":[-2]},"
        "{\"type\":\"dispatch\",\"t\":\"MESSAGE_CREATE\",\"count\":3,\"withhold\":true,\"ping_between_frames\":\"p\"},"
        "{\"type\":\"ready\",\"size\":1000},{\"type\":\"reconnect\"},{\"type\":\"invalid_session\",\"resumable\":true},"
        "{\"type\":\"heartbeat_request\",\"count\":2},{\"type\":\"heartbeat_ack\"},{\"type\":\"ack_mode\",\"auto\":false},"
        "{\"type\":\"ping\",\"payload\":\"x\"},{\"type\":\"sleep\",\"ms\":1},"
        "{\"type\":\"expect\",\"op\":6,\"checks\":[{\"path\":\"/d/seq\",\"equals\":\"{{seq}}\"},{\"path\":\"/d/x\",\"exists\":false},"
        "{\"path\":\"/d/token\",\"type\":\"string\"},{\"path\":\"/d\",\"not_equals\":null}]},"
        "{\"type\":\"expect_heartbeat\",\"lag_ms\":10},{\"type\":\"expect_identify\",\"min_delay_ms\":1000},"
        "{\"type\":\"expect_close\",\"not_codes\":[1000,1001]},{\"type\":\"close\",\"code\":4000,\"reason\":\"r\"},"
        "{\"type\":\"drop\"},{\"type\":\"expect_no_reconnect\",\"ms\":10},"
        "{\"type\":\"expect_resume\",\"allow_reconnect\":false,\"within_ms\":100}]}]}";
    mg_scenario sc;
    char err[512];
    cr_assert_eq(mg_scenario_parse(j, strlen(j), NULL, &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sc.nconns, 2);
    cr_assert_eq(sc.conns[1].nsteps, 21);
    cr_assert_eq(sc.conns[1].steps[20].kind, MG_STEP_EXPECT_RESUME);
    cr_assert_str_eq(sc.conns[0].steps[0].headers, "Retry-After: 1\r\n");
    cr_assert_eq(sc.conns[1].steps[16].codes_negated, 1);
    cr_assert_eq(sc.conns[1].steps[16].allow_drop, 1);
    mg_scenario_free(&sc);
}

#define WRAP(steps) "{\"name\":\"n\",\"rule\":\"r\",\"connections\":[{\"steps\":[{\"type\":\"handshake\"}," steps "]}]}"

Test(scenarios, stream_steps_parse_with_defaults_and_reject_mixed_forms)
{
    const char *j = WRAP("{\"type\":\"stream\",\"count\":100000},"
                         "{\"type\":\"stream\",\"count\":5,\"t\":\"TYPING_START\",\"d\":{\"a\":1},\"batch\":2,\"keep\":0},"
                         "{\"type\":\"stream\",\"count\":7,\"seed\":7,\"distinct\":3,\"zlib_parts\":true}");
    mg_scenario sc;
    char err[512];
    cr_assert_eq(mg_scenario_parse(j, strlen(j), NULL, &sc, err, sizeof err), 0, "%s", err);
    const mg_step *gen = &sc.conns[0].steps[1], *fixed = &sc.conns[0].steps[2], *seeded = &sc.conns[0].steps[3];
    cr_assert_eq(gen->kind, MG_STEP_STREAM);
    cr_assert_eq(gen->count, 100000);
    cr_assert_null(gen->t, "no t: generated payloads");
    cr_assert_eq(gen->seed, 42);
    cr_assert_eq(gen->distinct, 4096);
    cr_assert_eq(gen->batch, 64);
    cr_assert_eq(gen->keep, 1000);
    cr_assert_str_eq(fixed->t, "TYPING_START");
    cr_assert_not_null(fixed->d);
    cr_assert_eq(fixed->batch, 2);
    cr_assert_eq(fixed->keep, 0);
    cr_assert_eq(seeded->seed, 7);
    cr_assert_eq(seeded->distinct, 3);
    cr_assert_eq(seeded->zlib_parts, 1);
    cr_assert_eq(gen->zlib_parts, 0);
    mg_scenario_free(&sc);

    cr_assert_eq(parse(WRAP("{\"type\":\"stream\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"count\"") && strstr(err, "missing"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":0}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"count\""), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":1,\"d\":{}}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"d\"") && strstr(err, "only with"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":1,\"t\":\"X\",\"seed\":1}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"seed\"") && strstr(err, "generated"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":1,\"t\":\"lower\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"t\""), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":1,\"frame_chunk\":3}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"frame_chunk\"") && strstr(err, "unknown"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"stream\",\"count\":1,\"batch\":0}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"batch\""), "%s", err);
}

Test(scenarios, unknown_step_names_file_step_and_field)
{
    char err[512];
    cr_assert_eq(parse(WRAP("{\"type\":\"dance\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "bad.json") && strstr(err, "connections[0].steps[1]") && strstr(err, "\"type\"") &&
                  strstr(err, "dance"),
              "%s", err);
}

Test(scenarios, wrong_types_are_reported)
{
    char err[512];
    cr_assert_eq(parse(WRAP("{\"type\":\"sleep\",\"ms\":\"ten\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "steps[1] (\"sleep\")") && strstr(err, "field \"ms\""), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"ack_mode\",\"auto\":1}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"auto\"") && strstr(err, "true or false"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"send\",\"payload\":5}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"payload\""), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"expect_close\",\"codes\":[999]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"codes\""), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"expect\",\"op\":1,\"checks\":[{\"path\":\"d\"}]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"checks\""), "%s", err);
}

Test(scenarios, missing_fields_are_reported)
{
    char err[512];
    cr_assert_eq(parse(WRAP("{\"type\":\"close\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "steps[1] (\"close\")") && strstr(err, "field \"code\"") && strstr(err, "missing"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"expect\"}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"op\""), "%s", err);
    cr_assert_eq(parse("{\"rule\":\"r\",\"connections\":[]}", err, sizeof err), -1);
    cr_assert(strstr(err, "field \"name\""), "%s", err);
    cr_assert_eq(parse("{\"name\":\"n\",\"rule\":\"r\"}", err, sizeof err), -1);
    cr_assert(strstr(err, "field \"connections\""), "%s", err);
}

Test(scenarios, unknown_fields_and_misplaced_reject_are_errors)
{
    char err[512];
    cr_assert_eq(parse(WRAP("{\"type\":\"sleep\",\"ms\":1,\"msec\":2}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"msec\"") && strstr(err, "unknown"), "%s", err);
    cr_assert_eq(parse(WRAP("{\"type\":\"reject\",\"status\":503}"), err, sizeof err), -1);
    cr_assert(strstr(err, "first step"), "%s", err);
    cr_assert_eq(parse("{\"name\":\"n\",\"rule\":\"r\",\"options\":{\"compress\":\"lz4\"},\"connections\":[{\"steps\":[]}]}",
                       err, sizeof err), -1);
    cr_assert(strstr(err, "field \"compress\""), "%s", err);
}

/* A sharded scenario: "shards", per-entry "shard" masks, "requires". */
#define SHARDED(extra_top, conns) \
    "{\"name\":\"n\",\"rule\":\"r\",\"shards\":{\"count\":3,\"max_concurrency\":2}" extra_top ",\"connections\":[" conns "]}"

Test(scenarios, a_sharded_scenario_parses_its_bot_its_lanes_and_its_requirements)
{
    const char *j = SHARDED(",\"requires\":[\"sharding\"]",
                            "{\"steps\":[{\"type\":\"handshake\"}]},"
                            "{\"shard\":[0,2],\"steps\":[{\"type\":\"restart\",\"grace_ms\":3000}]}");
    mg_scenario sc;
    char err[512];
    cr_assert_eq(mg_scenario_parse(j, strlen(j), NULL, &sc, err, sizeof err), 0, "%s", err);
    cr_expect_eq(sc.shards.count, 3);
    cr_expect_eq(sc.shards.max_concurrency, 2);
    cr_expect_eq(sc.shards.gateway_bot_shards, 3, "GET /gateway/bot says count by default");
    cr_expect_eq(sc.shards.identify_window_ms, 5000);
    cr_expect_eq(sc.shards.total, 1000);
    cr_expect_eq(sc.shards.remaining, 1000);
    cr_expect_eq(sc.shards.all_ready, 1);
    cr_expect_eq(sc.conns[0].shard_mask, 0, "no \"shard\": every shard's");
    cr_expect_eq(sc.conns[1].shard_mask, 5);
    cr_expect_eq(sc.conns[1].steps[0].ms, 3000);
    cr_expect_eq(sc.requires, MG_REQUIRES_SHARDING | MG_REQUIRES_RESTART, "a restart step implies \"restart\"");
    mg_scenario_free(&sc);
}

Test(scenarios, sharded_scenarios_refuse_what_needs_the_shard_before_it_is_known)
{
    char err[512];
    /* a shard the scenario does not have */
    cr_assert_eq(parse(SHARDED("", "{\"shard\":[3],\"steps\":[]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"shard\"") && strstr(err, "no shard 3"), "%s", err);
    /* the upgrade is answered before the shard is known */
    cr_assert_eq(parse(SHARDED("", "{\"steps\":[{\"type\":\"reject\",\"status\":503}]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "no \"reject\""), "%s", err);
    cr_assert_eq(parse(SHARDED("", "{\"steps\":[{\"type\":\"handshake\",\"hello\":true}]}"), err, sizeof err),
                 -1);
    cr_assert(strstr(err, "field \"hello\""), "%s", err);
    /* a connection joins a lane only by its IDENTIFY or RESUME */
    cr_assert_eq(parse(SHARDED("", "{\"steps\":[{\"type\":\"handshake\"}]},{\"absent_ms\":500,\"steps\":[]}"), err,
                       sizeof err), -1);
    cr_assert(strstr(err, "field \"absent_ms\"") && strstr(err, "sharded"), "%s", err);
    /* a RESUME names its lane by its session id: one per shard */
    cr_assert_eq(parse(SHARDED(",\"options\":{\"session_id\":\"abcd\"}", "{\"steps\":[]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"session_id\"") && strstr(err, "sharded"), "%s", err);
    cr_assert_eq(parse(SHARDED(",\"requires\":[\"telepathy\"]", "{\"steps\":[]}"), err, sizeof err), -1);
    cr_assert(strstr(err, "field \"requires\"") && strstr(err, "unknown requirement"), "%s", err);
    /* not sharded: shard 0 only */
    cr_assert_eq(parse("{\"name\":\"n\",\"rule\":\"r\",\"connections\":[{\"shard\":[1],\"steps\":[]}]}", err,
                       sizeof err), -1);
    cr_assert(strstr(err, "no shard 1"), "%s", err);
}

Test(scenarios, invalid_json_says_where)
{
    char err[512];
    cr_assert_eq(parse("{\"name\":\n\"n\",,}", err, sizeof err), -1);
    cr_assert(strstr(err, "bad.json") && strstr(err, "not valid JSON") && strstr(err, "line 2"), "%s", err);
    cr_assert_eq(parse("", err, sizeof err), -1);
}

Test(scenarios, json_pointer)
{
    cJSON *j = cJSON_Parse("{\"d\":{\"a/b\":1,\"list\":[10,20]}}");
    cr_assert_eq(mg_json_pointer(j, "/d/list/1")->valueint, 20);
    cr_assert_eq(mg_json_pointer(j, "/d/a~1b")->valueint, 1);
    cr_assert_null(mg_json_pointer(j, "/d/list/2"));
    cr_assert_null(mg_json_pointer(j, "/d/list/x"));
    cr_assert_eq(mg_json_pointer(j, ""), j);
    cJSON_Delete(j);
}

/* ---- The JSON Schema (scenarios/scenario.schema.json) and the parser agree ----
 *
 * Everything here is driven by the schema: the step types are its
 * $defs/step enum, each type's fields are $defs/step_TYPE's properties, the
 * values tried come from each field's examples/const/enum/type/minimum, and
 * ranges from minimum/maximum/maxLength/maxItems. So a step type or field
 * added to one of the parser and the schema but not the other fails here. */
#ifndef MG_SCHEMA_PATH
#error "MG_SCHEMA_PATH must point at scenarios/scenario.schema.json"
#endif
#ifndef MG_BAD_SCENARIO_DIR
#error "MG_BAD_SCENARIO_DIR must point at mockgateway/tests/bad-scenarios"
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static cJSON *schema_root;

static void schema_load(void)
{
    FILE *f = fopen(MG_SCHEMA_PATH, "rb");
    cr_assert_not_null(f, "cannot open %s", MG_SCHEMA_PATH);
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    cr_assert_lt(n, sizeof buf - 1, "%s: larger than the test's buffer", MG_SCHEMA_PATH);
    buf[n] = '\0';
    schema_root = cJSON_ParseWithLength(buf, n);
    cr_assert_not_null(schema_root, "%s: not valid JSON", MG_SCHEMA_PATH);
}

static void schema_unload(void)
{
    cJSON_Delete(schema_root);
    schema_root = NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const cJSON *schema_def(const char *name)
{
    const cJSON *d = get(get(schema_root, "$defs"), name);
    cr_assert_not_null(d, "the schema has no $defs/%s", name);
    return d;
}

/* A keyword of a subschema, following local "$ref": "#/$defs/NAME" (a
 * keyword next to $ref wins, as in draft 2020-12 both apply). */
static const cJSON *kw(const cJSON *s, const char *k)
{
    for (int depth = 0; s && depth < 16; depth++) {
        const cJSON *v = get(s, k);
        if (v)
            return v;
        const cJSON *r = get(s, "$ref");
        if (!cJSON_IsString(r))
            return NULL;
        cr_assert(strncmp(r->valuestring, "#/$defs/", 8) == 0, "unsupported $ref %s", r->valuestring);
        s = schema_def(r->valuestring + 8);
    }
    return NULL;
}

static int has_type(const cJSON *s, const char *t)
{
    const cJSON *ty = kw(s, "type");
    if (cJSON_IsString(ty))
        return strcmp(ty->valuestring, t) == 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ty) if (cJSON_IsString(e) && strcmp(e->valuestring, t) == 0) return 1;
    return 0;
}

/* A value the schema accepts for s: its first example, const or enum value,
 * else the smallest value of its (first) type with its required fields. */
static cJSON *sample(const cJSON *s, int depth)
{
    cr_assert_lt(depth, 16, "schema too deep");
    const cJSON *v;
    if ((v = kw(s, "examples")) && cJSON_GetArraySize(v) > 0)
        return cJSON_Duplicate(cJSON_GetArrayItem(v, 0), 1);
    if ((v = kw(s, "const")))
        return cJSON_Duplicate(v, 1);
    if ((v = kw(s, "enum")))
        return cJSON_Duplicate(cJSON_GetArrayItem(v, 0), 1);
    const cJSON *ty = kw(s, "type");
    const char *t = cJSON_IsString(ty) ? ty->valuestring
                    : cJSON_IsArray(ty) ? cJSON_GetArrayItem(ty, 0)->valuestring
                                        : "null";
    if (strcmp(t, "integer") == 0 || strcmp(t, "number") == 0) {
        const cJSON *min = kw(s, "minimum");
        return cJSON_CreateNumber(min ? min->valuedouble : 0);
    }
    if (strcmp(t, "boolean") == 0)
        return cJSON_CreateTrue();
    if (strcmp(t, "string") == 0)
        return cJSON_CreateString("");
    if (strcmp(t, "array") == 0) {
        cJSON *a = cJSON_CreateArray();
        const cJSON *min = kw(s, "minItems");
        for (int i = 0; min && i < min->valueint; i++)
            cJSON_AddItemToArray(a, sample(kw(s, "items"), depth + 1));
        return a;
    }
    if (strcmp(t, "object") == 0) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *r;
        cJSON_ArrayForEach(r, kw(s, "required"))
            cJSON_AddItemToObject(o, r->valuestring, sample(get(kw(s, "properties"), r->valuestring), depth + 1));
        return o;
    }
    return cJSON_CreateNull();
}

/* Where a field under test goes. */
typedef enum { AT_TOP, AT_OPTIONS, AT_LIMITS, AT_SHARDS, AT_SESSION_LIMIT, AT_CONNECTION, AT_STEP } place;

static const cJSON *place_schema(place at, const char *steptype)
{
    char name[64];
    switch (at) {
    case AT_TOP:
        return schema_root;
    case AT_OPTIONS:
        return get(get(schema_root, "properties"), "options");
    case AT_LIMITS:
        return get(get(schema_root, "properties"), "limits");
    case AT_SHARDS:
        return get(get(schema_root, "properties"), "shards");
    case AT_SESSION_LIMIT:
        return get(get(place_schema(AT_SHARDS, NULL), "properties"), "session_start_limit");
    case AT_CONNECTION:
        return schema_def("connection");
    case AT_STEP:
        snprintf(name, sizeof name, "step_%s", steptype ? steptype : "");
        return schema_def(name);
    }
    return NULL;
}

/* The minimal scenario the schema allows, with the object at `at` made
 * present and field set to value (owned; NULL: field removed); then runs
 * the parser on it. Returns the parser's result; the text is in doc. */
static int try_field(place at, const char *steptype, const char *field, cJSON *value, char *doc, size_t doclen,
                     char *err, size_t errlen)
{
    cJSON *root = sample(schema_root, 0);
    cJSON *target = root;
    cJSON *conn = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "connections"), 0);
    cr_assert_not_null(conn, "the minimal scenario has no connection");
    if (at == AT_OPTIONS || at == AT_LIMITS) {
        target = cJSON_AddObjectToObject(root, at == AT_OPTIONS ? "options" : "limits");
    } else if (at == AT_SHARDS || at == AT_SESSION_LIMIT) {
        target = sample(place_schema(AT_SHARDS, NULL), 0);
        cJSON_AddItemToObject(root, "shards", target);
        if (at == AT_SESSION_LIMIT)
            target = cJSON_AddObjectToObject(target, "session_start_limit");
    } else if (at == AT_CONNECTION) {
        target = conn;
    } else if (at == AT_STEP) {
        target = sample(place_schema(AT_STEP, steptype), 0);
        cJSON_DeleteItemFromObjectCaseSensitive(target, "type");
        cJSON_AddItemToObject(target, "type", cJSON_CreateString(steptype));
        cJSON *steps = cJSON_CreateArray();
        cJSON_AddItemToArray(steps, target);
        cJSON_ReplaceItemInObjectCaseSensitive(conn, "steps", steps);
    }
    if (field) {
        cJSON_DeleteItemFromObjectCaseSensitive(target, field);
        if (value)
            cJSON_AddItemToObject(target, field, value);
        /* Fields the schema says must come with this one (dependentRequired). */
        const cJSON *ps = place_schema(at, steptype), *dep;
        const cJSON *deps = value ? get(get(ps, "dependentRequired"), field) : NULL;
        cJSON_ArrayForEach(dep, deps)
            if (!cJSON_GetObjectItemCaseSensitive(target, dep->valuestring))
                cJSON_AddItemToObject(target, dep->valuestring, sample(get(get(ps, "properties"), dep->valuestring), 0));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    cr_assert_not_null(text);
    snprintf(doc, doclen, "%s", text);
    int rc = parse(text, err, errlen);
    free(text);
    return rc;
}

static void names_of(const cJSON *props, const char ***names, size_t *n)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, props)
    {
        size_t i = 0;
        while (i < *n && strcmp((*names)[i], p->string) != 0)
            i++;
        if (i == *n) {
            *names = realloc(*names, (*n + 1) * sizeof **names);
            (*names)[(*n)++] = p->string;
        }
    }
}

static const cJSON *step_types(void)
{
    const cJSON *e = get(get(get(schema_def("step"), "properties"), "type"), "enum");
    cr_assert(cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0, "the schema has no $defs/step/properties/type/enum");
    return e;
}

static cJSON *string_of(size_t len, char c)
{
    char *s = malloc(len + 1);
    memset(s, c, len);
    s[len] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static cJSON *array_of(const cJSON *items, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, sample(items, 0));
    return a;
}

#define DOC_MAX 300000
static char doc[DOC_MAX], perr[1024];

#define EXPECT_PARSE(want_ok, at, st, field, value, why)                                                     \
    do {                                                                                                  \
        int rc_ = try_field(at, st, field, value, doc, sizeof doc, perr, sizeof perr);                        \
        cr_expect_eq(rc_, (want_ok) ? 0 : -1, "%s: parser %s %.300s%s%s", why,                              \
                     rc_ == 0 ? "accepts" : "rejects", doc, rc_ ? " -- " : "", rc_ ? perr : "");          \
    } while (0)

/* All fields of one place: each of the schema's fields is accepted with a
 * valid value and rejected out of its range/type/enum; every other known
 * field name (and a made-up one) is rejected when the schema forbids
 * additional properties; removing a required field is rejected. */
static void check_place(place at, const char *st, const char *const *all, size_t nall)
{
    const cJSON *ps = place_schema(at, st);
    const cJSON *props = get(ps, "properties");
    const cJSON *addl = get(ps, "additionalProperties");
    char why[200];
    for (size_t i = 0; i < nall; i++) {
        const cJSON *fs = get(props, all[i]);
        static const char *const place_names[] = {"top level",           "options",    "limits", "shards",
                                                  "session_start_limit", "connection", "step"};
        snprintf(why, sizeof why, "%s %s field \"%s\"", place_names[at], st ? st : "", all[i]);
        if (!fs) {
            if (cJSON_IsFalse(addl))
                EXPECT_PARSE(0, at, st, all[i], cJSON_CreateNumber(1), why);
            continue;
        }
        EXPECT_PARSE(1, at, st, all[i], sample(fs, 0), why);
        const cJSON *v;
        if ((v = kw(fs, "enum"))) {
            const cJSON *e;
            cJSON_ArrayForEach(e, v) EXPECT_PARSE(1, at, st, all[i], cJSON_Duplicate(e, 1), why);
            EXPECT_PARSE(0, at, st, all[i], cJSON_CreateString("no-such-value"), why);
        }
        if (kw(fs, "type")) { /* a value of another type */
            cJSON *other = !has_type(fs, "string") ? cJSON_CreateString("x")
                           : !has_type(fs, "boolean") ? cJSON_CreateTrue()
                                                     : cJSON_CreateNumber(1);
            EXPECT_PARSE(0, at, st, all[i], other, why);
        }
        if (has_type(fs, "integer")) {
            const cJSON *min = kw(fs, "minimum"), *max = kw(fs, "maximum");
            cr_expect(min && max, "%s: integer without minimum and maximum", why);
            if (min && max) {
                EXPECT_PARSE(1, at, st, all[i], cJSON_CreateNumber(min->valuedouble), why);
                EXPECT_PARSE(1, at, st, all[i], cJSON_CreateNumber(max->valuedouble), why);
                EXPECT_PARSE(0, at, st, all[i], cJSON_CreateNumber(min->valuedouble - 1), why);
                EXPECT_PARSE(0, at, st, all[i], cJSON_CreateNumber(max->valuedouble + 1), why);
                EXPECT_PARSE(0, at, st, all[i], cJSON_CreateNumber(min->valuedouble + 0.5), why);
            }
        }
        const cJSON *maxlen = kw(fs, "maxLength");
        if (maxlen && !kw(fs, "not") && !kw(fs, "pattern") && !kw(fs, "anyOf")) {
            EXPECT_PARSE(1, at, st, all[i], string_of((size_t)maxlen->valueint, 'A'), why);
            EXPECT_PARSE(0, at, st, all[i], string_of((size_t)maxlen->valueint + 1, 'A'), why);
        }
        const cJSON *maxit = kw(fs, "maxItems"), *minit = kw(fs, "minItems");
        if (maxit) {
            EXPECT_PARSE(1, at, st, all[i], array_of(kw(fs, "items"), maxit->valueint), why);
            EXPECT_PARSE(0, at, st, all[i], array_of(kw(fs, "items"), maxit->valueint + 1), why);
        }
        if (minit && minit->valueint > 0)
            EXPECT_PARSE(0, at, st, all[i], array_of(kw(fs, "items"), minit->valueint - 1), why);
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, get(ps, "required"))
    {
        snprintf(why, sizeof why, "without required field \"%s\"", r->valuestring);
        if (at == AT_STEP && strcmp(r->valuestring, "type") == 0)
            continue;
        EXPECT_PARSE(0, at, st, r->valuestring, NULL, why);
    }
}

TestSuite(schema, .init = schema_load, .fini = schema_unload);

Test(schema, parser_step_types_equal_schema_step_types)
{
    const cJSON *types = step_types();
    for (int k = 0; k < MG_STEP__COUNT; k++) {
        int found = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, types) found |= strcmp(e->valuestring, mg_step_kind_name((mg_step_kind)k)) == 0;
        cr_expect(found, "the parser's step type \"%s\" is not in the schema", mg_step_kind_name((mg_step_kind)k));
    }
    cr_expect_eq(cJSON_GetArraySize(types), MG_STEP__COUNT, "the schema has %d step types, the parser %d",
                 cJSON_GetArraySize(types), (int)MG_STEP__COUNT);
    /* Each type has its definition, selected by the step's allOf. */
    const cJSON *e;
    cJSON_ArrayForEach(e, types)
    {
        char name[64];
        snprintf(name, sizeof name, "step_%s", e->valuestring);
        const cJSON *c = get(get(get(schema_def(name), "properties"), "type"), "const");
        cr_expect(cJSON_IsString(c) && strcmp(c->valuestring, e->valuestring) == 0,
                  "$defs/%s/properties/type/const must be \"%s\"", name, e->valuestring);
        cr_expect(cJSON_IsFalse(get(schema_def(name), "additionalProperties")),
                  "$defs/%s must forbid additional properties", name);
    }
    /* Types the schema does not have are rejected by the parser. */
    const char *const others[] = {"dance", "", "Hello", "HELLO", "hello_", "expect_", "expects", "send ", "comment"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        cJSON_ArrayForEach(e, types) cr_assert_str_neq(e->valuestring, others[i]);
        EXPECT_PARSE(0, AT_STEP, "hello", "type", cJSON_CreateString(others[i]), "unknown step type");
    }
    EXPECT_PARSE(0, AT_STEP, "hello", "type", cJSON_CreateNumber(1), "type not a string");
    EXPECT_PARSE(0, AT_STEP, "hello", "type", NULL, "no type");
}

Test(schema, a_minimal_step_of_each_type_parses)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, step_types())
    {
        int rc = try_field(AT_STEP, e->valuestring, NULL, NULL, doc, sizeof doc, perr, sizeof perr);
        cr_expect_eq(rc, 0, "minimal \"%s\" step: %s -- %s", e->valuestring, doc, perr);
        if (rc == 0) {
            mg_scenario sc;
            cr_assert_eq(mg_scenario_parse(doc, strlen(doc), NULL, &sc, perr, sizeof perr), 0);
            cr_expect_str_eq(mg_step_kind_name(sc.conns[0].steps[0].kind), e->valuestring);
            mg_scenario_free(&sc);
        }
    }
}

static void all_field_names(const char ***names, size_t *n)
{
    names_of(get(schema_root, "properties"), names, n);
    names_of(get(place_schema(AT_OPTIONS, NULL), "properties"), names, n);
    names_of(get(place_schema(AT_LIMITS, NULL), "properties"), names, n);
    names_of(get(place_schema(AT_SHARDS, NULL), "properties"), names, n);
    names_of(get(place_schema(AT_SESSION_LIMIT, NULL), "properties"), names, n);
    names_of(get(place_schema(AT_CONNECTION, NULL), "properties"), names, n);
    const cJSON *e;
    cJSON_ArrayForEach(e, step_types()) names_of(get(place_schema(AT_STEP, e->valuestring), "properties"), names, n);
    *names = realloc(*names, (*n + 1) * sizeof **names);
    (*names)[(*n)++] = "no_such_field";
}

Test(schema, each_step_types_fields_ranges_and_required_fields_match_the_parser)
{
    const char **names = NULL;
    size_t n = 0;
    all_field_names(&names, &n);
    const cJSON *e;
    cJSON_ArrayForEach(e, step_types()) check_place(AT_STEP, e->valuestring, names, n);
    free(names);
}

Test(schema, top_level_options_limits_shards_and_connection_fields_match_the_parser)
{
    const char **names = NULL;
    size_t n = 0;
    all_field_names(&names, &n);
    check_place(AT_TOP, NULL, names, n);
    check_place(AT_OPTIONS, NULL, names, n);
    check_place(AT_LIMITS, NULL, names, n);
    check_place(AT_SHARDS, NULL, names, n);
    check_place(AT_SESSION_LIMIT, NULL, names, n);
    check_place(AT_CONNECTION, NULL, names, n);
    free(names);
}

Test(schema, reject_only_first_and_check_entries)
{
    /* reject: first step only (the schema's prefixItems/items). */
    EXPECT_PARSE(1, AT_STEP, "reject", NULL, NULL, "reject as the first step");
    cr_expect_eq(parse("{\"name\":\"n\",\"rule\":\"r\",\"connections\":[{\"steps\":[{\"type\":\"drop\"},"
                       "{\"type\":\"reject\",\"status\":503}]}]}",
                       perr, sizeof perr), -1);
    /* Every check type of the schema's enum, and the path's limits. */
    const cJSON *check = schema_def("check");
    const cJSON *types = get(get(get(check, "properties"), "type"), "enum");
    cr_assert(cJSON_IsArray(types), "no $defs/check/properties/type/enum");
    char j[512];
    const cJSON *t;
    cJSON_ArrayForEach(t, types)
    {
        snprintf(j, sizeof j, WRAP("{\"type\":\"expect\",\"op\":1,\"checks\":[{\"path\":\"/d\",\"type\":\"%s\"}]}"),
                 t->valuestring);
        cr_expect_eq(parse(j, perr, sizeof perr), 0, "%s: %s", j, perr);
    }
    const cJSON *maxlen = get(get(get(check, "properties"), "path"), "maxLength");
    cr_assert_not_null(maxlen);
    char path[300];
    for (int len = maxlen->valueint; len <= maxlen->valueint + 1; len++) {
        memset(path, 'a', (size_t)len);
        path[0] = '/';
        path[len] = '\0';
        snprintf(j, sizeof j, WRAP("{\"type\":\"expect\",\"op\":1,\"checks\":[{\"path\":\"%s\",\"exists\":true}]}"), path);
        cr_expect_eq(parse(j, perr, sizeof perr), len == maxlen->valueint ? 0 : -1, "path of %d bytes", len);
    }
    cr_expect_eq(parse(WRAP("{\"type\":\"expect\",\"op\":1,\"checks\":[{\"path\":\"\",\"exists\":true}]}"), perr, sizeof perr), 0);
}

Test(schema, every_bad_scenario_is_rejected_by_the_parser)
{
    const char *dirs[] = {MG_BAD_SCENARIO_DIR};
    char **files = NULL;
    char err[1024];
    int n = mg_collect_scenarios(dirs, 1, &files, err, sizeof err);
    cr_assert_geq(n, 4, "want bad scenarios in %s, found %d (%s)", MG_BAD_SCENARIO_DIR, n, n < 0 ? err : "");
    for (int i = 0; i < n; i++) {
        mg_scenario sc;
        int rc = mg_scenario_load(files[i], &sc, err, sizeof err);
        cr_expect_eq(rc, -1, "%s: the parser accepts it", files[i]);
        if (rc == 0)
            mg_scenario_free(&sc);
    }
    mg_free_paths(files, (size_t)n);
}
