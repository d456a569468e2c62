/* fuzz_gateway_bot - dgw_parse_gateway_bot() on arbitrary bytes.
 *
 * Input: the body, as is. Checks: the parser never reads outside the body
 * (ASan) and always answers; on success the fields are in range, the URL is
 * a NUL-terminated non-empty string, and cJSON, an independent parser,
 * reads the same body as an object with the same shards,
 * session_start_limit.remaining and max_concurrency; on failure there is a
 * reason. */
#include <cjson/cJSON.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dgw_gateway_bot g;
    const char *why = NULL;
    dgw_err e = dgw_parse_gateway_bot((const char *)data, size, &g, &why);
    if (e != DGW_OK) {
        FZ_CHECK(e == DGW_ERR_INVALID_ARGUMENT, "error %d", (int)e);
        FZ_CHECK(why && why[0], "failure without a reason");
        return 0;
    }
    size_t ul = strnlen(g.url, sizeof g.url);
    FZ_CHECK(ul > 0 && ul < sizeof g.url, "url of %zu bytes", ul);
    FZ_CHECK(g.shards >= 1 && g.max_concurrency >= 1, "shards %u, max_concurrency %u",
             g.shards, g.max_concurrency);
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    FZ_CHECK(cJSON_IsObject(j), "accepted a body cJSON does not read as an object");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shards");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j, "session_start_limit");
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(lim, "remaining");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(lim, "max_concurrency");
    /* cJSON keeps the last of duplicate keys, the scanner the first: only
     * compare when each key appears once. */
    int dup = 0;
    for (const cJSON *a = j->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            dup |= strcmp(a->string, b->string) == 0;
    for (const cJSON *a = lim ? lim->child : NULL; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            dup |= strcmp(a->string, b->string) == 0;
    if (!dup) {
        FZ_CHECK(cJSON_IsNumber(sh) && sh->valuedouble == (double)g.shards, "shards differ");
        FZ_CHECK(cJSON_IsNumber(rem) && rem->valuedouble == (double)g.remaining,
                 "remaining differs");
        FZ_CHECK(cJSON_IsNumber(mc) && mc->valuedouble == (double)g.max_concurrency,
                 "max_concurrency differs");
    }
    cJSON_Delete(j);
    return 0;
}
