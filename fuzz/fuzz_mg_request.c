/* fuzz_mg_request - the mock gateway's HTTP request path
 * (mockgateway/src/http.c): mg_http_parse_request() on arbitrary bytes,
 * then, on a complete head, the header lookups, the query parser, the
 * upgrade check (with and without zstd) and the base64 helpers.
 * Slices must stay inside the input; a complete head is at most
 * MG_HTTP_MAX_REQUEST bytes and parses the same when given alone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_mg_request: %s failed (line %d)\n", #c,     \
                    __LINE__);                                                \
            abort();                                                          \
        }                                                                     \
    } while (0)

static void in_buf(const char *b, size_t n, mg_slice s)
{
    CHECK(s.n == 0 || (s.p >= b && s.p + s.n <= b + n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    mg_http_request req;
    memset(&req, 0, sizeof req);
    mg_http_status st = mg_http_parse_request(b, size, &req);
    CHECK(st == MG_HTTP_OK || st == MG_HTTP_INCOMPLETE || st == MG_HTTP_BAD ||
          st == MG_HTTP_TOO_LARGE);
    if (st == MG_HTTP_OK) {
        CHECK(req.header_bytes > 0 && req.header_bytes <= size &&
              req.header_bytes <= MG_HTTP_MAX_REQUEST);
        CHECK(req.nheaders <= MG_HTTP_MAX_HEADERS);
        in_buf(b, size, req.method);
        in_buf(b, size, req.target);
        in_buf(b, size, req.path);
        in_buf(b, size, req.query);
        for (size_t i = 0; i < req.nheaders; i++) {
            in_buf(b, size, req.headers[i].name);
            in_buf(b, size, req.headers[i].value);
        }
        mg_http_request again;
        memset(&again, 0, sizeof again);
        CHECK(mg_http_parse_request(b, req.header_bytes, &again) ==
              MG_HTTP_OK);
        CHECK(again.header_bytes == req.header_bytes &&
              again.nheaders == req.nheaders);

        (void)mg_http_header_get(&req, "Host");
        (void)mg_http_header_has_token(&req, "Connection", "upgrade");
        char v[64];
        if (mg_query_get(req.query, "v", v, sizeof v))
            CHECK(strlen(v) < sizeof v);
        (void)mg_query_get(req.query, "compress", v, 1);
        (void)mg_http_is_upgrade(&req);
        for (int z = 0; z < 2; z++) {
            mg_upgrade_info info;
            char reason[128];
            memset(&info, 0, sizeof info);
            reason[0] = '\0';
            int r = mg_http_check_upgrade(&req, z, &info, reason,
                                          sizeof reason);
            CHECK(r == 0 || r == 400 || r == 426 || (r >= 400 && r < 600));
            CHECK(strlen(reason) < sizeof reason);
            if (r == 0)
                CHECK(strlen(info.accept) == 28 &&
                      strlen(info.encoding) < sizeof info.encoding &&
                      (z || info.compress != MG_COMPRESS_ZSTD));
        }
    }
    /* base64: decode the input, and encode/decode round trip. */
    size_t n = size > 4096 ? 4096 : size;
    unsigned char *dec = malloc(n + 3);
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    unsigned char *back = malloc(n + 3);
    if (dec && enc && back) {
        long d = mg_base64_decode(b, n, dec, n + 3);
        CHECK(d >= -1 && d <= (long)n);
        size_t e = mg_base64_encode(data, n, enc);
        CHECK(e == 4 * ((n + 2) / 3) && enc[e] == '\0');
        long r = mg_base64_decode(enc, e, back, n + 3);
        CHECK(r == (long)n && (n == 0 || memcmp(back, data, n) == 0));
        char acc[32];
        mg_ws_accept_key(b, n > 64 ? 64 : n, acc);
        CHECK(strlen(acc) == 28);
    }
    free(dec);
    free(enc);
    free(back);
    return 0;
}
