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
