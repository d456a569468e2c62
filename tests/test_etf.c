/* ETF codec (lib/src/etf.h): the Erlang runtime as the reference, then
 * every decode limit and error, the mapping's corner cases, and the
 * encoder on each command libdgw sends. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "etf.h"
#include "etf_values.h"

static dgw_mem M;
static dgw_etf_decoder D;

static void setup(void)
{
    dgw_mem_init(&M, NULL);
    dgw_etf_decoder_init(&D, &M);
}

static void teardown(void)
{
    dgw_etf_decoder_free(&D);
    cr_expect_eq(M.in_use, 0, "%zu bytes leaked", M.in_use);
}

TestSuite(etf, .init = setup, .fini = teardown);
TestSuite(etf_erlang, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* Decodes; on success returns the JSON (malloc'd, NUL-terminated). */
static char *decode(const uint8_t *in, size_t n, size_t max, int *err,
                    const char **why)
{
    dgw_buf out = {0};
    *why = NULL;
    *err = dgw_etf_decode(&D, in, n, &out, max, why);
    char *s = NULL;
    if (*err == DGW_OK) {
        s = malloc(out.len + 1);
        cr_assert_not_null(s);
        memcpy(s, out.p, out.len);
        s[out.len] = '\0';
        cr_assert(dgw_json_is_value(s, out.len),
                  "decoded JSON does not scan: %s", s);
    } else {
        cr_assert_eq(out.len, 0, "failed decode left output behind");
    }
    dgw_buf_free(&M, &out);
    return s;
}

static void check_ok(const uint8_t *in, size_t n, const char *expect)
{
    int err;
    const char *why;
    char *s = decode(in, n, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK, "decode failed (%d): %s", err, why);
    cr_assert_str_eq(s, expect);
    free(s);
}

static void check_err(const uint8_t *in, size_t n, int code, const char *why_has)
{
    int err;
    const char *why;
    char *s = decode(in, n, 1 << 20, &err, &why);
    cr_assert_eq(err, code, "expected error %d, got %d (%s)", code, err,
                 s ? s : why);
    cr_assert_not_null(why);
    cr_assert(strstr(why, why_has), "message \"%s\" lacks \"%s\"", why, why_has);
}

#define DEC_OK(expect, ...)                                                   \
    do {                                                                      \
        static const uint8_t in_[] = {__VA_ARGS__};                           \
        check_ok(in_, sizeof in_, expect);                                    \
    } while (0)

#define DEC_ERR(code, why, ...)                                               \
    do {                                                                      \
        static const uint8_t in_[] = {__VA_ARGS__};                           \
        check_err(in_, sizeof in_, code, why);                                \
    } while (0)

static size_t encode(const char *json, uint8_t *out, size_t cap, int *err,
                     const char **why)
{
    size_t len = 0;
    *why = NULL;
    *err = dgw_etf_encode(json, strlen(json), 0, out, cap, &len, why);
    return len;
}

static void enc_err(const char *json, int code, const char *why_has)
{
    uint8_t out[8192];
    int err;
    const char *why;
    encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, code, "encoding %s: expected %d, got %d", json, code, err);
    cr_assert(why && strstr(why, why_has), "message \"%s\" lacks \"%s\"",
              why ? why : "(null)", why_has);
}

static void enc_bytes(const char *json, const uint8_t *expect, size_t n)
{
    uint8_t out[8192];
    int err;
    const char *why;
    size_t len = encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_OK, "encoding %s failed: %s", json, why);
    cr_assert_eq(len, n, "encoding %s: %zu bytes, expected %zu", json, len, n);
    cr_assert(memcmp(out, expect, n) == 0, "encoding %s: wrong bytes", json);
}

#define ENC_BYTES(json, ...)                                                  \
    do {                                                                      \
        static const uint8_t ex_[] = {__VA_ARGS__};                           \
        enc_bytes(json, ex_, sizeof ex_);                                     \
    } while (0)

/* Exact equality of two cJSON trees; objects compared by key, numbers by
 * their bits. */
static bool same_json(const cJSON *a, const cJSON *b)
{
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if (cJSON_IsNumber(a))
        return memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) == 0;
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!same_json(x, y))
                return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !same_json(x, y))
                return false;
        }
    }
    return true;
}

static size_t unhex(const char *h, size_t n, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned v;
        sscanf(h + i, "%2x", &v);
        out[k++] = (uint8_t)v;
    }
    return k;
}

/* ------------------------------------------------------------------------ */
/* Erlang as the reference                                                   */

/* Each command libdgw sends, in the shape commands.c builds it, and the
 * JSON it must decode back to (integers past 2^53 come back as strings). */
static const char *const commands[][2] = {
    {"{\"op\":2,\"d\":{\"token\":\"Bot abc.def\",\"intents\":3276799,"
    "\"properties\":{\"os\":\"linux\",\"browser\":\"libdgw\",\"device\":"
    "\"libdgw\"},\"large_threshold\":250,\"shard\":[3,16],\"presence\":"
    "{\"since\":null,\"activities\":[{\"name\":\"x\",\"type\":0}],\"status\":"
    "\"online\",\"afk\":false}}}", NULL},
    {"{\"op\":6,\"d\":{\"token\":\"t\",\"session_id\":\"a1b2c3\",\"seq\":1337}}", NULL},
    {"{\"op\":6,\"d\":{\"token\":\"t\",\"session_id\":\"a1b2c3\",\"seq\":null}}", NULL},
    {"{\"op\":1,\"d\":null}", NULL},
    {"{\"op\":1,\"d\":2147483648}", NULL},
    {"{\"op\":3,\"d\":{\"since\":1714567890123,\"activities\":[],\"status\":"
    "\"dnd\",\"afk\":true}}", NULL},
    {"{\"op\":4,\"d\":{\"guild_id\":\"41771983423143937\",\"channel_id\":null,"
    "\"self_mute\":false,\"self_deaf\":true}}", NULL},
    {"{\"op\":8,\"d\":{\"guild_id\":\"41771983423143937\",\"query\":\"\","
    "\"limit\":0,\"presences\":true,\"user_ids\":[\"1\",\"2\"],\"nonce\":"
    "\"n\"}}", NULL},
    {"{\"op\":31,\"d\":{\"guild_ids\":[\"613425648685547541\","
    "\"81384788765712384\"]}}", NULL},
    {"{\"op\":43,\"d\":{\"guild_id\":\"613425648685547541\",\"fields\":"
    "[\"status\",\"voice_start_time\"]}}", NULL},
    {"{\"op\":3,\"d\":{\"since\":null,\"activities\":[{\"name\":\"caf\\u00e9 "
    "\\ud83c\\udfae\",\"type\":4,\"state\":\"a\\\"b\"}],\"status\":\"idle\","
    "\"afk\":false}}", NULL},
    {"{\"op\":2,\"d\":{\"id\":18446744073709551615,\"neg\":-9223372036854775808,"
    "\"f\":1.5e-7}}",
     "{\"op\":2,\"d\":{\"id\":\"18446744073709551615\",\"neg\":\"-9223372036854775808\","
    "\"f\":1.5e-7}}"},
};


#define N_RANDOM 1500
#define N_VARIANTS 6
#define SERVER_ID 1000000 /* oracle ids of the server-style encodings */

typedef struct xcase {
    etv *v;
    cJSON *expected;
    char *first;      /* the first variant's decoding, the others must match */
    int decoded;      /* variants decoded */
    bool encoded_ok;  /* Erlang read our encoding back as the same term */
} xcase;

static char *run_oracle(const char *in, const char *out)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        execlp("escript", "escript", ETF_ORACLE, in, out, (char *)NULL);
        fprintf(stderr, "cannot run escript (%s): install erlang-base, see "
                        "scripts/setup-debian.sh\n", strerror(errno));
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the Erlang oracle %s failed (wait status %d; its messages are "
              "above; 127: no escript, see scripts/setup-debian.sh)",
              ETF_ORACLE, st);
    FILE *f = fopen(out, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(etf_erlang, decode_and_encode_agree_with_erlang, .timeout = 300)
{
    /* Values: the fixed edge cases, then seeded Discord-like ones. */
    size_t cap = N_RANDOM + 512;
    xcase *xc = calloc(cap, sizeof *xc);
    etv **edge = calloc(512, sizeof *edge);
    size_t n = etv_edge_cases(edge, 512);
    for (size_t i = 0; i < n; i++)
        xc[i].v = edge[i];
    free(edge);
    etv_rng rng = {0x5eed1e7f00d5ull};
    for (int i = 0; i < N_RANDOM; i++)
        xc[n++].v = etv_random(&rng, 5);

    char dir[] = "/tmp/dgw-etf-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in_path[64], out_path[64];
    snprintf(in_path, sizeof in_path, "%s/in.terms", dir);
    snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
    FILE *in = fopen(in_path, "wb");
    cr_assert_not_null(in);

    size_t enc_cap = 1 << 20;
    uint8_t *enc = malloc(enc_cap);
    size_t byte_exact = 0, server_checks = 0, server_ok = 0;
    for (size_t i = 0; i < n; i++) {
        etv_text j = {0}, e = {0};
        etv_json_expected(xc[i].v, &j);
        xc[i].expected = cJSON_Parse(j.p);
        cr_assert_not_null(xc[i].expected, "generator made bad JSON: %s", j.p);
        etv_erl_decode_side(xc[i].v, &e);
        fprintf(in, "{dec,%zu,%s}.\n", i, e.p);
        etv_text_free(&e);

        /* Our encoding of the value's JSON text, for Erlang to read, and
         * for our own decoder to read back as the expected JSON. */
        etv_text js = {0};
        etv_json_input(xc[i].v, &js);
        size_t len;
        const char *why = NULL;
        int r = dgw_etf_encode(js.p, js.len, 0, enc, enc_cap, &len, &why);
        cr_assert_eq(r, DGW_OK, "encoding value %zu failed: %s\n%s", i, why,
                     js.p);
        int err;
        char *back = decode(enc, len, 1 << 24, &err, &why);
        cr_assert_eq(err, DGW_OK, "our own encoding of %zu did not decode: %s",
                     i, why);
        cJSON *bj = cJSON_Parse(back);
        cr_assert(bj && same_json(bj, xc[i].expected),
                  "value %zu: encode then decode gave\n%s\nexpected\n%s", i,
                  back, j.p);
        cJSON_Delete(bj);
        free(back);
        fprintf(in, "{enc,%zu,<<", i);
        for (size_t k = 0; k < len; k++)
            fprintf(in, k ? ",%u" : "%u", enc[k]);
        etv_erl_encode_side(xc[i].v, &e);
        fprintf(in, ">>,%s}.\n", e.p);
        etv_text_free(&e);

        /* The same value as a server sends it: atom keys, snowflakes as
         * integers; it must decode to the same JSON too. */
        r = dgw_etf_encode(js.p, js.len,
                           DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS, enc,
                           enc_cap, &len, &why);
        cr_assert_eq(r, DGW_OK, "server-style encoding of %zu: %s", i, why);
        back = decode(enc, len, 1 << 24, &err, &why);
        cr_assert_eq(err, DGW_OK, "server-style %zu did not decode: %s", i, why);
        bj = cJSON_Parse(back);
        cr_assert(bj && same_json(bj, xc[i].expected),
                  "value %zu: server-style encode then decode gave\n%s", i,
                  back);
        cJSON_Delete(bj);
        free(back);
        if (etv_erl_server_side(xc[i].v, &e)) {
            fprintf(in, "{enc,%zu,<<", SERVER_ID + i);
            for (size_t k = 0; k < len; k++)
                fprintf(in, k ? ",%u" : "%u", enc[k]);
            fprintf(in, ">>,%s}.\n", e.p);
            server_checks++;
        }
        etv_text_free(&e);
        etv_text_free(&js);
        etv_text_free(&j);
    }
    /* Each command: Erlang reads our bytes and encodes the term again in
     * every variant, which must decode back to the command. */
    size_t ncmd = sizeof commands / sizeof *commands;
    for (size_t i = 0; i < ncmd; i++) {
        size_t len;
        const char *why = NULL;
        int r = dgw_etf_encode(commands[i][0], strlen(commands[i][0]), 0, enc,
                               DGW_MAX_SEND_PAYLOAD, &len, &why);
        cr_assert_eq(r, DGW_OK, "command %zu: %s", i, why);
        fprintf(in, "{roundtrip,%zu,<<", n + i);
        for (size_t k = 0; k < len; k++)
            fprintf(in, k ? ",%u" : "%u", enc[k]);
        fprintf(in, ">>}.\n");
    }
    fclose(in);
    free(enc);

    char *res = run_oracle(in_path, out_path);
    size_t commands_back = 0;
    size_t compressed = 0, old_floats = 0, lines = 0;
    for (char *line = strtok(res, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        char kind, variant[16];
        size_t id;
        int off = 0;
        cr_assert_eq(sscanf(line, "%c %zu %15s %n", &kind, &id, variant, &off),
                     3, "bad oracle line: %.80s", line);
        if (id >= SERVER_ID) {
            cr_assert_lt(id - SERVER_ID, n);
            cr_assert_str_eq(variant, "ok", "Erlang read our server-style "
                                            "encoding of value %zu as something "
                                            "else (%s)", id - SERVER_ID, variant);
            server_ok++;
            continue;
        }
        cr_assert_lt(id, n + ncmd);
        if (id >= n) {
            const char *const *c = commands[id - n];
            size_t hl = strlen(line + off);
            uint8_t *bin = malloc(hl / 2 + 1);
            size_t bn = unhex(line + off, hl, bin);
            int err;
            const char *why;
            char *got = decode(bin, bn, 1 << 20, &err, &why);
            cr_assert_eq(err, DGW_OK, "command %zu: %s", id - n, why);
            cJSON *a = cJSON_Parse(got), *b = cJSON_Parse(c[1] ? c[1] : c[0]);
            cr_assert(a && b && same_json(a, b),
                      "command %zu came back from Erlang (%s) as %s", id - n,
                      variant, got);
            cJSON_Delete(a);
            cJSON_Delete(b);
            free(got);
            free(bin);
            commands_back++;
            continue;
        }
        xcase *x = &xc[id];
        if (kind == 'E') {
            int same = line[off] - '0';
            cr_assert_str_eq(variant, "ok",
                             "Erlang read our encoding of value %zu as "
                             "something else (%s)", id, variant);
            x->encoded_ok = true;
            if (etv_byte_exact(x->v)) {
                cr_assert_eq(same, 1, "value %zu: our bytes differ from "
                                      "term_to_binary's", id);
                byte_exact++;
            }
            continue;
        }
        size_t hl = strlen(line + off);
        uint8_t *bin = malloc(hl / 2 + 1);
        size_t bn = unhex(line + off, hl, bin);
        compressed += bn > 1 && bin[1] == DGW_ETF_COMPRESSED;
        old_floats += strstr(variant, "v0") && memchr(bin, DGW_ETF_FLOAT, bn);
        int err;
        const char *why;
        char *got = decode(bin, bn, 1 << 24, &err, &why);
        cr_assert_eq(err, DGW_OK, "value %zu (%s) did not decode: %s", id,
                     variant, why);
        cJSON *gj = cJSON_Parse(got);
        etv_text j = {0};
        etv_json_expected(x->v, &j);
        cr_assert(gj && same_json(gj, x->expected),
                  "value %zu (%s) decoded to\n%.2000s\nexpected\n%.2000s", id,
                  variant, got, j.p);
        etv_text_free(&j);
        cJSON_Delete(gj);
        if (x->first) {
            cr_assert_str_eq(got, x->first, "value %zu: variant %s decodes "
                                            "to other text", id, variant);
            free(got);
        } else {
            x->first = got;
        }
        x->decoded++;
        free(bin);
    }
    cr_assert_eq(lines, n * (N_VARIANTS + 1) + ncmd * N_VARIANTS + server_checks);
    cr_assert_eq(server_ok, server_checks);
    cr_assert_gt(server_checks, n * 9 / 10);
    cr_assert_eq(commands_back, ncmd * N_VARIANTS);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(xc[i].decoded, N_VARIANTS, "value %zu: %d variants", i,
                     xc[i].decoded);
        cr_assert(xc[i].encoded_ok);
        cJSON_Delete(xc[i].expected);
        free(xc[i].first);
        etv_free(xc[i].v);
    }
    /* The set must really exercise what it claims to. */
    cr_assert_gt(compressed, 10, "only %zu compressed terms", compressed);
    cr_assert_gt(old_floats, 100, "only %zu FLOAT_EXT terms", old_floats);
    cr_assert_gt(byte_exact, 200, "only %zu byte-exact values", byte_exact);
    fprintf(stderr, "etf_erlang: %zu values, %zu Erlang encodings decoded "
                    "(%zu compressed), %zu of our encodings read back by "
                    "binary_to_term (%zu byte-identical) and %zu server-style "
                    "ones, %zu commands round-tripped through Erlang\n",
            n, n * N_VARIANTS, compressed, n, byte_exact, server_checks, ncmd);
    free(res);
    free(xc);
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Decoding: the mapping                                                     */

Test(etf, gateway_payload_reads_like_json)
{
    /* #{op => 0, s => 42, t => 'READY', d => nil}, atom keys as Discord
     * sends them. */
    DEC_OK("{\"op\":0,\"s\":42,\"t\":\"READY\",\"d\":null}",
           131, 116, 0, 0, 0, 4,
           119, 2, 'o', 'p', 97, 0,
           119, 1, 's', 97, 42,
           119, 1, 't', 119, 5, 'R', 'E', 'A', 'D', 'Y',
           119, 1, 'd', 119, 3, 'n', 'i', 'l');
}

Test(etf, atoms_nil_null_true_false_and_names)
{
    DEC_OK("[null,null,true,false,\"ok\",\"caf\xc3\xa9\",\"caf\xc3\xa9\"]",
           131, 108, 0, 0, 0, 7,
           100, 0, 3, 'n', 'i', 'l',
           115, 4, 'n', 'u', 'l', 'l',
           118, 0, 4, 't', 'r', 'u', 'e',
           119, 5, 'f', 'a', 'l', 's', 'e',
           119, 2, 'o', 'k',
           100, 0, 4, 'c', 'a', 'f', 0xe9,              /* Latin-1 */
           119, 5, 'c', 'a', 'f', 0xc3, 0xa9,           /* UTF-8 */
           106);
}

Test(etf, integers_past_2_53_become_strings_of_their_digits)
{
    DEC_OK("[9007199254740992,\"9007199254740993\",-9007199254740992,"
           "\"-9007199254740993\",\"18446744073709551615\",-2147483648,0,0]",
           131, 108, 0, 0, 0, 8,
           110, 7, 0, 0, 0, 0, 0, 0, 0, 0x20,
           110, 7, 0, 1, 0, 0, 0, 0, 0, 0x20,
           110, 7, 1, 0, 0, 0, 0, 0, 0, 0x20,
           110, 7, 1, 1, 0, 0, 0, 0, 0, 0x20,
           111, 0, 0, 0, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255,
           98, 0x80, 0, 0, 0,
           110, 0, 0,          /* zero digits: 0 */
           110, 1, 1, 0,       /* "negative zero": 0 */
           106);
}

Test(etf, string_ext_is_a_list_of_numbers_and_nil_an_empty_array)
{
    DEC_OK("[[0,1,255],[],[]]", 131, 108, 0, 0, 0, 3,
           107, 0, 3, 0, 1, 255,
           106,
           108, 0, 0, 0, 0, 106, /* LIST_EXT of no elements */
           106);
}

Test(etf, tuples_are_arrays)
{
    DEC_OK("[[],[1,[2]]]", 131, 104, 2, 104, 0, 105, 0, 0, 0, 2, 97, 1,
           104, 1, 97, 2);
}

Test(etf, map_keys_of_every_kind)
{
    DEC_OK("{\"a\":1,\"b\":2,\"\xc3\xa9\":3,\"\":4,\"-7\":5,"
           "\"18446744073709551615\":6,\"x\":7}",
           131, 116, 0, 0, 0, 7,
           109, 0, 0, 0, 1, 'a', 97, 1,
           100, 0, 1, 'b', 97, 2,
           107, 0, 1, 0xe9, 97, 3,       /* a byte list: Latin-1 */
           106, 97, 4,                   /* [] is "" */
           98, 255, 255, 255, 249, 97, 5,
           110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255, 97, 6,
           119, 1, 'x', 97, 7);
}

Test(etf, strings_are_escaped_for_json)
{
    DEC_OK("\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0000\\u001f\\u0001\x7f/\xf0\x9f\x98\x80"
           "\"",
           131, 109, 0, 0, 0, 19, 'q', '"', 'b', '\\', 'n', '\n', '\r', '\t',
           '\b', '\f', 0, 0x1f, 1, 0x7f, '/', 0xf0, 0x9f, 0x98, 0x80);
}

Test(etf, long_strings_take_the_fast_path_intact)
{
    /* 1000 bytes: the eight-at-a-time scan with escapes at every offset. */
    uint8_t in[6 + 1000];
    char expect[2 + 2000 + 1];
    size_t e = 0;
    in[0] = 131;
    in[1] = 109;
    in[2] = 0;
    in[3] = 0;
    in[4] = 1000 >> 8;
    in[5] = 1000 & 255;
    expect[e++] = '"';
    for (int i = 0; i < 1000; i++) {
        uint8_t c = i % 11 == 0 ? '"' : i % 13 == 0 ? '\\' : (uint8_t)('a' + i % 26);
        in[6 + i] = c;
        if (c == '"' || c == '\\')
            expect[e++] = '\\';
        expect[e++] = (char)c;
    }
    expect[e++] = '"';
    expect[e] = '\0';
    check_ok(in, sizeof in, expect);
}

Test(etf, floats_new_and_old)
{
    DEC_OK("[1.5,0.1,-0.0,1e+21,5e-324]", 131, 108, 0, 0, 0, 5,
           70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
           70, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
           70, 0x80, 0, 0, 0, 0, 0, 0, 0,
           70, 0x44, 0x4b, 0x1a, 0xe4, 0xd6, 0xe2, 0xef, 0x50,
           70, 0, 0, 0, 0, 0, 0, 0, 1,
           106);
    /* FLOAT_EXT: "%.20e" text padded with NULs to 31 bytes. */
    uint8_t old[33] = {131, 99};
    memcpy(old + 2, "1.00000000000000000000e+02", 26);
    check_ok(old, sizeof old, "100.0");
    memcpy(old + 2, "-1.00000000000000005551e-01", 27);
    check_ok(old, sizeof old, "-0.1");
}

/* ------------------------------------------------------------------------ */
/* Decoding: every limit and error                                           */

Test(etf, not_etf_or_empty)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "version byte 131", '{');
    check_err((const uint8_t *)"", 0, DGW_ERR_PAYLOAD, "version byte 131");
    check_err(NULL, 0, DGW_ERR_PAYLOAD, "version byte 131");
    DEC_ERR(DGW_ERR_PAYLOAD, "truncated", 131);
}

Test(etf, truncated_at_every_length_fails_cleanly)
{
    static const uint8_t msg[] = {
        131, 116, 0, 0, 0, 3, 119, 1, 'a', 108, 0, 0, 0, 2, 97, 1, 109, 0, 0,
        0, 2, 'h', 'i', 106, 100, 0, 1, 'b', 110, 8, 0, 1, 2, 3, 4, 5, 6, 7,
        8, 119, 1, 'c', 104, 1, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    check_ok(msg, sizeof msg, "{\"a\":[1,\"hi\"],\"b\":\"578437695752307201\","
                              "\"c\":[1.5]}");
    for (size_t n = 1; n < sizeof msg; n++) {
        /* An exact-size copy, so that ASan sees any read past the end. */
        uint8_t *cut = malloc(n);
        memcpy(cut, msg, n);
        int err;
        const char *why;
        char *s = decode(cut, n, 1 << 20, &err, &why);
        cr_assert_eq(err, DGW_ERR_PAYLOAD, "prefix %zu decoded to %s", n, s);
        cr_assert(strstr(why, "truncated") || strstr(why, "bytes left"),
                  "prefix %zu: %s", n, why);
        free(cut);
    }
}

Test(etf, trailing_bytes_after_the_term)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "bytes after the term", 131, 97, 1, 0);
    DEC_ERR(DGW_ERR_PAYLOAD, "bytes after the term", 131, 106, 106);
}

Test(etf, counts_larger_than_the_input_fail_before_any_work)
{
    /* 2^32-1 elements with 5 bytes left: refused at once, nothing
     * allocated. */
    static const struct {
        uint8_t in[12];
        size_t n;
        const char *why;
    } cases[] = {
        {{131, 108, 255, 255, 255, 255, 97, 1, 97, 2, 106}, 11, "list has more"},
        {{131, 116, 255, 255, 255, 255, 97, 1, 97, 2, 106}, 11, "map has more"},
        {{131, 105, 255, 255, 255, 255, 97, 1, 97, 2, 106}, 11, "tuple has more"},
        {{131, 104, 6, 97, 1, 97, 2, 106}, 8, "tuple has more"},
        {{131, 109, 255, 255, 255, 255, 'a', 'b', 'c', 'd', 'e'}, 11, "binary is longer"},
        {{131, 107, 255, 255, 'a', 'b', 'c', 'd', 'e'}, 9, "string is longer"},
        {{131, 100, 255, 255, 'a', 'b', 'c', 'd', 'e'}, 9, "atom is longer"},
        {{131, 119, 200, 'a', 'b', 'c', 'd', 'e'}, 8, "atom is longer"},
        {{131, 111, 255, 255, 255, 255, 0, 1, 2, 3, 4}, 11, "big integer is longer"},
        {{131, 110, 8, 0, 1, 2, 3}, 7, "big integer is longer"},
        /* A list needs a byte for its tail too. */
        {{131, 108, 0, 0, 0, 2, 97, 1}, 8, "list has more"},
        /* A map of n pairs needs 2n bytes. */
        {{131, 116, 0, 0, 0, 2, 97, 1, 97}, 9, "map has more"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dgw_buf out = {0};
        const char *why = NULL;
        int r = dgw_etf_decode(&D, cases[i].in, cases[i].n, &out, 1 << 20, &why);
        cr_assert_eq(r, DGW_ERR_PAYLOAD, "case %zu", i);
        cr_assert(strstr(why, cases[i].why), "case %zu: %s", i, why);
        cr_assert_eq(out.cap, 0, "case %zu reserved output", i);
        cr_assert_eq(M.in_use, 0, "case %zu allocated", i);
    }
}

static uint8_t *nested(size_t levels, uint8_t inner, size_t *n)
{
    /* levels-1 one-element lists around `inner` (106 [] or 107 ""), so
     * `levels` JSON nesting levels in all. */
    uint8_t *b = malloc(1 + levels * 6 + 4);
    size_t k = 0;
    b[k++] = 131;
    for (size_t i = 1; i < levels; i++) {
        static const uint8_t one[] = {108, 0, 0, 0, 1};
        memcpy(b + k, one, 5);
        k += 5;
    }
    b[k++] = inner;
    if (inner == 107) {
        b[k++] = 0;
        b[k++] = 0;
    }
    for (size_t i = 1; i < levels; i++)
        b[k++] = 106;
    *n = k;
    return b;
}

Test(etf, nesting_up_to_the_json_scanner_limit)
{
    for (int inner = 106; inner <= 107; inner++) {
        size_t n;
        uint8_t *b = nested(DGW_ETF_MAX_DEPTH, (uint8_t)inner, &n);
        int err;
        const char *why;
        char *s = decode(b, n, 1 << 20, &err, &why); /* decode() also scans */
        cr_assert_eq(err, DGW_OK, "%s", why);
        cr_assert_eq(strlen(s), 2 * DGW_ETF_MAX_DEPTH);
        free(s);
        free(b);
        b = nested(DGW_ETF_MAX_DEPTH + 1, (uint8_t)inner, &n);
        check_err(b, n, DGW_ERR_PAYLOAD, "nested deeper than 256");
        free(b);
    }
    /* Maps and tuples count the same. */
    uint8_t deep[1 + 257 * 7 + 1];
    size_t k = 0;
    deep[k++] = 131;
    for (int i = 0; i < 257; i++) {
        static const uint8_t m[] = {116, 0, 0, 0, 1, 97, 1};
        memcpy(deep + k, m, 7);
        k += 7;
    }
    deep[k++] = 106;
    check_err(deep, k, DGW_ERR_PAYLOAD, "nested deeper than 256");
}

Test(etf, big_integer_limits)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "wider than 64 bits", 131, 110, 9, 0, 1, 2, 3, 4,
            5, 6, 7, 8, 9);
    DEC_ERR(DGW_ERR_PAYLOAD, "wider than 64 bits", 131, 111, 0, 0, 0, 9, 0, 1,
            2, 3, 4, 5, 6, 7, 8, 9);
    DEC_ERR(DGW_ERR_PAYLOAD, "sign byte", 131, 110, 1, 2, 7);
}

Test(etf, atom_limits)
{
    uint8_t in[4 + 256];
    in[0] = 131;
    in[1] = 100;
    in[2] = 0;
    in[3] = 255;
    memset(in + 4, 'a', 256);
    int err;
    const char *why;
    char *s = decode(in, 4 + 255, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK);
    cr_assert_eq(strlen(s), 257);
    free(s);
    in[3] = 0; /* ATOM_EXT of 256 bytes */
    in[2] = 1;
    check_err(in, 4 + 256, DGW_ERR_PAYLOAD, "longer than 255 characters");
    /* UTF-8: 255 two-byte characters pass, 256 do not. */
    uint8_t u[4 + 512];
    u[0] = 131;
    u[1] = 118;
    for (int i = 0; i < 256; i++) {
        u[4 + 2 * i] = 0xc3;
        u[5 + 2 * i] = 0xa9;
    }
    u[2] = 510 >> 8;
    u[3] = 510 & 255;
    s = decode(u, 4 + 510, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    free(s);
    u[2] = 512 >> 8;
    u[3] = 512 & 255;
    check_err(u, 4 + 512, DGW_ERR_PAYLOAD, "longer than 255 characters");
    DEC_ERR(DGW_ERR_PAYLOAD, "not UTF-8", 131, 119, 2, 0xc3, 'x');
}

Test(etf, binaries_must_be_utf8)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "not UTF-8", 131, 109, 0, 0, 0, 1, 0xff);
    DEC_ERR(DGW_ERR_PAYLOAD, "not UTF-8", 131, 109, 0, 0, 0, 3, 0xed, 0xa0, 0x80);
    DEC_ERR(DGW_ERR_PAYLOAD, "not UTF-8", 131, 109, 0, 0, 0, 2, 0xc0, 0xaf);
    DEC_ERR(DGW_ERR_PAYLOAD, "map key is not UTF-8", 131, 116, 0, 0, 0, 1, 109,
            0, 0, 0, 1, 0x80, 97, 1);
}

Test(etf, map_keys_without_a_json_form)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "map key", 131, 116, 0, 0, 0, 1, 70, 0, 0, 0, 0,
            0, 0, 0, 0, 97, 1);
    DEC_ERR(DGW_ERR_PAYLOAD, "map key", 131, 116, 0, 0, 0, 1, 104, 0, 97, 1);
    DEC_ERR(DGW_ERR_PAYLOAD, "map key", 131, 116, 0, 0, 0, 1, 116, 0, 0, 0, 0,
            97, 1);
}

Test(etf, terms_without_a_json_form)
{
    DEC_ERR(DGW_ERR_PAYLOAD, "improper list", 131, 108, 0, 0, 0, 1, 97, 1, 97, 2);
    DEC_ERR(DGW_ERR_PAYLOAD, "improper list", 131, 108, 0, 0, 0, 0, 97, 2);
    DEC_ERR(DGW_ERR_PAYLOAD, "pid", 131, 88, 119, 1, 'n', 0, 0, 0, 1, 0, 0, 0,
            0, 0, 0, 0, 0);
    DEC_ERR(DGW_ERR_PAYLOAD, "port", 131, 89);
    DEC_ERR(DGW_ERR_PAYLOAD, "reference", 131, 90);
    DEC_ERR(DGW_ERR_PAYLOAD, "fun", 131, 112);
    DEC_ERR(DGW_ERR_PAYLOAD, "bitstring", 131, 77, 0, 0, 0, 1, 3, 0xe0);
    DEC_ERR(DGW_ERR_PAYLOAD, "unknown term tag", 131, 200);
    DEC_ERR(DGW_ERR_PAYLOAD, "compressed term inside", 131, 108, 0, 0, 0, 1,
            80, 0, 0, 0, 1, 106);
    DEC_ERR(DGW_ERR_PAYLOAD, "NaN or infinite", 131, 70, 0x7f, 0xf0, 0, 0, 0,
            0, 0, 0);
    DEC_ERR(DGW_ERR_PAYLOAD, "NaN or infinite", 131, 70, 0xff, 0xf8, 0, 0, 0,
            0, 0, 1);
}

Test(etf, old_float_text_is_checked)
{
    static const struct {
        const char *text;
        const char *why; /* NULL: decodes to "1.5" */
    } cases[] = {
        {"1.5e+00", NULL},
        {"1.5", NULL},
        {"inf", "not a finite decimal"},
        {" 1.5", "not a finite decimal"},
        {"+1.5", "not a finite decimal"},
        {"1e999", "not a finite decimal"},
        {"", "not a finite decimal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t in[33] = {131, 99};
        memcpy(in + 2, cases[i].text, strlen(cases[i].text));
        if (cases[i].why)
            check_err(in, sizeof in, DGW_ERR_PAYLOAD, cases[i].why);
        else
            check_ok(in, sizeof in, "1.5");
    }
    uint8_t in[33] = {131, 99, '1', '.', '5'};
    in[32] = 'x';
    check_err(in, sizeof in, DGW_ERR_PAYLOAD, "not NUL-padded");
}

Test(etf, output_cap_and_append)
{
    static const uint8_t in[] = {131, 109, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    dgw_buf out = {0};
    const char *why;
    cr_assert_eq(dgw_buf_append(&M, &out, "abc", 3, 64), DGW_OK);
    /* "abc" + "\"hello\"" is 10 bytes. */
    cr_assert_eq(dgw_etf_decode(&D, in, sizeof in, &out, 9, &why),
                 DGW_ERR_WS_TOO_LARGE);
    cr_assert(strstr(why, "max_message_size"));
    cr_assert_eq(dgw_buf_live(&out), 3, "failed decode must leave out alone");
    cr_assert_eq(dgw_etf_decode(&D, in, sizeof in, &out, 10, &why), DGW_OK);
    cr_assert_eq(dgw_buf_live(&out), 10);
    cr_assert(memcmp(out.p + out.off, "abc\"hello\"", 10) == 0);
    dgw_buf_free(&M, &out);
}

Test(etf, json_grows_past_the_cap_of_a_small_message)
{
    /* 65535 bytes of STRING_EXT become ~4 bytes each of JSON. */
    size_t n = 4 + 65535;
    uint8_t *in = malloc(n);
    in[0] = 131;
    in[1] = 107;
    in[2] = in[3] = 255;
    memset(in + 4, 200, 65535);
    int err;
    const char *why;
    char *s = decode(in, n, 65536, &err, &why);
    cr_assert_eq(err, DGW_ERR_WS_TOO_LARGE);
    cr_assert_null(s);
    s = decode(in, n, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK);
    cr_assert_eq(strlen(s), 2 + 65535 * 4 - 1);
    free(s);
    free(in);
}

/* A counting allocator that can be told to fail. */
static size_t alloc_calls;
static long fail_at = -1;
static void *c_alloc(void *u, size_t n)
{
    (void)u;
    return (long)alloc_calls++ == fail_at ? NULL : malloc(n);
}
static void *c_realloc(void *u, void *p, size_t o, size_t n)
{
    (void)u;
    (void)o;
    return (long)alloc_calls++ == fail_at ? NULL : realloc(p, n);
}
static void c_free(void *u, void *p, size_t n)
{
    (void)u;
    (void)n;
    free(p);
}

Test(etf, out_of_memory_is_an_error_value)
{
    dgw_allocator a = {c_alloc, c_realloc, c_free, NULL};
    dgw_mem m;
    dgw_mem_init(&m, &a);
    dgw_etf_decoder d;
    dgw_etf_decoder_init(&d, &m);
    static const uint8_t in[] = {131, 109, 0, 0, 0, 2, 'h', 'i'};
    alloc_calls = 0;
    fail_at = 0;
    dgw_buf out = {0};
    const char *why;
    cr_assert_eq(dgw_etf_decode(&d, in, sizeof in, &out, 1 << 20, &why),
                 DGW_ERR_NOMEM);
    cr_assert(strstr(why, "out of memory"));
    fail_at = -1;
    cr_assert_eq(dgw_etf_decode(&d, in, sizeof in, &out, 1 << 20, &why), DGW_OK);
    dgw_buf_free(&m, &out);
    dgw_etf_decoder_free(&d);
    cr_assert_eq(m.in_use, 0);
}

/* ------------------------------------------------------------------------ */
/* Compressed terms (tag 80)                                                 */

static size_t make_compressed(const uint8_t *term, size_t n, uint32_t declared,
                              uint8_t *out, size_t cap)
{
    uLongf zl = cap - 6;
    cr_assert_eq(compress2(out + 6, &zl, term, n, 6), Z_OK);
    out[0] = 131;
    out[1] = 80;
    out[2] = (uint8_t)(declared >> 24);
    out[3] = (uint8_t)(declared >> 16);
    out[4] = (uint8_t)(declared >> 8);
    out[5] = (uint8_t)declared;
    return 6 + zl;
}

Test(etf, compressed_terms)
{
    uint8_t term[2000];
    size_t n = 0;
    term[n++] = 108;
    term[n++] = 0;
    term[n++] = 0;
    term[n++] = 1;
    term[n++] = 0x2c; /* 300 elements */
    for (int i = 0; i < 300; i++) {
        term[n++] = 97;
        term[n++] = (uint8_t)i;
    }
    term[n++] = 106;
    uint8_t z[4096];
    size_t zn = make_compressed(term, n, (uint32_t)n, z, sizeof z);
    int err;
    const char *why;
    char *s = decode(z, zn, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    cr_assert(strncmp(s, "[0,1,2,", 7) == 0);
    free(s);
    size_t held = M.in_use;
    cr_assert_gt(held, 0, "the inflater and its scratch are kept for reuse");
    s = decode(z, zn, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK);
    free(s);
    cr_assert_eq(M.in_use, held, "a second compressed term allocates nothing");
    dgw_etf_decoder_trim(&D, 0);
    cr_assert_lt(M.in_use, held);

    /* Declared size wrong either way. */
    zn = make_compressed(term, n, (uint32_t)n + 1, z, sizeof z);
    check_err(z, zn, DGW_ERR_INFLATE, "less than its declared size");
    zn = make_compressed(term, n, (uint32_t)n - 1, z, sizeof z);
    check_err(z, zn, DGW_ERR_INFLATE, "more than its declared size");
    /* Larger than the cap, before inflating anything. */
    zn = make_compressed(term, n, (uint32_t)n, z, sizeof z);
    s = decode(z, zn, n - 1, &err, &why);
    cr_assert_eq(err, DGW_ERR_INFLATE_TOO_LARGE);
    /* A 4 GiB claim with a tiny body. */
    z[2] = z[3] = z[4] = z[5] = 255;
    check_err(z, zn, DGW_ERR_INFLATE_TOO_LARGE, "past max_message_size");
    /* Corrupt, truncated, trailing garbage. */
    zn = make_compressed(term, n, (uint32_t)n, z, sizeof z);
    z[zn - 1] ^= 1; /* Adler-32 */
    check_err(z, zn, DGW_ERR_INFLATE, "incorrect data check");
    z[zn - 1] ^= 1;
    check_err(z, zn - 3, DGW_ERR_INFLATE_TRUNCATED, "ends before");
    z[zn] = 0;
    check_err(z, zn + 1, DGW_ERR_INFLATE, "bytes after the end");
    DEC_ERR(DGW_ERR_PAYLOAD, "truncated", 131, 80, 0, 0);
    /* The inflated term is checked like any other. */
    static const uint8_t bad[] = {108, 0, 0, 0, 1, 97, 1, 97, 2};
    zn = make_compressed(bad, sizeof bad, sizeof bad, z, sizeof z);
    check_err(z, zn, DGW_ERR_PAYLOAD, "improper list");
    static const uint8_t trail[] = {97, 1, 97};
    zn = make_compressed(trail, sizeof trail, sizeof trail, z, sizeof z);
    check_err(z, zn, DGW_ERR_PAYLOAD, "bytes after the term");
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */

Test(etf, integers_take_term_to_binary_forms)
{
    ENC_BYTES("0", 131, 97, 0);
    ENC_BYTES("255", 131, 97, 255);
    ENC_BYTES("256", 131, 98, 0, 0, 1, 0);
    ENC_BYTES("-1", 131, 98, 255, 255, 255, 255);
    ENC_BYTES("-0", 131, 97, 0);
    ENC_BYTES("2147483647", 131, 98, 0x7f, 255, 255, 255);
    ENC_BYTES("-2147483648", 131, 98, 0x80, 0, 0, 0);
    ENC_BYTES("2147483648", 131, 110, 4, 0, 0, 0, 0, 0x80);
    ENC_BYTES("-2147483649", 131, 110, 4, 1, 1, 0, 0, 0x80);
    ENC_BYTES("18446744073709551615", 131, 110, 8, 0, 255, 255, 255, 255, 255,
              255, 255, 255);
    ENC_BYTES("-18446744073709551615", 131, 110, 8, 1, 255, 255, 255, 255, 255,
              255, 255, 255);
}

Test(etf, other_values)
{
    ENC_BYTES(" null ", 131, 115, 3, 'n', 'i', 'l');
    ENC_BYTES("true", 131, 115, 4, 't', 'r', 'u', 'e');
    ENC_BYTES("false", 131, 115, 5, 'f', 'a', 'l', 's', 'e');
    ENC_BYTES("[]", 131, 106);
    ENC_BYTES("{}", 131, 116, 0, 0, 0, 0);
    ENC_BYTES("[1,[]]", 131, 108, 0, 0, 0, 2, 97, 1, 106, 106);
    ENC_BYTES("{\"op\":1,\"d\":null}", 131, 116, 0, 0, 0, 2, 109, 0, 0, 0, 2,
              'o', 'p', 97, 1, 109, 0, 0, 0, 1, 'd', 115, 3, 'n', 'i', 'l');
    ENC_BYTES("\"a\\u0000\\ud83d\\ude00\\/\"", 131, 109, 0, 0, 0, 7, 'a', 0,
              0xf0, 0x9f, 0x98, 0x80, '/');
    ENC_BYTES("1.5", 131, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
    ENC_BYTES("-0.0", 131, 70, 0x80, 0, 0, 0, 0, 0, 0, 0);
    ENC_BYTES("1E2", 131, 70, 0x40, 0x59, 0, 0, 0, 0, 0, 0);
    ENC_BYTES("1e-400", 131, 70, 0, 0, 0, 0, 0, 0, 0, 0);
}

Test(etf, encode_errors)
{
    enc_err("", DGW_ERR_INVALID_ARGUMENT, "value is missing");
    uint8_t out[16];
    size_t len;
    const char *why;
    cr_assert_eq(dgw_etf_encode(NULL, 0, 0, out, sizeof out, &len, &why),
                 DGW_ERR_INVALID_ARGUMENT);
    enc_err("  ", DGW_ERR_INVALID_ARGUMENT, "value is missing");
    enc_err("{", DGW_ERR_INVALID_ARGUMENT, "object key");
    enc_err("[1,]", DGW_ERR_INVALID_ARGUMENT, "malformed");
    enc_err("[1 2]", DGW_ERR_INVALID_ARGUMENT, "',' or the container's end");
    enc_err("{\"a\" 1}", DGW_ERR_INVALID_ARGUMENT, "no ':'");
    enc_err("{1:2}", DGW_ERR_INVALID_ARGUMENT, "not a string");
    enc_err("1 2", DGW_ERR_INVALID_ARGUMENT, "bytes after the value");
    enc_err("01", DGW_ERR_INVALID_ARGUMENT, "bytes after the value");
    enc_err("nul", DGW_ERR_INVALID_ARGUMENT, "malformed");
    enc_err("\"\xff\"", DGW_ERR_INVALID_ARGUMENT, "not UTF-8");
    enc_err("\"\\ud800\"", DGW_ERR_INVALID_ARGUMENT, "lone high surrogate");
    enc_err("\"\\ud800\\u0041\"", DGW_ERR_INVALID_ARGUMENT, "lone high surrogate");
    enc_err("\"\\udc00\"", DGW_ERR_INVALID_ARGUMENT, "lone low surrogate");
    enc_err("18446744073709551616", DGW_ERR_INVALID_ARGUMENT, "beyond 64 bits");
    enc_err("-18446744073709551616", DGW_ERR_INVALID_ARGUMENT, "beyond 64 bits");
    enc_err("1e309", DGW_ERR_INVALID_ARGUMENT, "range of a double");
    enc_err("{\"a\":1,\"b\":2,\"a\":3}", DGW_ERR_INVALID_ARGUMENT, "duplicate key");
    enc_err("{\"a\":1,\"\\u0061\":3}", DGW_ERR_INVALID_ARGUMENT, "duplicate key");
    enc_err("{\"x\":{\"k\":[1,{\"a\":1}],\"k\":2}}", DGW_ERR_INVALID_ARGUMENT,
            "duplicate key");
}

Test(etf, encode_nesting_limit)
{
    char buf[2 * 300 + 1];
    for (int levels = 256; levels <= 257; levels++) {
        memset(buf, '[', (size_t)levels);
        memset(buf + levels, ']', (size_t)levels);
        buf[2 * levels] = '\0';
        uint8_t out[4096];
        int err;
        const char *why;
        encode(buf, out, sizeof out, &err, &why);
        cr_assert_eq(err, levels == 256 ? DGW_OK : DGW_ERR_INVALID_ARGUMENT,
                     "%d levels: %s", levels, why);
    }
}

Test(etf, send_cap_is_measured_on_the_etf_bytes)
{
    /* {"op":3,"d":"xxxx"}: 1 + 5 + (5+2+2) + (5+1) + 5 + len bytes. */
    char json[5000];
    size_t fixed = 1 + 5 + 9 + 6 + 5;
    size_t len = DGW_MAX_SEND_PAYLOAD - fixed;
    int k = snprintf(json, sizeof json, "{\"op\":3,\"d\":\"");
    memset(json + k, 'x', len);
    strcpy(json + k + len, "\"}");
    uint8_t out[DGW_MAX_SEND_PAYLOAD];
    int err;
    const char *why;
    size_t n = encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    cr_assert_eq(n, DGW_MAX_SEND_PAYLOAD);
    memset(json + k, 'x', len + 1);
    strcpy(json + k + len + 1, "\"}");
    encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_ERR_SEND_TOO_LARGE);
    cr_assert(strstr(why, "larger than the cap"));
    /* Every cap below a message's size fails, none writes past it. */
    const char *cmd = commands[0][0];
    size_t full = encode(cmd, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_OK);
    for (size_t cap = 0; cap < full; cap++) {
        uint8_t *exact = malloc(cap ? cap : 1);
        size_t got = 0;
        cr_assert_eq(dgw_etf_encode(cmd, strlen(cmd), 0, exact, cap, &got, &why),
                     DGW_ERR_SEND_TOO_LARGE, "cap %zu", cap);
        free(exact);
    }
}

Test(etf, encode_then_decode_is_the_same_json)
{
    static const char *const js[] = {
        "{\"op\":0,\"d\":{\"a\":[1,2.5,\"x\",null,true,false,{},[]]}}",
        "[0,255,256,-1,9007199254740992,1e+21,0.1,-0.0]",
        "\"tab\\tquote\\\"nul\\u0000end\"",
    };
    static const char *const back[] = {
        "{\"op\":0,\"d\":{\"a\":[1,2.5,\"x\",null,true,false,{},[]]}}",
        "[0,255,256,-1,9007199254740992,1e+21,0.1,-0.0]",
        "\"tab\\tquote\\\"nul\\u0000end\"",
    };
    for (size_t i = 0; i < sizeof js / sizeof *js; i++) {
        uint8_t out[4096];
        int err;
        const char *why;
        size_t n = encode(js[i], out, sizeof out, &err, &why);
        cr_assert_eq(err, DGW_OK, "%s", why);
        check_ok(out, n, back[i]);
    }
}

Test(etf, byte_arrays_are_string_ext_and_widen_in_place)
{
    ENC_BYTES("[0,16]", 131, 107, 0, 2, 0, 16);
    ENC_BYTES("[255,-0]", 131, 107, 0, 2, 255, 0);
    ENC_BYTES("[1,256]", 131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106);
    ENC_BYTES("[1,2,-1]", 131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 98, 255, 255, 255,
              255, 106);
    ENC_BYTES("[7,1.0]", 131, 108, 0, 0, 0, 2, 97, 7, 70, 0x3f, 0xf0, 0, 0, 0,
              0, 0, 0, 106);
    ENC_BYTES("[7,[8]]", 131, 108, 0, 0, 0, 2, 97, 7, 107, 0, 1, 8, 106);
    ENC_BYTES("[[8],7]", 131, 108, 0, 0, 0, 2, 107, 0, 1, 8, 97, 7, 106);
    ENC_BYTES("{\"k\":[1,2],\"j\":[3,\"x\"]}", 131, 116, 0, 0, 0, 2,
              109, 0, 0, 0, 1, 'k', 107, 0, 2, 1, 2,
              109, 0, 0, 0, 1, 'j', 108, 0, 0, 0, 2, 97, 3,
              109, 0, 0, 0, 1, 'x', 106);
}

Test(etf, byte_arrays_are_measured_in_their_short_form)
{
    /* 2100 bytes fit the 4096 cap as STRING_EXT (3 + 2100) though their
     * LIST_EXT form (5 + 4200 + 1) would not. */
    char json[8 * 2100 + 8];
    size_t k = 0;
    json[k++] = '[';
    for (int i = 0; i < 2100; i++)
        k += (size_t)sprintf(json + k, i ? ",%d" : "%d", i % 256);
    json[k++] = ']';
    json[k] = '\0';
    uint8_t out[DGW_MAX_SEND_PAYLOAD];
    int err;
    const char *why;
    size_t n = encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    cr_assert_eq(n, 1 + 3 + 2100);
    /* Widening them is what does not fit. */
    strcpy(json + k - 1, ",300]");
    encode(json, out, sizeof out, &err, &why);
    cr_assert_eq(err, DGW_ERR_SEND_TOO_LARGE);
}

Test(etf, byte_arrays_past_65535_elements_are_lists)
{
    size_t count = 65536;
    char *json = malloc(2 * count + 2);
    size_t k = 0;
    json[k++] = '[';
    for (size_t i = 0; i < count; i++) {
        if (i)
            json[k++] = ',';
        json[k++] = '5';
    }
    json[k++] = ']';
    json[k] = '\0';
    uint8_t *out = malloc(1 << 20);
    int err;
    const char *why;
    size_t n = encode(json, out, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    cr_assert_eq(out[1], DGW_ETF_LIST);
    cr_assert_eq(n, 1 + 5 + 2 * count + 1);
    json[k - 3] = ']'; /* 65535 elements */
    json[k - 2] = '\0';
    n = encode(json, out, 1 << 20, &err, &why);
    cr_assert_eq(err, DGW_OK, "%s", why);
    cr_assert_eq(out[1], DGW_ETF_STRING);
    cr_assert_eq(n, 1 + 3 + 65535);
    free(out);
    free(json);
}

Test(etf, compressed_term_of_size_zero_is_truncated)
{
    /* Found by fuzz_etf: an empty inflated term left the scratch buffer
     * unallocated, and the decoder computed NULL + 0 (UB). */
    uint8_t z[64];
    size_t zn = make_compressed((const uint8_t *)"", 0, 0, z, sizeof z);
    check_err(z, zn, DGW_ERR_PAYLOAD, "truncated");
}

/* {"k0":0,...} with n keys; when dup_of >= 0, the last key repeats key
 * number dup_of. */
static char *many_keys(int n, int dup_of)
{
    char *j = malloc((size_t)n * 16 + 8);
    size_t k = 0;
    j[k++] = '{';
    for (int i = 0; i < n; i++) {
        int name = i == n - 1 && dup_of >= 0 ? dup_of : i;
        k += (size_t)sprintf(j + k, "%s\"k%d\":%d", i ? "," : "", name, i % 3);
    }
    j[k++] = '}';
    j[k] = '\0';
    return j;
}

Test(etf, duplicate_keys_found_in_small_hashed_and_huge_objects)
{
    /* 16 keys are compared pairwise, 17 to 768 hashed, more pairwise. */
    static const int sizes[] = {2, 16, 17, 100, 768, 769, 2000};
    uint8_t *out = malloc(1 << 20);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int n = sizes[i];
        int firsts[] = {0, (n - 1) / 2, n - 2};
        for (size_t f = 0; f < 3; f++) {
            char *j = many_keys(n, firsts[f]);
            size_t len;
            const char *why;
            cr_assert_eq(dgw_etf_encode(j, strlen(j), 0, out, 1 << 20, &len, &why),
                         DGW_ERR_INVALID_ARGUMENT, "%d keys, dup of %d", n,
                         firsts[f]);
            cr_assert(strstr(why, "duplicate key"));
            free(j);
        }
        char *j = many_keys(n, -1);
        size_t len;
        const char *why;
        cr_assert_eq(dgw_etf_encode(j, strlen(j), 0, out, 1 << 20, &len, &why),
                     DGW_OK, "%d distinct keys: %s", n, why);
        free(j);
    }
    free(out);
}

static void enc_flags_bytes(const char *json, unsigned flags,
                            const uint8_t *expect, size_t n)
{
    uint8_t out[8192];
    size_t len;
    const char *why;
    int err = dgw_etf_encode(json, strlen(json), flags, out, sizeof out, &len,
                             &why);
    cr_assert_eq(err, DGW_OK, "encoding %s failed: %s", json, why);
    cr_assert_eq(len, n, "encoding %s: %zu bytes, expected %zu", json, len, n);
    cr_assert(memcmp(out, expect, n) == 0, "encoding %s: wrong bytes", json);
}

#define ENC_FLAGS(json, flags, ...)                                           \
    do {                                                                      \
        static const uint8_t ex_[] = {__VA_ARGS__};                           \
        enc_flags_bytes(json, flags, ex_, sizeof ex_);                        \
    } while (0)

Test(etf, server_style_atom_keys_and_snowflake_integers)
{
    const unsigned both = DGW_ETF_ATOM_KEYS | DGW_ETF_SNOWFLAKE_INTEGERS;
    /* An ASCII key is a SMALL_ATOM_EXT (erlpack reads no UTF-8 atom tag),
     * any other a SMALL_ATOM_UTF8_EXT. */
    ENC_FLAGS("{\"id\":\"1234567890123456789\"}", both,
              131, 116, 0, 0, 0, 1, 115, 2, 'i', 'd',
              110, 8, 0, 0x15, 0x81, 0xe9, 0x7d, 0xf4, 0x10, 0x22, 0x11);
    ENC_FLAGS("{\"\\u00e9\":\"12345678901234567\"}", DGW_ETF_ATOM_KEYS,
              131, 116, 0, 0, 0, 1, 119, 2, 0xc3, 0xa9,
              109, 0, 0, 0, 17, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0',
              '1', '2', '3', '4', '5', '6', '7');
    /* Not snowflakes: 16 digits, a leading zero, past 64 bits, escaped. */
    static const char *const strings[] = {
        "\"1234567890123456\"", "\"01234567890123456789\"",
        "\"18446744073709551616\"", "\"1234567890123456\\u0037\"",
        "\"12345678901234567x\""};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        uint8_t out[64];
        size_t len;
        const char *why;
        cr_assert_eq(dgw_etf_encode(strings[i], strlen(strings[i]), both, out,
                                    sizeof out, &len, &why), DGW_OK);
        cr_assert_eq(out[1], DGW_ETF_BINARY, "%s became an integer", strings[i]);
    }
    ENC_FLAGS("\"18446744073709551615\"", both, 131, 110, 8, 0, 255, 255, 255,
              255, 255, 255, 255, 255);
    /* A key of 256 characters cannot be an atom; one of 255 two-byte
     * characters can (ATOM_UTF8_EXT, 2-byte length). */
    char key[2 * 256 + 16];
    uint8_t out[2048];
    size_t len;
    const char *why;
    size_t k = 0;
    key[k++] = '{';
    key[k++] = '"';
    memset(key + k, 'a', 256);
    k += 256;
    strcpy(key + k, "\":1}");
    cr_assert_eq(dgw_etf_encode(key, strlen(key), both, out, sizeof out, &len,
                                &why), DGW_OK);
    cr_assert_eq(out[6], DGW_ETF_BINARY);
    k = 2;
    for (int i = 0; i < 255; i++) {
        key[k++] = (char)0xc3;
        key[k++] = (char)0xa9;
    }
    strcpy(key + k, "\":1}");
    cr_assert_eq(dgw_etf_encode(key, strlen(key), both, out, sizeof out, &len,
                                &why), DGW_OK);
    cr_assert_eq(out[6], DGW_ETF_ATOM_UTF8);
    cr_assert_eq(out[7] << 8 | out[8], 510);
    check_ok(out, len, key); /* decodes back to the same JSON text */
}
