/* fuzz_scenario - the mock gateway's scenario file parser
 * (mockgateway/src/scenario_parse.c), a pure function over bytes.
 *
 * Input: a scenario file (JSON). mg_scenario_parse() must either succeed
 * (and mg_scenario_free() release everything: LeakSanitizer checks) or
 * fail with a message and nothing to free. Also mg_json_pointer() on the
 * parsed JSON with a pointer taken from the input's first line when the
 * input starts with '/'. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    size_t len = size;
    char ptr[256] = "";
    if (size && data[0] == '/') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t pl = nl ? (size_t)(nl - data) : size;
        if (pl < sizeof ptr) {
            memcpy(ptr, data, pl);
            ptr[pl] = '\0';
            json += pl + (nl != NULL);
            len -= pl + (nl != NULL);
        }
    }
    mg_scenario sc;
    char err[512];
    err[0] = '\0';
    memset(&sc, 0, sizeof sc);
    int r = mg_scenario_parse(json, len, "fuzz.json", &sc, err, sizeof err);
    if (r == 0) {
        for (size_t i = 0; i < sc.nconns; i++)
            for (size_t k = 0; k < sc.conns[i].nsteps; k++) {
                const mg_step *st = &sc.conns[i].steps[k];
                if ((unsigned)st->kind >= MG_STEP__COUNT ||
                    !mg_step_kind_name(st->kind))
                    abort();
            }
        mg_scenario_free(&sc);
    } else if (r != -1 || err[0] == '\0' || strlen(err) >= sizeof err) {
        fprintf(stderr, "mg_scenario_parse returned %d, err \"%s\"\n", r, err);
        abort();
    }
    if (ptr[0]) {
        cJSON *root = cJSON_ParseWithLength(json, len);
        if (root) {
            const cJSON *j = mg_json_pointer(root, ptr);
            if (j)
                (void)cJSON_IsString(j);
            cJSON_Delete(root);
        }
    }
    return 0;
}
