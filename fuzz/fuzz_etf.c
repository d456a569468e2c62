/* fuzz_etf - the ETF codec (lib/src/etf.h) and the whole-stream zlib
 * inflater (lib/src/payload_inflate.h).
 *
 * Input: [mode][rest]
 *   mode & 3 == 0  decode: rest is an ETF message (mode bit 2: prepend the
 *                  version byte 131), output cap by mode bits 4-5 (1 MiB,
 *                  4096, 256, 64 bytes). Success => the output is within
 *                  the cap, valid JSON for cJSON and for the library's
 *                  scanner, UTF-8; encoding it succeeds (unless the term
 *                  had duplicate map keys, which the encoder refuses) and
 *                  decoding that gives the same JSON, byte for byte.
 *                  Failure => the output is untouched and there is a
 *                  message.
 *   mode & 3 == 1  encode: rest is JSON text, cap by mode bits 4-5 (4096,
 *                  64 KiB, 64, 0 bytes), encoder flags from bits 2-3 (atom
 *                  keys, snowflake integers). Success => within the cap; it
 *                  decodes; the decoded JSON means the same as the input
 *                  (cJSON reads both: same structure, strings and numbers,
 *                  integers past 2^53 as strings of the same value); one
 *                  more encode/decode round gives the same JSON again.
 *   mode & 3 == 2  payload inflate: rest is [cap][how][data]; how bit 0:
 *                  zlib-compress data first (so real streams are reached),
 *                  then cut or extend it (bits 1-3). The result must agree
 *                  with zlib's own one-shot inflate of the same bytes
 *                  (same bytes out; an error exactly when zlib fails, the
 *                  stream does not end where the input does, or the output
 *                  passes the cap). Run twice on one inflater (reset).
 *   mode & 3 == 3  compressed term: rest is a term without its version
 *                  byte, sent as 131, 80, size, zlib(rest); must decode to
 *                  exactly what 131, rest decodes to.
 * Every allocation is counted; nothing may be left at the end. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "etf.h"
#include "fuzz_common.h"
#include "json.h"

static const char DUP_KEY[] = "an object has a duplicate key";

static bool why_is(const char *why, const char *prefix)
{
    return why && strncmp(why, prefix, strlen(prefix)) == 0;
}

static int decode(dgw_mem *m, const uint8_t *in, size_t n, size_t max,
                  dgw_buf *out, const char **why)
{
    dgw_etf_decoder d;
    dgw_etf_decoder_init(&d, m);
    *why = NULL;
    size_t before = dgw_buf_live(out);
    int r = dgw_etf_decode(&d, in, n, out, max, why);
    dgw_etf_decoder_free(&d);
    FZ_CHECK(r == DGW_OK || r == DGW_ERR_PAYLOAD || r == DGW_ERR_WS_TOO_LARGE ||
                 r == DGW_ERR_NOMEM || r == DGW_ERR_INFLATE ||
                 r == DGW_ERR_INFLATE_TRUNCATED ||
                 r == DGW_ERR_INFLATE_TOO_LARGE,
             "decode returned %d", r);
    if (r != DGW_OK) {
        FZ_CHECK(*why && **why, "error %d without a message", r);
        FZ_CHECK(dgw_buf_live(out) == before, "failed decode changed out");
    } else {
        FZ_CHECK(dgw_buf_live(out) <= max, "output %zu over cap %zu",
                 dgw_buf_live(out), max);
    }
    return r;
}

static void check_json(const char *s, size_t n)
{
    FZ_CHECK(dgw_json_is_value(s, n), "scanner refuses: %.*s", (int)n, s);
    FZ_CHECK(fz_cjson_accepts(s, n), "cJSON refuses: %.*s", (int)n, s);
    FZ_CHECK(fz_utf8_valid((const uint8_t *)s, n), "not UTF-8");
}

/* Encodes JSON and decodes it back; returns the new JSON (caller frees the
 * buffer) or false when the encoder refused a duplicate key. */
static bool reencode(dgw_mem *m, const char *s, size_t n, dgw_buf *json2)
{
    size_t cap = 3 * n + 16, len;
    uint8_t *e = malloc(cap);
    const char *why = NULL;
    int r = dgw_etf_encode(s, n, 0, e, cap, &len, &why);
    if (r == DGW_ERR_INVALID_ARGUMENT && why_is(why, DUP_KEY)) {
        free(e);
        return false;
    }
    FZ_CHECK(r == DGW_OK, "re-encoding decoded JSON failed (%d, %s): %.*s", r,
             why, (int)(n > 300 ? 300 : n), s);
    r = decode(m, e, len, 1u << 24, json2, &why);
    FZ_CHECK(r == DGW_OK, "decoding our encoding failed: %s", why);
    free(e);
    return true;
}

/* ------------------------------------------------------------------------ */

static void mode_decode(dgw_mem *m, uint8_t mode, const uint8_t *p, size_t n)
{
    static const size_t caps[] = {1u << 20, 4096, 256, 64};
    size_t max = caps[(mode >> 4) & 3];
    uint8_t *in = malloc(n + 1);
    size_t k = 0;
    if (mode & 4)
        in[k++] = DGW_ETF_VERSION;
    memcpy(in + k, p, n);
    k += n;
    uint8_t *exact = malloc(k ? k : 1); /* so ASan sees any overread */
    memcpy(exact, in, k);
    free(in);
    dgw_buf out = {0};
    const char *why;
    if (decode(m, exact, k, max, &out, &why) == DGW_OK) {
        const char *s = (const char *)out.p + out.off;
        size_t sn = dgw_buf_live(&out);
        check_json(s, sn);
        dgw_buf again = {0};
        if (reencode(m, s, sn, &again))
            FZ_CHECK(dgw_buf_live(&again) == sn &&
                         memcmp(again.p + again.off, s, sn) == 0,
                     "decode(encode(J)) != J:\n%.*s\n%.*s", (int)sn, s,
                     (int)dgw_buf_live(&again), again.p + again.off);
        dgw_buf_free(m, &again);
    }
    dgw_buf_free(m, &out);
    free(exact);
}

static bool is_int_text(const char *s)
{
    s += *s == '-';
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The input JSON (a) and what came back (b) mean the same. */
static void same_meaning(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsString(b)) {
        /* An integer past 2^53 comes back as its digits. */
        FZ_CHECK(is_int_text(b->valuestring), "number became \"%s\"",
                 b->valuestring);
        double d = strtod(b->valuestring, NULL);
        FZ_CHECK(d == a->valuedouble && (d < 0 ? -d : d) > 9007199254740992.0,
                 "number %.17g came back as \"%s\"", a->valuedouble,
                 b->valuestring);
        return;
    }
    FZ_CHECK((a->type & 0xFF) == (b->type & 0xFF), "type %d became %d",
             a->type & 0xFF, b->type & 0xFF);
    if (cJSON_IsNumber(a)) {
        FZ_CHECK(a->valuedouble == b->valuedouble, "number %.17g became %.17g",
                 a->valuedouble, b->valuedouble);
    } else if (cJSON_IsString(a)) {
        FZ_CHECK(strcmp(a->valuestring, b->valuestring) == 0,
                 "string changed");
    } else if (cJSON_IsArray(a) || cJSON_IsObject(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next) {
            if (cJSON_IsObject(a))
                FZ_CHECK(strcmp(x->string, y->string) == 0, "key changed");
            same_meaning(x, y);
        }
        FZ_CHECK(!x && !y, "element count changed");
    }
}

/* cJSON reads at most 63 characters of a number (and, at the top level,
 * ignores the rest): no meaning comparison for inputs with longer ones. */
static bool has_long_number(const char *s, size_t n)
{
    bool in_str = false;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        bool num = (c >= '0' && c <= '9') || c == '.' || c == 'e' ||
                   c == 'E' || c == '+' || c == '-';
        run = num ? run + 1 : 0;
        if (run >= 60)
            return true;
    }
    return false;
}

static void mode_encode(dgw_mem *m, uint8_t mode, const uint8_t *p, size_t n)
{
    static const size_t caps[] = {DGW_MAX_SEND_PAYLOAD, 1u << 16, 64, 0};
    size_t cap = caps[(mode >> 4) & 3];
    const char *json = (const char *)p;
    uint8_t *e = malloc(cap ? cap : 1);
    size_t len = 0;
    const char *why = NULL;
    unsigned flags = (mode >> 2) & 3; /* DGW_ETF_ATOM_KEYS, _SNOWFLAKE_... */
    int r = dgw_etf_encode(json, n, flags, e, cap, &len, &why);
    FZ_CHECK(r == DGW_OK || r == DGW_ERR_INVALID_ARGUMENT ||
                 r == DGW_ERR_SEND_TOO_LARGE,
             "encode returned %d", r);
    if (r != DGW_OK) {
        FZ_CHECK(why && *why, "error without a message");
        /* What the encoder calls JSON, cJSON does too. */
        if (r == DGW_ERR_INVALID_ARGUMENT && why_is(why, "not JSON"))
            FZ_CHECK(!dgw_json_is_value(json, n), "valid JSON refused: %s",
                     why);
        free(e);
        return;
    }
    FZ_CHECK(len <= cap && len >= 2 && e[0] == DGW_ETF_VERSION, "bad output");
    FZ_CHECK(dgw_json_is_value(json, n), "encoded what is not JSON");
    dgw_buf j1 = {0};
    r = decode(m, e, len, 1u << 24, &j1, &why);
    FZ_CHECK(r == DGW_OK, "our own encoding does not decode: %s", why);
    const char *s = (const char *)j1.p + j1.off;
    size_t sn = dgw_buf_live(&j1);
    check_json(s, sn);
    if (!has_long_number(json, n)) {
        cJSON *a = cJSON_ParseWithLength(json, n);
        cJSON *b = cJSON_ParseWithLength(s, sn);
        FZ_CHECK(b, "cJSON cannot read the decoded JSON");
        if (a) /* cJSON refuses lone surrogate escapes, which JSON allows */
            same_meaning(a, b);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    dgw_buf j2 = {0};
    FZ_CHECK(reencode(m, s, sn, &j2), "duplicate key after a clean encode");
    FZ_CHECK(dgw_buf_live(&j2) == sn && memcmp(j2.p + j2.off, s, sn) == 0,
             "second round changed the JSON");
    dgw_buf_free(m, &j2);
    dgw_buf_free(m, &j1);
    free(e);
}

/* zlib's verdict on one whole stream: 1 ok (and *out, *on), 0 not. */
static int reference_inflate(const uint8_t *in, size_t n, uint8_t **out,
                             size_t *on, size_t limit)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        abort();
    size_t cap = limit + 1;
    *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    int r = inflate(&z, Z_FINISH);
    *on = cap - z.avail_out;
    bool ok = r == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    return ok;
}

static void mode_inflate(dgw_mem *m, const uint8_t *p, size_t n)
{
    fz_in in = {p, n};
    static const size_t caps[] = {1u << 20, 4096, 100, 1, 0, 65536, 33, 7};
    size_t max = caps[fz_u8(&in) & 7];
    uint8_t how = fz_u8(&in);
    uint8_t *data;
    size_t dn;
    if (how & 1) {
        uLongf zl = compressBound(in.n);
        data = malloc(zl + 16);
        if (compress2(data, &zl, in.p, in.n, (how >> 4) % 10) != Z_OK)
            abort();
        dn = zl;
        switch ((how >> 1) & 7) {
        case 1: dn -= dn > 0; break;                 /* cut the checksum */
        case 2: dn /= 2; break;
        case 3: data[dn++] = 0; break;              /* trailing byte */
        case 4: memcpy(data + dn, "\x78\x9c", 2); dn += 2; break;
        case 5: if (dn > 6) data[dn / 2] ^= 0x55; break;
        default: break;
        }
    } else {
        dn = in.n;
        data = malloc(dn ? dn : 1);
        memcpy(data, in.p, dn);
    }
    uint8_t *ref;
    size_t rn;
    int ref_ok = reference_inflate(data, dn, &ref, &rn, max);
    dgw_payload_inflater pi;
    dgw_payload_inflater_init(&pi, m);
    for (int round = 0; round < 2; round++) {
        dgw_buf out = {0};
        const char *why = NULL;
        int r = dgw_payload_inflate(&pi, data, dn, &out, max, &why);
        if (ref_ok && rn <= max) {
            FZ_CHECK(r == DGW_OK, "zlib inflates %zu bytes, we fail: %s", rn,
                     why);
            FZ_CHECK(dgw_buf_live(&out) == rn &&
                         (rn == 0 || memcmp(out.p + out.off, ref, rn) == 0),
                     "different bytes than zlib");
        } else {
            FZ_CHECK(r != DGW_OK, "we accept what zlib does not (ok %d, %zu "
                                  "bytes, cap %zu)",
                     ref_ok, rn, max);
            FZ_CHECK(why && *why, "error without a message");
            FZ_CHECK(dgw_buf_live(&out) == 0, "failure left output");
            if (ref_ok)
                FZ_CHECK(r == DGW_ERR_INFLATE_TOO_LARGE, "over the cap: %d", r);
        }
        dgw_buf_free(m, &out);
    }
    dgw_payload_inflater_free(&pi);
    free(ref);
    free(data);
}

static void mode_compressed(dgw_mem *m, const uint8_t *p, size_t n)
{
    if (n && p[0] == DGW_ETF_COMPRESSED)
        return; /* plain would be compressed itself, nested here */
    uLongf zl = compressBound(n);
    uint8_t *msg = malloc(6 + zl);
    if (compress2(msg + 6, &zl, p, n, 6) != Z_OK)
        abort();
    msg[0] = DGW_ETF_VERSION;
    msg[1] = DGW_ETF_COMPRESSED;
    msg[2] = (uint8_t)(n >> 24);
    msg[3] = (uint8_t)(n >> 16);
    msg[4] = (uint8_t)(n >> 8);
    msg[5] = (uint8_t)n;
    uint8_t *plain = malloc(n + 1);
    plain[0] = DGW_ETF_VERSION;
    memcpy(plain + 1, p, n);
    dgw_buf a = {0}, b = {0};
    const char *wa, *wb;
    int ra = decode(m, msg, 6 + zl, 1u << 20, &a, &wa);
    int rb = decode(m, plain, n + 1, 1u << 20, &b, &wb);
    FZ_CHECK(ra == rb, "compressed %d (%s), plain %d (%s)", ra, wa, rb, wb);
    if (ra == DGW_OK)
        FZ_CHECK(dgw_buf_live(&a) == dgw_buf_live(&b) &&
                     memcmp(a.p + a.off, b.p + b.off, dgw_buf_live(&a)) == 0,
                 "compressed and plain decode differently");
    dgw_buf_free(m, &a);
    dgw_buf_free(m, &b);
    free(plain);
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    dgw_mem m;
    dgw_mem_init(&m, NULL);
    uint8_t mode = data[0];
    switch (mode & 3) {
    case 0: mode_decode(&m, mode, data + 1, size - 1); break;
    case 1: mode_encode(&m, mode, data + 1, size - 1); break;
    case 2: mode_inflate(&m, data + 1, size - 1); break;
    case 3: mode_compressed(&m, data + 1, size - 1); break;
    }
    FZ_CHECK(m.in_use == 0, "%zu bytes not freed", m.in_use);
    return 0;
}
