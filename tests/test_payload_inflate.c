/* payload_inflate.h: one whole zlib stream per message (payload
 * compression), with its errors, its cap and its reused z_stream. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "payload_inflate.h"

/* A counting allocator that can be told to fail. */
static size_t calls;
static long fail_at = -1;
static void *a_alloc(void *u, size_t n)
{
    (void)u;
    return (long)calls++ == fail_at ? NULL : malloc(n);
}
static void *a_realloc(void *u, void *p, size_t o, size_t n)
{
    (void)u;
    (void)o;
    return (long)calls++ == fail_at ? NULL : realloc(p, n);
}
static void a_free(void *u, void *p, size_t n)
{
    (void)u;
    (void)n;
    free(p);
}

static dgw_mem M;
static dgw_payload_inflater P;
static dgw_buf OUT;

static void setup(void)
{
    static const dgw_allocator a = {a_alloc, a_realloc, a_free, NULL};
    calls = 0;
    fail_at = -1;
    dgw_mem_init(&M, &a);
    dgw_payload_inflater_init(&P, &M);
    memset(&OUT, 0, sizeof OUT);
}

static void teardown(void)
{
    dgw_buf_free(&M, &OUT);
    dgw_payload_inflater_free(&P);
    cr_expect_eq(M.in_use, 0, "%zu bytes leaked", M.in_use);
}

TestSuite(payload_inflate, .init = setup, .fini = teardown);

static uint8_t *deflated(const void *src, size_t n, int level, size_t *zn)
{
    uLongf cap = compressBound(n);
    uint8_t *z = malloc(cap + 16);
    cr_assert_eq(compress2(z, &cap, src, n, level), Z_OK);
    *zn = cap;
    return z;
}

static uint8_t *payload(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)("{\"op\":0,\"d\":{\"content\":\"hello\"}}"[i % 33] ^
                         (i / 977));
    return p;
}

static int run(const uint8_t *z, size_t zn, size_t max, const char **why)
{
    *why = NULL;
    return dgw_payload_inflate(&P, z, zn, &OUT, max, why);
}

Test(payload_inflate, whole_streams_round_trip)
{
    static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *src = payload(sizes[i]);
        size_t zn;
        uint8_t *z = deflated(src, sizes[i], i % 2 ? 9 : 1, &zn);
        const char *why;
        dgw_buf_reset(&M, &OUT, SIZE_MAX);
        cr_assert_eq(run(z, zn, 16u << 20, &why), DGW_OK, "%zu: %s", sizes[i], why);
        cr_assert_eq(dgw_buf_live(&OUT), sizes[i]);
        cr_assert(sizes[i] == 0 || memcmp(OUT.p + OUT.off, src, sizes[i]) == 0);
        free(z);
        free(src);
    }
}

Test(payload_inflate, the_stream_is_made_once_and_reset)
{
    uint8_t *src = payload(3000);
    size_t zn;
    uint8_t *z = deflated(src, 3000, 6, &zn);
    const char *why;
    cr_assert_eq(M.in_use, 0, "nothing before the first message");
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_OK);
    size_t after_first = calls;
    for (int i = 0; i < 100; i++) {
        dgw_buf_reset(&M, &OUT, SIZE_MAX);
        cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_OK);
    }
    cr_assert_eq(calls, after_first, "%zu allocations in 100 messages",
                 calls - after_first);
    free(z);
    free(src);
}

Test(payload_inflate, output_is_appended_and_capped_exactly)
{
    uint8_t *src = payload(5000);
    size_t zn;
    uint8_t *z = deflated(src, 5000, 6, &zn);
    const char *why;
    cr_assert_eq(dgw_buf_append(&M, &OUT, "ab", 2, 16), DGW_OK);
    cr_assert_eq(run(z, zn, 5001, &why), DGW_ERR_INFLATE_TOO_LARGE);
    cr_assert(strstr(why, "max_message_size"));
    cr_assert_eq(dgw_buf_live(&OUT), 2, "failure leaves out as it was");
    cr_assert_eq(run(z, zn, 5002, &why), DGW_OK, "%s", why);
    cr_assert_eq(dgw_buf_live(&OUT), 5002);
    cr_assert(memcmp(OUT.p + OUT.off + 2, src, 5000) == 0);
    /* The cap of an empty payload is 0. */
    size_t en;
    uint8_t *e = deflated("", 0, 6, &en);
    dgw_buf_reset(&M, &OUT, SIZE_MAX);
    cr_assert_eq(run(e, en, 0, &why), DGW_OK, "%s", why);
    dgw_buf_reset(&M, &OUT, SIZE_MAX);
    cr_assert_eq(run(z, zn, 0, &why), DGW_ERR_INFLATE_TOO_LARGE);
    free(e);
    free(z);
    free(src);
}

Test(payload_inflate, every_prefix_is_truncated)
{
    uint8_t *src = payload(2000);
    size_t zn;
    uint8_t *z = deflated(src, 2000, 6, &zn);
    for (size_t n = 0; n < zn; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, z, n);
        const char *why;
        dgw_buf_reset(&M, &OUT, SIZE_MAX);
        cr_assert_eq(run(cut, n, 1 << 20, &why), DGW_ERR_INFLATE_TRUNCATED,
                     "prefix %zu: %s", n, why);
        cr_assert_eq(dgw_buf_live(&OUT), 0);
        free(cut);
    }
    free(z);
    free(src);
}

Test(payload_inflate, trailing_bytes_corruption_and_wrong_formats)
{
    uint8_t *src = payload(2000);
    size_t zn;
    uint8_t *z = deflated(src, 2000, 6, &zn);
    const char *why;
    z[zn] = 0x78;
    cr_assert_eq(run(z, zn + 1, 1 << 20, &why), DGW_ERR_INFLATE);
    cr_assert(strstr(why, "bytes after the end"));
    /* Two streams in one message are trailing garbage too. */
    memcpy(z + zn, z, zn);
    cr_assert_eq(run(z, 2 * zn, 1 << 20, &why), DGW_ERR_INFLATE);
    z[zn - 1] ^= 0x40; /* Adler-32 */
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_ERR_INFLATE);
    cr_assert(strstr(why, "incorrect data check"), "%s", why);
    z[zn - 1] ^= 0x40;
    z[0] = 0x79; /* header check fails */
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_ERR_INFLATE);
    z[0] = 0x78;
    cr_assert_eq(run(z + 2, zn - 2, 1 << 20, &why), DGW_ERR_INFLATE,
                 "raw deflate is not a zlib stream");
    /* gzip is not zlib either. */
    static const uint8_t gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(run(gz, sizeof gz, 1 << 20, &why), DGW_ERR_INFLATE);
    /* After all that, a good message still inflates. */
    dgw_buf_reset(&M, &OUT, SIZE_MAX);
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_OK, "%s", why);
    cr_assert(memcmp(OUT.p + OUT.off, src, 2000) == 0);
    free(z);
    free(src);
}

Test(payload_inflate, preset_dictionary_is_refused)
{
    z_stream d;
    memset(&d, 0, sizeof d);
    cr_assert_eq(deflateInit(&d, 6), Z_OK);
    cr_assert_eq(deflateSetDictionary(&d, (const Bytef *)"hello", 5), Z_OK);
    uint8_t z[256];
    d.next_in = (Bytef *)"hello hello";
    d.avail_in = 11;
    d.next_out = z;
    d.avail_out = sizeof z;
    cr_assert_eq(deflate(&d, Z_FINISH), Z_STREAM_END);
    size_t zn = sizeof z - d.avail_out;
    deflateEnd(&d);
    const char *why;
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_ERR_INFLATE);
    cr_assert(strstr(why, "preset dictionary"));
}

Test(payload_inflate, out_of_memory_at_every_allocation)
{
    uint8_t *src = payload(100000);
    size_t zn;
    uint8_t *z = deflated(src, 100000, 6, &zn);
    const char *why;
    /* Count the allocations of a fresh inflater, then fail each one. */
    cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_OK);
    size_t total = calls;
    for (size_t k = 0; k < total; k++) {
        dgw_buf_free(&M, &OUT);
        dgw_payload_inflater_free(&P);
        cr_assert_eq(M.in_use, 0);
        calls = 0;
        fail_at = (long)k;
        int r = run(z, zn, 1 << 20, &why);
        cr_assert_eq(r, DGW_ERR_NOMEM, "allocation %zu failed, got %d", k, r);
        fail_at = -1;
        dgw_buf_reset(&M, &OUT, SIZE_MAX);
        cr_assert_eq(run(z, zn, 1 << 20, &why), DGW_OK, "recovers after %zu", k);
    }
    free(z);
    free(src);
}
