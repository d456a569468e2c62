/* See encoding.h. */
#include "encoding.h"

#include <zlib.h>

#include "etf.h"

int mg_json_to_etf(const char *json, size_t n, mg_buf *out)
{
    /* ETF is at most a few times larger than its JSON text. */
    size_t cap = 4 * n + 64;
    if (mg_buf_reserve(out, cap) != 0)
        return -1;
    size_t len = 0;
    const char *why = NULL;
    if (dgw_etf_encode(json, n, DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS, out->data + out->len, cap,
                       &len, &why) != DGW_OK)
        return mg_buf_append(out, json, n);
    out->len += len;
    return 0;
}

int mg_etf_to_json(const uint8_t *in, size_t n, size_t max, mg_buf *out, const char **why)
{
    dgw_mem m;
    dgw_mem_init(&m, NULL);
    dgw_etf_decoder d;
    dgw_etf_decoder_init(&d, &m);
    dgw_buf json = {0};
    int r = dgw_etf_decode(&d, in, n, &json, max, why);
    if (r == DGW_OK && mg_buf_append(out, json.p ? json.p + json.off : (const uint8_t *)"", dgw_buf_live(&json)) != 0) {
        *why = "out of memory";
        r = DGW_ERR_NOMEM;
    }
    dgw_buf_free(&m, &json);
    dgw_etf_decoder_free(&d);
    return r == DGW_OK ? 0 : -1;
}

int mg_zlib_payload(const uint8_t *in, size_t n, mg_zpayload z, mg_buf *out)
{
    uLongf cap = compressBound((uLong)n);
    if (mg_buf_reserve(out, cap + 2) != 0)
        return -1;
    if (compress2(out->data + out->len, &cap, in, (uLong)n, 6) != Z_OK)
        return -1;
    if (z == MG_ZPAYLOAD_TRUNCATED)
        cap = cap > 3 ? cap - 3 : 0;
    out->len += cap;
    if (z == MG_ZPAYLOAD_TRAILING)
        return mg_buf_append(out, "\x5a\xa5", 2);
    return 0;
}
